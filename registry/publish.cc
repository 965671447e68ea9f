// Publish: a draft becomes the next version of its collection (registry.h),
// and CollectDrafts: what a crash or an abandoned draft leaves behind.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <optional>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "registry/names.h"
#include "registry/registry_impl.h"
#include "registry/sidecar.h"
#include "registry/unique_fd.h"

namespace regfs::registry {

namespace {

constexpr size_t kMaxSidecar = 1 << 20;
constexpr std::string_view kXattrPrefix = "user.regfs.";

// A draft's own name, as the user sees it in the collection.
Status ValidateDraftName(std::string_view name) {
  if (!IsDraftName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a draft: drafts are dot-names in "
                            "a collection (.model.pt)",
                            name));
  }
  return {};
}

// A version's file name(s) given by a push through a mount: base names.
Status ValidateFilename(std::string_view filename) {
  if (filename.find('/') != std::string_view::npos ||
      filename.find('\0') != std::string_view::npos) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a file name: a version's file name "
                            "holds base names, without '/'",
                            filename));
  }
  return {};
}

// The sidecar beside the draft at `path`, parsed; empty if there is none.
Result<PublishMetadata> ReadSidecar(const std::filesystem::path& sidecar) {
  UniqueFd fd(::open(sidecar.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return PublishMetadata{};
    return std::unexpected(PosixError("open", sidecar.string(), errno));
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(PosixError("read", sidecar.string(), errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxSidecar) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("sidecar {} is larger than {} bytes",
                              sidecar.filename().string(), kMaxSidecar));
    }
  }
  auto parsed = ParseSidecar(text);
  if (!parsed) {
    return Fail(Code::kInvalidArgument,
                fmt::format("sidecar {}: {}", sidecar.filename().string(),
                            parsed.error().message));
  }
  return parsed;
}

// The value of extended attribute `name` of `path` (not followed).
Result<std::string> GetXattr(const std::filesystem::path& path,
                             const std::string& name) {
  for (;;) {
    const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) return std::unexpected(PosixError("getxattr", name, errno));
    std::string value(static_cast<size_t>(size), '\0');
    const ssize_t n =
        ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (n < 0 && errno == ERANGE) continue;  // it grew meanwhile
    if (n < 0) return std::unexpected(PosixError("getxattr", name, errno));
    value.resize(static_cast<size_t>(n));
    return value;
  }
}

// "a, b,,c" -> {"a", "b", "c"}.
std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// The user.regfs.* extended attributes of the draft root at `path`:
// aliases, tags (comma-separated), description, meta.KEY.
Result<PublishMetadata> ReadXattrs(const std::filesystem::path& path) {
  PublishMetadata out;
  ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  if (size < 0) {
    if (errno == ENOTSUP) return out;
    return std::unexpected(PosixError("listxattr", path.string(), errno));
  }
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(path.c_str(), names.data(), names.size());
  if (size < 0) {
    return std::unexpected(PosixError("listxattr", path.string(), errno));
  }
  names.resize(static_cast<size_t>(size));
  for (size_t at = 0; at < names.size();) {
    const std::string name(names.c_str() + at);
    at += name.size() + 1;
    if (!name.starts_with(kXattrPrefix)) continue;
    const std::string key = name.substr(kXattrPrefix.size());
    REGFS_ASSIGN_OR_RETURN(const std::string value, GetXattr(path, name));
    if (key == "aliases") {
      for (auto& a : SplitList(value)) out.aliases.push_back(std::move(a));
    } else if (key == "tags") {
      for (auto& t : SplitList(value)) out.tags.push_back(std::move(t));
    } else if (key == "description") {
      out.description = value;
    } else if (key.starts_with("meta.") && key.size() > 5) {
      out.metadata.emplace_back(key.substr(5), value);
    } else {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is not an attribute a publish knows "
                              "(user.regfs.aliases, .tags, .description, "
                              ".meta.KEY)",
                              name));
    }
  }
  return out;
}

template <class T>
void AppendUnique(std::vector<T>& to, const std::vector<T>& from) {
  for (const T& item : from) {
    if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
  }
}

// The request's own labels, then the sidecar's, then the xattrs'; for a
// metadata key given twice, the first wins.
void Merge(PushRequest& request, const PublishMetadata& more) {
  AppendUnique(request.aliases, more.aliases);
  AppendUnique(request.tags, more.tags);
  if (request.description.empty()) request.description = more.description;
  for (const auto& [key, value] : more.metadata) {
    const bool known =
        std::any_of(request.metadata.begin(), request.metadata.end(),
                    [&](const auto& kv) { return kv.first == key; });
    if (!known) request.metadata.emplace_back(key, value);
  }
}

// The number a publish onto `target` must take: none for `latest` or an
// alias, N for "vN"; a name reserved for versions but not one (v007, V7)
// is InvalidArgument.
Result<std::optional<uint64_t>> ExpectedNumber(std::string_view target) {
  if (target == kLatest) return std::nullopt;
  if (auto number = ParseVersionName(target)) return number;
  if (IsReservedName(target)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' names no version: publish onto the next "
                            "version's name as written (v7, not v007), "
                            "onto latest, or onto an alias",
                            target));
  }
  REGFS_TRY(ValidateAliasName(target));
  return std::nullopt;
}

}  // namespace

