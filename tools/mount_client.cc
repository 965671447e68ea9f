#include "tools/mount_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "registry/model_json.h"
#include "registry/unique_fd.h"

namespace regfs::tools {
namespace {

using reg::OrderedJson;

// The control file of the mount at `mountpoint`.
std::filesystem::path ControlFileOf(const std::filesystem::path& mountpoint) {
  return mountpoint / ".regfs" / "ctl";
}

// A request is one write(2) to the control file, and the kernel hands the
// daemon at most max_write (1 MiB, fs/file_system.cc) of it at once, less
// up to a page when the buffer does not start on one: a longer request
// would arrive cut in two. Said here, before anything is sent or copied.
constexpr size_t kMaxRequest = (size_t{1} << 20) - 4096;
// The longest name DraftCopy gives a draft (NAME_MAX).
constexpr size_t kLongestDraftName = 255;

reg::Status FitsOneRequest(const OrderedJson& request, std::string_view what) {
  const size_t size = request.dump().size();
  if (size <= kMaxRequest) return {};
  return reg::Fail(
      reg::Code::kInvalidArgument,
      fmt::format("this {} is too large for a mount: its request is {} bytes "
                  "and a mount takes at most {} (long metadata values, or "
                  "many files or labels); shorten it, or run it with --store "
                  "naming the store directory",
                  what, size, kMaxRequest));
}

// Reads `T` out of a reply's result with `decode`.
template <class T, class Decode>
reg::Result<std::vector<T>> DecodeArray(const OrderedJson& json,
                                        Decode decode) {
  if (!json.is_array()) {
    return reg::Fail(reg::Code::kIoError,
                     "the mount's reply holds no list where one belongs");
  }
  std::vector<T> items;
  items.reserve(json.size());
  for (const auto& item : json) {
    REGFS_ASSIGN_OR_RETURN(auto decoded, decode(item));
    items.push_back(std::move(decoded));
  }
  return items;
}

reg::Result<uint64_t> DecodeNumber(const OrderedJson& json) {
  if (!json.is_number_unsigned()) {
    return reg::Fail(reg::Code::kIoError,
                     "the mount's reply holds no number where one belongs");
  }
  return json.get<uint64_t>();
}

reg::Status DecodeNothing(const reg::Result<OrderedJson>& reply) {
  REGFS_TRY(reply);
  return {};
}

// Copies local files into a new draft in a collection directory of the
// mount, reporting progress.
class DraftCopy final {
 public:
  DraftCopy(bool follow_symlinks, reg::ProgressFn progress)
      : follow_(follow_symlinks), progress_(std::move(progress)) {}

  // Copies `paths` (Push's shapes: one regular file makes a file draft;
  // else files by base name, a single directory's contents, directories
  // by base name) into a new draft in `dir`; returns its name.
  reg::Result<std::string> Into(
      const std::filesystem::path& dir,
      const std::vector<std::filesystem::path>& paths) {
    namespace stdfs = std::filesystem;
    std::vector<std::pair<stdfs::path, stdfs::path>> files;  // from, to
    std::vector<stdfs::path> dirs;                           // relative
    REGFS_TRY(Plan(paths, files, dirs));
    const bool file_draft = paths.size() == 1 && dirs.empty() &&
                            files.size() == 1 && files[0].second.empty();
    const std::string name = DraftName(dir, file_draft ? paths[0] : "");
    const stdfs::path root = dir / name;
    if (!file_draft && ::mkdir(root.c_str(), 0755) != 0) {
      return std::unexpected(reg::PosixError("mkdir", root.string(), errno));
    }
    for (const auto& sub : dirs) {
      const stdfs::path target = root / sub;
      if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
        return std::unexpected(
            reg::PosixError("mkdir", target.string(), errno));
      }
    }
    for (const auto& [from, to] : files) {
      auto copied = CopyFile(from, to.empty() ? root : root / to);
      if (!copied) {
        std::error_code ec;
        stdfs::remove_all(root, ec);
        return std::unexpected(copied.error());
      }
    }
    return name;
  }

