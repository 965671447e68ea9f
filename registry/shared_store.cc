#include "registry/shared_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>

#include "registry/sql/postgres.h"
#include "registry/unique_fd.h"

namespace regfs::registry {
namespace {

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

Status WriteAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(PosixError("write", path, errno));
    text.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status CheckS3Settings(const S3StoreSettings& s3) {
  if (s3.bucket.empty()) {
    return Fail(Code::kInvalidArgument,
                "--blobs s3://BUCKET/PREFIX needs a bucket");
  }
  if (!s3.endpoint.empty() && !s3.endpoint.starts_with("http://") &&
      !s3.endpoint.starts_with("https://")) {
    return Fail(Code::kInvalidArgument,
                fmt::format("--s3-endpoint {}: give an http:// or https:// URL",
                            s3.endpoint));
  }
  for (const std::string* text :
       {&s3.bucket, &s3.prefix, &s3.endpoint, &s3.region}) {
    if (text->find_first_of("\n\r") != std::string::npos) {
      return Fail(Code::kInvalidArgument, "S3 settings are one line each");
    }
  }
  return {};
}

// "200G" when it is a whole number of G (or T, M, K), else bytes.
std::string FormatByteSize(uint64_t bytes) {
  for (const auto& [shift, unit] : {std::pair{40, 'T'}, std::pair{30, 'G'},
                                    std::pair{20, 'M'}, std::pair{10, 'K'}}) {
    if (bytes != 0 && bytes % (uint64_t{1} << shift) == 0) {
      return fmt::format("{}{}", bytes >> shift, unit);
    }
  }
  return std::to_string(bytes);
}

std::string ConfigText(const SharedStoreConfig& config) {
  if (!config.s3) {
    return fmt::format(
        "# regfs shared store: the registry's metadata and its blob "
        "directory\n"
        "metadata = {}\nblobs = {}\n"
        "# how long one database call may wait for the server, in seconds\n"
        "{}timeout = {}\n",
        config.metadata, config.blobs.string(),
        config.timeout == SharedStoreConfig{}.timeout ? "# " : "",
        config.timeout.count());
  }
  const S3StoreSettings& s3 = *config.s3;
  std::string text = fmt::format(
      "# regfs shared store: the registry's metadata, its blobs in S3 and\n"
      "# this node's cache of them (credentials: AWS_ACCESS_KEY_ID, ...,\n"
      "# or ~/.aws/credentials; never here)\n"
      "metadata = {}\nblobs = {}\n",
      config.metadata, s3.Url());
  if (!s3.endpoint.empty())
    text += fmt::format("s3-endpoint = {}\n", s3.endpoint);
  if (!s3.region.empty()) text += fmt::format("s3-region = {}\n", s3.region);
  if (s3.path_style) {
    text += fmt::format("s3-addressing = {}\n",
                        *s3.path_style ? "path" : "virtual");
  }
  text += fmt::format("cache-size = {}\n", FormatByteSize(config.cache_size));
  text +=
      "# aliases whose new target the mount fetches when they move (*: all)\n";
  text += config.prefetch.empty()
              ? std::string("# prefetch = production staging\n")
              : fmt::format("prefetch = {}\n", fmt::join(config.prefetch, " "));
  text += "# how long one database call or S3 request may wait, in seconds\n";
  text += config.timeout == SharedStoreConfig{}.timeout
              ? std::string("# timeout = 15\n")
              : fmt::format("timeout = {}\n", config.timeout.count());
  text += "# gc leaves objects younger than this alone, in seconds\n";
  text += config.gc_grace == SharedStoreConfig{}.gc_grace
              ? std::string("# gc-grace = 3600\n")
              : fmt::format("gc-grace = {}\n", config.gc_grace.count());
  return text;
}

Result<int64_t> ParseSeconds(std::string_view key, std::string_view value,
                             int64_t low, int64_t high) {
  int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() ||
      seconds < low || seconds > high) {
    return Fail(
        Code::kInvalidArgument,
        fmt::format("{} is a number of seconds from {} to {}", key, low, high));
  }
  return seconds;
}

// One `key = value` line of shared-store.conf into `config`.
Status SetConfigValue(SharedStoreConfig& config, std::string_view key,
                      std::string_view value) {
  const bool s3_key = key.starts_with("s3-") || key == "cache-size" ||
                      key == "prefetch" || key == "gc-grace";
  if (s3_key && !config.s3) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' goes after 'blobs = s3://…'", key));
  }
  if (key == "metadata") {
    config.metadata = value;
  } else if (key == "blobs") {
    return SetBlobsLocation(config, value);
  } else if (key == "timeout") {
    REGFS_ASSIGN_OR_RETURN(const int64_t seconds,
                           ParseSeconds(key, value, 1, 3600));
    config.timeout = std::chrono::seconds(seconds);
  } else if (key == "s3-endpoint") {
    config.s3->endpoint = value;
  } else if (key == "s3-region") {
    config.s3->region = value;
  } else if (key == "s3-addressing" &&
             (value == "path" || value == "virtual")) {
    config.s3->path_style = value == "path";
  } else if (key == "cache-size") {
    REGFS_ASSIGN_OR_RETURN(config.cache_size, ParseByteSize(value));
  } else if (key == "prefetch") {
    std::istringstream names{std::string(value)};
    config.prefetch.clear();
    for (std::string name; names >> name;) config.prefetch.push_back(name);
  } else if (key == "gc-grace") {
    REGFS_ASSIGN_OR_RETURN(const int64_t seconds,
                           ParseSeconds(key, value, 0, 30 * 86400));
    config.gc_grace = std::chrono::seconds(seconds);
  } else {
    return Fail(Code::kInvalidArgument,
                fmt::format("unknown setting '{}' (expected metadata, blobs, "
                            "timeout, s3-endpoint, s3-region, s3-addressing "
                            "= path|virtual, cache-size, prefetch, gc-grace)",
                            key));
  }
  return {};
}

}  // namespace

