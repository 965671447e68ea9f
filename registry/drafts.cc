// Drafts on disk (drafts.h), and the Registry's members that manage them:
// the drafts area and its limits.
#include "registry/drafts.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>
#include <utility>

#include "registry/registry_impl.h"
#include "registry/sql/settings.h"

namespace regfs::registry {

namespace {

constexpr std::string_view kQuotaKey = "draft_quota_bytes";
constexpr std::string_view kIdleKey = "draft_idle_seconds";
constexpr std::string_view kSidecarSuffix = ".metadata.json";

// A decimal directory name (a collection id or a uid); false for others.
template <class T>
bool ParseNumber(const std::string& text, T& out) {
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

TimeMs MtimeMs(const struct stat& st) {
  return static_cast<TimeMs>(st.st_mtim.tv_sec) * 1000 +
         st.st_mtim.tv_nsec / 1000000;
}

// Adds the disk use and newest mtime of the tree at `path` (lstat'ed as
// `st`) to `info`. Entries that vanish meanwhile are skipped: a writer may
// be removing them.
void Measure(const std::filesystem::path& path, const struct stat& st,
             DraftInfo& info) {
  info.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  info.changed = std::max(info.changed, MtimeMs(st));
  if (!S_ISDIR(st.st_mode)) return;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat child;
    if (::lstat(it->path().c_str(), &child) != 0) continue;
    Measure(it->path(), child, info);
  }
}

// The numeric subdirectories of `dir` (ids or uids), by name.
template <class T>
Result<std::vector<std::pair<T, std::filesystem::path>>> NumberedDirs(
    const std::filesystem::path& dir) {
  std::vector<std::pair<T, std::filesystem::path>> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  if (ec)
    return std::unexpected(PosixError("opendir", dir.string(), ec.value()));
  for (const auto& entry : it) {
    T number{};
    if (!ParseNumber(entry.path().filename().string(), number)) continue;
    if (!entry.is_directory(ec)) continue;
    out.emplace_back(number, entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status MakeDir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(PosixError("mkdir", dir.string(), errno));
  }
  return {};
}

}  // namespace

Drafts::Drafts(std::filesystem::path root) : root_(std::move(root)) {}

std::string Drafts::SidecarName(std::string_view name) {
  return std::string(name) + std::string(kSidecarSuffix);
}

std::filesystem::path Drafts::PathOf(int64_t collection_id, uid_t uid,
                                     std::string_view name) const {
  return root_ / std::to_string(collection_id) / std::to_string(uid) /
         std::string(name);
}

Result<std::filesystem::path> Drafts::DirFor(int64_t collection_id,
                                             uid_t uid) const {
  const auto collection = root_ / std::to_string(collection_id);
  const auto dir = collection / std::to_string(uid);
  REGFS_TRY(MakeDir(root_));
  REGFS_TRY(MakeDir(collection));
  REGFS_TRY(MakeDir(dir));
  return dir;
}

Result<std::vector<DraftInfo>> Drafts::List() const {
  std::vector<DraftInfo> drafts;
  REGFS_ASSIGN_OR_RETURN(const auto collections, NumberedDirs<int64_t>(root_));
  for (const auto& [collection_id, collection_dir] : collections) {
    REGFS_ASSIGN_OR_RETURN(const auto uids,
                           NumberedDirs<uid_t>(collection_dir));
    for (const auto& [uid, uid_dir] : uids) {
      std::vector<DraftInfo> mine;
      std::error_code ec;
      for (std::filesystem::directory_iterator it(uid_dir, ec), end;
           !ec && it != end; it.increment(ec)) {
        struct stat st;
        if (::lstat(it->path().c_str(), &st) != 0) continue;
        DraftInfo info;
        info.collection_id = collection_id;
        info.uid = uid;
        info.name = it->path().filename().string();
        info.is_dir = S_ISDIR(st.st_mode);
        Measure(it->path(), st, info);
        mine.push_back(std::move(info));
      }
      std::sort(mine.begin(), mine.end(),
                [](const DraftInfo& a, const DraftInfo& b) {
                  return a.name < b.name;
                });
      for (auto& info : mine) drafts.push_back(std::move(info));
    }
  }
  return drafts;
}

Result<std::map<uid_t, uint64_t>> Drafts::Usage() const {
  REGFS_ASSIGN_OR_RETURN(const auto drafts, List());
  std::map<uid_t, uint64_t> usage;
  for (const auto& draft : drafts) usage[draft.uid] += draft.bytes;
  return usage;
}

Status Drafts::Remove(int64_t collection_id, uid_t uid,
                      std::string_view name) const {
  const auto path = PathOf(collection_id, uid, name);
  struct stat st;
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string_view::npos) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a draft's name", name));
  }
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Fail(Code::kNotFound, fmt::format("no draft {}", name));
    }
    return std::unexpected(PosixError("lstat", path.string(), errno));
  }
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec)
    return std::unexpected(PosixError("remove", path.string(), ec.value()));
  return {};
}

// ---- Registry's members for drafts ----

Drafts& Registry::drafts() { return impl_->drafts; }

Result<DraftLimits> Registry::GetDraftLimits() {
  auto lock = impl_->Lock();
  DraftLimits limits;
  REGFS_ASSIGN_OR_RETURN(const auto quota,
                         sql::GetSetting(*impl_->db, kQuotaKey));
  REGFS_ASSIGN_OR_RETURN(const auto idle,
                         sql::GetSetting(*impl_->db, kIdleKey));
  if (quota && !ParseNumber(*quota, limits.quota_bytes)) {
    return Fail(
        Code::kCorruption,
        fmt::format("setting {} is not a number: '{}'", kQuotaKey, *quota));
  }
  int64_t seconds = 0;
  if (idle) {
    if (!ParseNumber(*idle, seconds) || seconds < 0) {
      return Fail(
          Code::kCorruption,
          fmt::format("setting {} is not a number: '{}'", kIdleKey, *idle));
    }
    limits.idle = std::chrono::seconds(seconds);
  }
  return limits;
}

Status Registry::SetDraftLimits(const Identity& who, DraftLimits limits) {
  if (limits.idle.count() < 0) {
    return Fail(Code::kInvalidArgument, "the idle time cannot be negative");
  }
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*impl_->db));
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "set the limits of drafts"));
  REGFS_TRY(sql::PutSetting(*impl_->db, kQuotaKey,
                            std::to_string(limits.quota_bytes)));
  REGFS_TRY(sql::PutSetting(*impl_->db, kIdleKey,
                            std::to_string(limits.idle.count())));
  return tx.Commit();
}

Status Registry::RemoveDraft(const Identity& who, std::string_view collection,
                             uid_t owner, std::string_view name) {
  CollectionRow c;
  {
    auto lock = impl_->Lock();
    if (owner != who.uid) {
      REGFS_TRY(
          impl_->Require(who, Role::kAdmin, "remove another user's draft"));
    }
    REGFS_ASSIGN_OR_RETURN(c, impl_->FindCollection(collection));
  }
  auto removed = impl_->drafts.Remove(c.id, owner, name);
  if (!removed && removed.error().IsNotFound()) {
    return Fail(Code::kNotFound, fmt::format("no draft {} of {} in {}", name,
                                             UserName(owner), collection));
  }
  return removed;
}

}  // namespace regfs::registry