 private:
  // Lists what to copy, refusing symbolic links unless following them.
  reg::Status Plan(
      const std::vector<std::filesystem::path>& paths,
      std::vector<std::pair<std::filesystem::path, std::filesystem::path>>&
          files,
      std::vector<std::filesystem::path>& dirs) {
    namespace stdfs = std::filesystem;
    for (const auto& path : paths) {
      REGFS_ASSIGN_OR_RETURN(const auto status, StatusOf(path));
      const stdfs::path base = path.filename().empty()
                                   ? path.parent_path().filename()
                                   : path.filename();
      if (stdfs::is_regular_file(status)) {
        files.emplace_back(path, paths.size() == 1 ? stdfs::path() : base);
        total_ += stdfs::file_size(path);
        continue;
      }
      if (!stdfs::is_directory(status)) {
        return reg::Fail(reg::Code::kInvalidArgument,
                         fmt::format("{} is neither a regular file nor a "
                                     "directory",
                                     path.string()));
      }
      const stdfs::path prefix = paths.size() == 1 ? stdfs::path() : base;
      if (!prefix.empty()) dirs.push_back(prefix);
      std::error_code ec;
      const auto options =
          follow_ ? stdfs::directory_options::follow_directory_symlink
                  : stdfs::directory_options::none;
      for (auto it = stdfs::recursive_directory_iterator(path, options, ec);
           !ec && it != stdfs::recursive_directory_iterator();
           it.increment(ec)) {
        REGFS_ASSIGN_OR_RETURN(const auto entry, StatusOf(it->path()));
        const stdfs::path relative = prefix / stdfs::relative(it->path(), path);
        if (stdfs::is_directory(entry)) {
          dirs.push_back(relative);
        } else if (stdfs::is_regular_file(entry)) {
          files.emplace_back(it->path(), relative);
          total_ += stdfs::file_size(it->path());
        }
      }
      if (ec) {
        return std::unexpected(
            reg::PosixError("walk", path.string(), ec.value()));
      }
    }
    return {};
  }

  reg::Result<std::filesystem::file_status> StatusOf(
      const std::filesystem::path& path) const {
    std::error_code ec;
    const auto status = follow_ ? std::filesystem::status(path, ec)
                                : std::filesystem::symlink_status(path, ec);
    if (ec) {
      return std::unexpected(
          reg::PosixError("stat", path.string(), ec.value()));
    }
    if (std::filesystem::is_symlink(status)) {
      return reg::Fail(reg::Code::kInvalidArgument,
                       fmt::format("{} is a symbolic link: pass -L to push "
                                   "what it points to",
                                   path.string()));
    }
    return status;
  }

  // ".model.pt" for a file model.pt when neither it nor its sidecar is a
  // draft already (the version keeps the file's name); else
  // ".regfs-push-<random>".
  static std::string DraftName(const std::filesystem::path& dir,
                               const std::filesystem::path& file) {
    const std::string base = file.filename().string();
    if (!base.empty() && base.front() != '.') {
      const std::string name = "." + base;
      struct stat st {};
      if (::lstat((dir / name).c_str(), &st) != 0 && errno == ENOENT &&
          ::lstat((dir / (name + ".metadata.json")).c_str(), &st) != 0 &&
          errno == ENOENT) {
        return name;
      }
    }
    std::random_device random;
    return fmt::format(".regfs-push-{:08x}", random());
  }

  reg::Status CopyFile(const std::filesystem::path& from,
                       const std::filesystem::path& to) {
    reg::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) {
      return std::unexpected(reg::PosixError("open", from.string(), errno));
    }
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) {
      return std::unexpected(reg::PosixError("stat", from.string(), errno));
    }
    reg::UniqueFd out(::open(to.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                             st.st_mode & 0777));
    if (!out.valid()) {
      return std::unexpected(reg::PosixError("create", to.string(), errno));
    }
    std::vector<char> buf(1 << 20);
    for (;;) {
      const ssize_t n = ::read(in.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return std::unexpected(reg::PosixError("read", from.string(), errno));
      }
      if (n == 0) break;
      for (ssize_t put = 0; put < n;) {
        const ssize_t w =
            ::write(out.get(), buf.data() + put, static_cast<size_t>(n - put));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          return std::unexpected(reg::PosixError("write", to.string(), errno));
        }
        put += w;
      }
      done_ += static_cast<uint64_t>(n);
      if (progress_) progress_(done_, total_);
    }
    if (::close(out.Release()) != 0) {
      return std::unexpected(reg::PosixError("close", to.string(), errno));
    }
    return {};
  }

  const bool follow_;
  const reg::ProgressFn progress_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
};

class MountClient final : public Store {
 public:
  explicit MountClient(std::filesystem::path mountpoint)
      : mountpoint_(std::move(mountpoint)) {}