Status CheckSharedStoreConfig(const SharedStoreConfig& config) {
  if (config.metadata.empty()) {
    return Fail(Code::kInvalidArgument,
                "--metadata needs a PostgreSQL conninfo "
                "(postgresql://USER@HOST/DATABASE)");
  }
  if (sql::HasPassword(config.metadata)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("--metadata \"{}\" holds a password, which the "
                            "store would keep in clear: leave it out and put "
                            "it in ~/.pgpass or the file PGPASSFILE names "
                            "(libpq reads it from there)",
                            sql::RedactConninfo(config.metadata)));
  }
  if (config.metadata.find('\n') != std::string::npos) {
    return Fail(Code::kInvalidArgument, "--metadata is one line");
  }
  if (config.s3) return CheckS3Settings(*config.s3);
  if (!config.blobs.is_absolute()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("--blobs {}: give an absolute path, the same "
                            "shared directory on every node, or "
                            "s3://BUCKET/PREFIX",
                            config.blobs.string()));
  }
  return {};
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t number = 0;
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(text.data(), end, number);
  int shift = 0;
  std::string_view unit(rest, static_cast<size_t>(end - rest));
  if (unit.size() == 2 && (unit[1] == 'B' || unit[1] == 'b')) {
    unit.remove_suffix(1);
  }
  if (unit.size() == 1) {
    switch (unit[0]) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        shift = -1;
    }
  } else if (!unit.empty()) {
    shift = -1;
  }
  if (ec != std::errc() || rest == text.data() || shift < 0 ||
      (shift > 0 && number > (UINT64_MAX >> shift))) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a size: give bytes, or a number "
                            "with K, M, G or T (200G)",
                            text));
  }
  return number << shift;
}

Status SetBlobsLocation(SharedStoreConfig& config, std::string_view blobs) {
  if (blobs.starts_with("s3://")) {
    REGFS_ASSIGN_OR_RETURN(const S3Url url, ParseS3Url(blobs));
    S3StoreSettings s3 = config.s3.value_or(S3StoreSettings{});
    s3.bucket = url.bucket;
    s3.prefix = url.prefix;
    config.s3 = std::move(s3);
    config.blobs.clear();
    return {};
  }
  config.s3.reset();
  config.blobs = blobs;
  return {};
}

Status WriteSharedStoreConfig(const std::filesystem::path& store,
                              const SharedStoreConfig& config) {
  REGFS_TRY(CheckSharedStoreConfig(config));
  const std::filesystem::path path = store / kSharedStoreConfigName;
  UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("{} already holds a registry", store.string()));
    }
    return std::unexpected(PosixError("create", path.string(), errno));
  }
  const std::string text = ConfigText(config);
  REGFS_TRY(WriteAll(fd.get(), text, path.string()));
  if (::fsync(fd.get()) != 0) {
    return std::unexpected(PosixError("fsync", path.string(), errno));
  }
  return {};
}

Result<std::optional<SharedStoreConfig>> ReadSharedStoreConfig(
    const std::filesystem::path& store) {
  const std::filesystem::path path = store / kSharedStoreConfigName;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<SharedStoreConfig>();
    return std::unexpected(PosixError("open", path.string(), errno));
  }
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(PosixError("read", path.string(), errno));
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  std::istringstream in(content);
  SharedStoreConfig config;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string_view text = Trim(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t eq = text.find('=');
    auto set = eq == std::string_view::npos
                   ? Fail(Code::kInvalidArgument, "expected KEY = VALUE")
                   : SetConfigValue(config, Trim(text.substr(0, eq)),
                                    Trim(text.substr(eq + 1)));
    if (!set) {
      return Fail(Code::kCorruption, fmt::format("{}:{}: {}", path.string(),
                                                 number, set.error().message));
    }
  }
  if (auto ok = CheckSharedStoreConfig(config); !ok) {
    return Fail(Code::kCorruption,
                fmt::format("{}: {}", path.string(), ok.error().message));
  }
  return std::optional(std::move(config));
}

const std::string& HostName() {
  static const std::string host = [] {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return std::string();
    return std::string(name);
  }();
  return host;
}

std::filesystem::path BlobsDirOf(const std::filesystem::path& store) {
  auto shared = ReadSharedStoreConfig(store);
  if (shared && *shared && !(*shared)->s3) return (*shared)->blobs;
  return store / "blobs";
}

std::filesystem::path DraftsDirOf(const std::filesystem::path& store) {
  auto shared = ReadSharedStoreConfig(store);
  if (shared && *shared && !(*shared)->s3) {
    return SharedDraftsDir((*shared)->blobs);
  }
  return store / "drafts";
}

std::filesystem::path SharedDraftsDir(const std::filesystem::path& blobs) {
  std::string host = HostName();
  for (char& c : host) {
    if (c == '/') c = '_';
  }
  return blobs / "drafts" /
         (host.empty() || host == "." || host == ".." ? std::string("localhost")
                                                      : host);
}

}  // namespace regfs::registry
