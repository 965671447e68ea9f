#include "registry/shared_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

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
  if (!config.blobs.is_absolute()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("--blobs {}: give an absolute path, the same "
                            "shared directory on every node",
                            config.blobs.string()));
  }
  return {};
}

Status WriteSharedStoreConfig(const std::filesystem::path& store,
                              const SharedStoreConfig& config) {
  REGFS_TRY(CheckSharedStoreConfig(config));
  const std::filesystem::path path = store / kSharedStoreConfigName;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                     0600));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("{} already holds a registry", store.string()));
    }
    return std::unexpected(PosixError("create", path.string(), errno));
  }
  const std::string text = fmt::format(
      "# regfs shared store: the registry's metadata and its blob directory\n"
      "metadata = {}\nblobs = {}\n"
      "# how long one database call may wait for the server, in seconds\n"
      "# timeout = 15\n",
      config.metadata, config.blobs.string());
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
    const std::string_view key =
        eq == std::string_view::npos ? text : Trim(text.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? "" : Trim(text.substr(eq + 1));
    if (key == "metadata" && eq != std::string_view::npos) {
      config.metadata = value;
    } else if (key == "blobs" && eq != std::string_view::npos) {
      config.blobs = value;
    } else if (key == "timeout" && eq != std::string_view::npos) {
      int64_t seconds = 0;
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() ||
          seconds < 1 || seconds > 3600) {
        return Fail(Code::kCorruption,
                    fmt::format("{}:{}: timeout is a number of seconds from "
                                "1 to 3600",
                                path.string(), number));
      }
      config.timeout = std::chrono::seconds(seconds);
    } else {
      return Fail(Code::kCorruption,
                  fmt::format("{}:{}: expected 'metadata = CONNINFO', "
                              "'blobs = DIR' or 'timeout = SECONDS'",
                              path.string(), number));
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
  if (shared && *shared) return (*shared)->blobs;
  return store / "blobs";
}

std::filesystem::path DraftsDirOf(const std::filesystem::path& store) {
  auto shared = ReadSharedStoreConfig(store);
  if (shared && *shared) return SharedDraftsDir((*shared)->blobs);
  return store / "drafts";
}

std::filesystem::path SharedDraftsDir(const std::filesystem::path& blobs) {
  std::string host = HostName();
  for (char& c : host) {
    if (c == '/') c = '_';
  }
  return blobs / "drafts" / (host.empty() || host == "." || host == ".."
                                 ? std::string("localhost")
                                 : host);
}

}  // namespace regfs::registry