Result<Version> Registry::Publish(const Identity& who,
                                  const PublishRequest& r) {
  REGFS_TRY(ValidateCollectionName(r.collection));
  REGFS_TRY(ValidateDraftName(r.draft));
  REGFS_ASSIGN_OR_RETURN(const std::optional<uint64_t> number,
                         ExpectedNumber(r.target));
  REGFS_TRY(ValidateFilename(r.filename));
  CollectionRow c;
  {
    auto lock = impl_->Lock();
    REGFS_ASSIGN_OR_RETURN(const Role role, impl_->Require(who, kRoleToChange,
                                                           "publish versions"));
    if (r.owner != who.uid && role != Role::kAdmin) {
      return Fail(Code::kPermissionDenied,
                  fmt::format("{} is another user's draft: only its writer "
                              "or an admin may publish it",
                              r.draft));
    }
    REGFS_ASSIGN_OR_RETURN(c, impl_->FindCollection(r.collection));
  }
  const auto path = impl_->drafts.PathOf(c.id, r.owner, r.draft);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Fail(Code::kNotFound,
                  fmt::format("no draft {} in {}", r.draft, r.collection));
    }
    return std::unexpected(PosixError("lstat", path.string(), errno));
  }
  const auto sidecar =
      impl_->drafts.PathOf(c.id, r.owner, Drafts::SidecarName(r.draft));
  REGFS_ASSIGN_OR_RETURN(const PublishMetadata from_sidecar,
                         ReadSidecar(sidecar));
  REGFS_ASSIGN_OR_RETURN(const PublishMetadata from_xattrs, ReadXattrs(path));

  PushRequest request{r.collection, {path},     r.aliases,
                      r.tags,       r.metadata, r.description};
  request.progress = r.progress;
  if (r.target != kLatest && !number)
    AppendUnique(request.aliases, std::vector<std::string>{r.target});
  Merge(request, from_sidecar);
  Merge(request, from_xattrs);
  REGFS_ASSIGN_OR_RETURN(
      Version version,
      impl_->PushVersion(who, request,
                         PushSource{true,
                                    r.filename.empty()
                                        ? std::string(r.draft.substr(1))
                                        : r.filename,
                                    number}));
  // Committed: the draft is consumed. A failure here leaves a published
  // leftover for CollectDrafts, never a second version.
  for (const auto& name : {Drafts::SidecarName(r.draft), r.draft}) {
    auto removed = impl_->drafts.Remove(c.id, r.owner, name);
    if (!removed && !removed.error().IsNotFound()) {
      spdlog::warn("published {}/v{} but could not remove draft {}: {}",
                   version.collection, version.number, name,
                   removed.error().message);
    }
  }
  return version;
}

// Whether the draft at `path` is what a committed publish left: one of
// its files is a hard link of a blob that a version references.
Result<bool> Registry::Impl::IsPublishedLeftover(
    const std::filesystem::path& path) {
  std::vector<std::string> keys;
  std::error_code ec;
  auto consider = [&](const std::filesystem::path& file) -> Status {
    REGFS_ASSIGN_OR_RETURN(const auto key, blobs.KeyOfLink(file));
    if (key) keys.push_back(*key);
    return {};
  };
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (S_ISREG(st.st_mode)) {
    REGFS_TRY(consider(path));
  } else if (S_ISDIR(st.st_mode)) {
    for (std::filesystem::recursive_directory_iterator it(path, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
        REGFS_TRY(consider(it->path()));
      }
    }
  }
  if (keys.empty()) return false;
  auto lock = Lock();
  for (const auto& key : keys) {
    REGFS_ASSIGN_OR_RETURN(const bool referenced,
                           sql::IsBlobReferenced(*db, key));
    if (referenced) return true;
  }
  return false;
}

Result<DraftGcReport> Registry::CollectDrafts(std::chrono::seconds idle) {
  DraftGcReport report;
  REGFS_ASSIGN_OR_RETURN(const std::vector<DraftInfo> drafts,
                         impl_->drafts.List());
  const TimeMs now = NowMs();
  const TimeMs idle_ms = static_cast<TimeMs>(idle.count()) * 1000;
  std::vector<const DraftInfo*> leftovers;
  for (const DraftInfo& d : drafts) {
    const auto path = impl_->drafts.PathOf(d.collection_id, d.uid, d.name);
    REGFS_ASSIGN_OR_RETURN(const bool published,
                           impl_->IsPublishedLeftover(path));
    if (published) leftovers.push_back(&d);
  }
  auto remove = [&](const DraftInfo& d, uint64_t& counter) -> Status {
    auto s = impl_->drafts.Remove(d.collection_id, d.uid, d.name);
    if (!s) return s.error().IsNotFound() ? Status{} : s;
    ++counter;
    report.bytes_removed += d.bytes;
    report.removed.push_back(
        fmt::format("{}/{}/{}", d.collection_id, d.uid, d.name));
    return {};
  };
  for (const DraftInfo& d : drafts) {
    const bool leftover =
        std::any_of(leftovers.begin(), leftovers.end(), [&](const auto* l) {
          return l->collection_id == d.collection_id && l->uid == d.uid &&
                 (l->name == d.name || Drafts::SidecarName(l->name) == d.name);
        });
    if (leftover) {
      REGFS_TRY(remove(d, report.published));
    } else if (now - d.changed > idle_ms) {
      REGFS_TRY(remove(d, report.abandoned));
    }
  }
  return report;
}

}  // namespace regfs::registry