  reg::Result<std::vector<reg::Collection>> ListCollections() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "collections"}}));
    return DecodeArray<reg::Collection>(json, reg::CollectionFromJson);
  }
  reg::Result<reg::Collection> GetCollection(std::string_view name) override {
    REGFS_ASSIGN_OR_RETURN(auto json,
                           Call({{"op", "collection"}, {"collection", name}}));
    return reg::CollectionFromJson(json);
  }
  reg::Result<std::vector<reg::Version>> ListVersionsInFull(
      std::string_view collection) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json, Call({{"op", "versions"}, {"collection", collection}}));
    return DecodeArray<reg::Version>(json, reg::VersionFromJson);
  }
  reg::Result<std::vector<reg::Alias>> ListAliases(
      std::string_view collection) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json, Call({{"op", "aliases"}, {"collection", collection}}));
    return DecodeArray<reg::Alias>(json, reg::AliasFromJson);
  }
  reg::Result<reg::Version> Resolve(std::string_view collection,
                                    std::string_view name) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json,
        Call({{"op", "resolve"}, {"collection", collection}, {"name", name}}));
    return reg::VersionFromJson(json);
  }
  reg::Result<reg::Version> GetVersionById(int64_t id) override {
    REGFS_ASSIGN_OR_RETURN(auto json,
                           Call({{"op", "version_by_id"}, {"id", id}}));
    return reg::VersionFromJson(json);
  }
  reg::Result<std::vector<reg::TreeEntry>> ListTree(
      int64_t version_id, int64_t parent_id) override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "tree"},
                                            {"version_id", version_id},
                                            {"parent_id", parent_id}}));
    return DecodeArray<reg::TreeEntry>(json, reg::TreeEntryFromJson);
  }
  reg::Result<std::vector<reg::ProtectedName>> ListProtected() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "protected"}}));
    return DecodeArray<reg::ProtectedName>(json, reg::ProtectedNameFromJson);
  }
  reg::Result<std::vector<reg::Event>> History(
      const reg::HistoryFilter& filter) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json, Call({{"op", "history"}, {"filter", reg::ToJson(filter)}}));
    return DecodeArray<reg::Event>(json, reg::EventFromJson);
  }
  reg::Result<uint64_t> LastSeq() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "last_seq"}}));
    return DecodeNumber(json);
  }
  reg::Result<uint64_t> SeqAt(std::string_view moment) override {
    REGFS_ASSIGN_OR_RETURN(auto json,
                           Call({{"op", "seq_at"}, {"moment", moment}}));
    return DecodeNumber(json);
  }
  reg::Result<reg::Alias> GetAliasAt(std::string_view collection,
                                     std::string_view name,
                                     uint64_t seq) override {
    return AliasThen("alias_at", collection, name, "seq", seq);
  }
  reg::Result<reg::Alias> GetAliasBefore(std::string_view collection,
                                         std::string_view name,
                                         uint64_t back) override {
    return AliasThen("alias_before", collection, name, "back", back);
  }
  reg::Result<std::vector<reg::RoleGrant>> ListRoles() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "roles"}}));
    return DecodeArray<reg::RoleGrant>(json, reg::RoleGrantFromJson);
  }
  reg::Result<reg::Role> DefaultRole() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "default_role"}}));
    if (!json.is_string()) return Malformed();
    return reg::ParseRole(json.get<std::string>());
  }
  reg::Result<reg::WhoAmI> WhoAmI() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "whoami"}}));
    return reg::WhoAmIFromJson(json);
  }
  reg::Result<std::filesystem::path> BlobPath(std::string_view key) override {
    REGFS_ASSIGN_OR_RETURN(auto json,
                           Call({{"op", "blob_path"}, {"key", key}}));
    if (!json.is_string()) return Malformed();
    return std::filesystem::path(json.get<std::string>());
  }
  reg::Result<reg::SearchResults> Search(
      std::string_view term, const reg::SearchOptions& options) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json,
        Call({{"op", "search"}, {"term", term}, {"limit", options.limit}}));
    return reg::SearchResultsFromJson(json);
  }

  reg::Result<reg::Alias> SetAlias(
      std::string_view collection, std::string_view alias,
      std::string_view target,
      std::optional<std::optional<uint64_t>> expected) override {
    OrderedJson request = {{"op", "alias_set"},
                           {"collection", collection},
                           {"alias", alias},
                           {"target", target}};
    if (expected) {
      request["expect"] = *expected ? OrderedJson(**expected) : OrderedJson();
    }
    REGFS_ASSIGN_OR_RETURN(auto json, Call(std::move(request)));
    return reg::AliasFromJson(json);
  }
  reg::Status RemoveAlias(std::string_view collection,
                          std::string_view alias) override {
    return DecodeNothing(Call(
        {{"op", "alias_rm"}, {"collection", collection}, {"alias", alias}}));
  }
  reg::Status RenameAlias(std::string_view collection, std::string_view from,
                          std::string_view to, bool replace) override {
    return DecodeNothing(Call({{"op", "alias_mv"},
                               {"collection", collection},
                               {"from", from},
                               {"to", to},
                               {"replace", replace}}));
  }
  reg::Status AddTag(std::string_view collection, uint64_t number,
                     std::string_view tag) override {
    return ChangeTag("tag_add", collection, number, tag);
  }
  reg::Status RemoveTag(std::string_view collection, uint64_t number,
                        std::string_view tag) override {
    return ChangeTag("tag_rm", collection, number, tag);
  }
  reg::Status Protect(std::string_view name) override {
    return DecodeNothing(Call({{"op", "protect"}, {"name", name}}));
  }
  reg::Status Unprotect(std::string_view name) override {
    return DecodeNothing(Call({{"op", "unprotect"}, {"name", name}}));
  }
  reg::Status Grant(std::string_view principal, reg::Role role) override {
    return DecodeNothing(Call({{"op", "role_grant"},
                               {"principal", principal},
                               {"role", reg::RoleName(role)}}));
  }
  reg::Status Revoke(std::string_view principal) override {
    return DecodeNothing(
        Call({{"op", "role_revoke"}, {"principal", principal}}));
  }
  reg::Status DeleteVersion(std::string_view collection,
                            uint64_t number) override {
    return DecodeNothing(Call({{"op", "version_rm"},
                               {"collection", collection},
                               {"number", number}}));
  }
  reg::Status DeleteCollection(std::string_view name, bool all) override {
    return DecodeNothing(
        Call({{"op", "collection_rm"}, {"collection", name}, {"all", all}}));
  }
  reg::Result<reg::Version> Push(const reg::PushRequest& request) override;
  reg::Result<reg::Automation> AddAutomation(
      const reg::AutomationSpec& spec) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json,
        Call({{"op", "automation_add"}, {"automation", reg::ToJson(spec)}}));
    return reg::AutomationFromJson(json);
  }
  reg::Status RemoveAutomation(std::string_view name) override {
    return DecodeNothing(Call({{"op", "automation_rm"}, {"name", name}}));
  }
  reg::Result<std::vector<reg::Automation>> ListAutomations() override {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", "automations"}}));
    return DecodeArray<reg::Automation>(json, reg::AutomationFromJson);
  }
  reg::Result<std::vector<reg::DeliveryRecord>> DeliveryLog(
      std::string_view name, uint64_t limit) override {
    REGFS_ASSIGN_OR_RETURN(
        auto json,
        Call({{"op", "automation_log"}, {"name", name}, {"limit", limit}}));
    return DecodeArray<reg::DeliveryRecord>(json,
                                            reg::DeliveryRecordFromJson);
  }
  reg::Result<reg::DeliveryRecord> TestAutomation(
      std::string_view name, std::chrono::milliseconds exec_timeout) override {
    REGFS_ASSIGN_OR_RETURN(auto json,
                           Call({{"op", "automation_test"},
                                 {"name", name},
                                 {"exec_timeout_ms", exec_timeout.count()}}));
    return reg::DeliveryRecordFromJson(json);
  }
  reg::Result<reg::Registry*> Direct(std::string_view command) override {
    return reg::Fail(
        reg::Code::kInvalidArgument,
        fmt::format("'regfs {}' does not work through a mount ({}): the "
                    "store's owner runs it with --store naming the store "
                    "directory",
                    command, mountpoint_.string()));
  }

 private:
  static std::unexpected<reg::Error> Malformed() {
    return reg::Fail(reg::Code::kIoError,
                     "the mount's control file replied something malformed");
  }

  // One request: its result, or the error the daemon replied.
  reg::Result<OrderedJson> Call(const OrderedJson& request);
  // A tag added or removed: `op` is the control file's tag_add or tag_rm.
  reg::Status ChangeTag(std::string_view op, std::string_view collection,
                        uint64_t number, std::string_view tag) {
    return DecodeNothing(Call({{"op", op},
                               {"collection", collection},
                               {"number", number},
                               {"tag", tag}}));
  }
  // An alias as it was in the past: `op` is alias_at (after event `key` =
  // seq) or alias_before (`key` = back changes ago).
  reg::Result<reg::Alias> AliasThen(std::string_view op,
                                    std::string_view collection,
                                    std::string_view name, std::string_view key,
                                    uint64_t value) {
    REGFS_ASSIGN_OR_RETURN(auto json, Call({{"op", op},
                                            {"collection", collection},
                                            {"name", name},
                                            {key, value}}));
    return reg::AliasFromJson(json);
  }

  const std::filesystem::path mountpoint_;
};

reg::Result<OrderedJson> MountClient::Call(const OrderedJson& request) {
  REGFS_TRY(FitsOneRequest(request, request.value("op", "")));
  const std::filesystem::path ctl = ControlFileOf(mountpoint_);
  reg::UniqueFd fd(::open(ctl.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid())
    return std::unexpected(reg::PosixError("open", ctl.string(), errno));
  const std::string text = request.dump();
  // A refusal fails the write with its errno; the reply says why.
  const ssize_t written = ::write(fd.get(), text.data(), text.size());
  const int write_errno = written < 0 ? errno : 0;
  std::string reply;
  char buf[65536];
  for (;;) {
    const ssize_t n =
        ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(reply.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return std::unexpected(reg::PosixError("read", ctl.string(), errno));
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  const OrderedJson json =
      OrderedJson::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("ok")) {
    if (write_errno != 0) {
      return std::unexpected(
          reg::PosixError("write", ctl.string(), write_errno));
    }
    return Malformed();
  }
  if (json.at("ok") == true) {
    return json.contains("result") ? json.at("result") : OrderedJson();
  }
  REGFS_ASSIGN_OR_RETURN(reg::Error error, reg::ErrorFromJson(json));
  return std::unexpected(std::move(error));
}

// Push through a mount: the paths are copied into a draft of the caller in
// the collection (a file, or a directory for a tree), which a ctl publish
// request then makes the next version; a refused publish discards it.
reg::Result<reg::Version> MountClient::Push(const reg::PushRequest& request) {
  const std::filesystem::path dir = mountpoint_ / request.collection;
  OrderedJson metadata = OrderedJson::object();
  for (const auto& [key, value] : request.metadata) metadata[key] = value;
  OrderedJson publish = {{"op", "publish"},
                         {"collection", request.collection},
                         {"draft", ""},
                         {"target", "latest"},
                         {"aliases", request.aliases},
                         {"tags", request.tags},
                         {"metadata", metadata},
                         {"description", request.description},
                         // The names a push against the store directory
                         // records, not the draft's.
                         {"filename", reg::PushedFilename(request.paths)}};
  // A publish request the mount cannot take is said before the copy; a
  // push the store refuses is refused before it too, in the store's words.
  publish["draft"] = std::string(kLongestDraftName, 'x');
  REGFS_TRY(FitsOneRequest(publish, "push"));
  REGFS_TRY(Call({{"op", "push_check"},
                  {"collection", request.collection},
                  {"aliases", request.aliases},
                  {"tags", request.tags},
                  {"metadata", std::move(metadata)}}));
  // mkdir makes a collection (members may); it may exist already.
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected(reg::PosixError("mkdir", dir.string(), errno));
  }
  DraftCopy copy(request.follow_symlinks, request.progress);
  REGFS_ASSIGN_OR_RETURN(const std::string draft,
                         copy.Into(dir, request.paths));
  publish["draft"] = draft;
  auto published = Call(publish);
  if (!published) {
    std::error_code ec;  // best effort: drafts are also collected when idle
    std::filesystem::remove_all(dir / draft, ec);
    return std::unexpected(published.error());
  }
  return reg::VersionFromJson(*published);
}

}  // namespace

bool IsRegfsMount(const std::filesystem::path& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return false;
  if (static_cast<long>(st.f_type) != kFuseSuperMagic) return false;
  return ::access(ControlFileOf(path).c_str(), F_OK) == 0;
}

std::unique_ptr<Store> MakeMountClient(std::filesystem::path mountpoint) {
  return std::make_unique<MountClient>(std::move(mountpoint));
}

}  // namespace regfs::tools
