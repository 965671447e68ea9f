// Publishing drafts through the mount (a rename onto `latest` or an alias,
// or the ctl file's publish request) and the drafts' upkeep: the quota's
// count and the removal of abandoned drafts. Registry::Publish decides;
// this file holds the draft's lock around it and tells the kernel.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs/file_system.h"
#include "fs/file_system_internal.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Code;
using registry::Identity;
using registry::Result;

Reply FileSystem::PublishDraft(const Request& r, const Node& dir,
                               const DraftKey& draft, std::string_view target,
                               unsigned flags) {
  const std::string what = fmt::format("publish of draft {}/{} onto {}",
                                       dir.collection, draft.path, target);
  if (flags & RENAME_EXCHANGE) {
    return Refuse(r, what, EINVAL, "cannot exchange a draft with an alias");
  }
  if (flags & RENAME_NOREPLACE) {
    // Only a new alias may be named (`latest` always exists).
    if (target == registry::kLatest) return ErrorReply{EEXIST};
    if (registry_.GetAlias(dir.collection, target)) return ErrorReply{EEXIST};
  }
  registry::PublishRequest request;
  request.collection = dir.collection;
  request.owner = draft.uid;
  request.draft = draft.path;
  request.target = std::string(target);
  auto version = PublishDraftLocked(ChangeIdentity(r), request);
  if (!version && version.error().code == Code::kConflict &&
      options_.draft_passthrough) {
    // Past the quota (a kernel writer's overrun): EDQUOT, as for a write.
    auto limits = registry_.GetDraftLimits();
    if (limits && draft_usage_.Of(draft.uid) > limits->quota_bytes) {
      return Refuse(r, what, EDQUOT, version.error().message);
    }
  }
  if (!version) return Refuse(r, what, version.error());
  return ErrorReply{0};
}

Result<registry::Version> FileSystem::PublishDraftLocked(
    const Identity& who, const registry::PublishRequest& request) {
  std::optional<int64_t> collection_id = KnownCollectionId(request.collection);
  if (!collection_id) {
    REGFS_ASSIGN_OR_RETURN(const registry::Collection collection,
                           registry_.GetCollection(request.collection));
    RememberCollection(collection.id, collection.name);
    collection_id = collection.id;
  }
  const DraftKey draft{*collection_id, request.owner, request.draft};
  if (!draft.is_root() || !IsDraftName(draft.path)) {
    return registry::Fail(Code::kInvalidArgument,
                          fmt::format("{} is not a draft's name", draft.path));
  }
  const std::string sidecar = registry::Drafts::SidecarName(draft.path);
  const DraftRootLocks locks =
      drafts_.LocksOf(draft.collection_id, draft.uid, draft.path);
  Result<registry::Version> version;
  uint64_t bytes = 0;
  {
    // No write or truncate of this draft runs while it becomes a version;
    // those that come after it fail with EBADF. With -o draftpassthrough,
    // the kernel's writers of it have closed and counted their bytes.
    REGFS_ASSIGN_OR_RETURN(const auto held, LockForPublish(locks));
    if (const uint64_t used = draft_usage_.Of(draft.uid);
        options_.draft_passthrough && used > 0) {
      REGFS_ASSIGN_OR_RETURN(const auto limits, registry_.GetDraftLimits());
      if (used > limits.quota_bytes) {
        return registry::Fail(
            Code::kConflict,
            fmt::format("uid {}'s drafts are past the draft quota of {} "
                        "bytes ({} in use): remove or shrink drafts first",
                        draft.uid, limits.quota_bytes, used));
      }
    }
    bytes = TreeBytes(DraftPath(draft)) +
            TreeBytes(DraftPath({draft.collection_id, draft.uid, sidecar}));
    version = registry_.Publish(who, request);
    if (version) {
      locks.root->published = true;
      for (const auto& merged : locks.merged) merged->published = true;
    }
  }
  if (!version) return version;
  spdlog::info("{} (uid {}) published draft {}/{} of uid {} as {}/v{}{}",
               who.user, who.uid, request.collection, draft.path, draft.uid,
               request.collection, version->number,
               request.target == registry::kLatest ||
                       registry::ParseVersionName(request.target)
                   ? std::string()
                   : fmt::format(" with alias {}", request.target));
  drafts_.Remove(draft.collection_id, draft.uid, draft.path);
  drafts_.Remove(draft.collection_id, draft.uid, sidecar);
  draft_usage_.Add(draft.uid, -static_cast<int64_t>(bytes));
  const Ino parent =
      MakeIno(NodeType::kCollection, static_cast<uint64_t>(*collection_id));
  notifier_.InvalidateEntry(parent, draft.path);
  notifier_.InvalidateEntry(parent, sidecar);
  if (!request.target.empty()) notifier_.InvalidateEntry(parent, request.target);
  notifier_.InvalidateEntry(parent, std::string(registry::kLatest));
  notifier_.InvalidateEntry(parent, registry::VersionName(version->number));
  for (const std::string& alias : version->aliases) {
    notifier_.InvalidateEntry(parent, alias);
  }
  return version;
}

Reply FileSystem::PublishedXattr(const Request& r, const Node& dir,
                                 size_t size) {
  registry::HistoryFilter filter;
  filter.collection = dir.collection;
  auto events = registry_.History(filter);
  if (!events) return Refuse(r, "getxattr user.regfs.published", events.error());
  std::string value;
  for (auto it = events->rbegin(); it != events->rend(); ++it) {
    if (it->type == registry::EventType::kVersionCreate && it->uid == r.uid &&
        it->new_version) {
      value = registry::VersionName(*it->new_version);
      break;
    }
  }
  if (value.empty()) return ErrorReply{ENODATA};
  if (size == 0) return XattrSizeReply{value.size()};
  if (size < value.size()) return ErrorReply{ERANGE};
  return BufReply{std::move(value)};
}

void FileSystem::ResetDraftUsage() {
  auto usage = registry_.drafts().Usage();
  if (!usage) {
    spdlog::warn("counting the drafts' disk use failed: {}",
                 usage.error().message);
    return;
  }
  draft_usage_.Reset(*usage);
}

void FileSystem::CollectDrafts(std::string_view why) {
  drafts_collected_ms_.store(registry::NowMs(), std::memory_order_relaxed);
  auto limits = registry_.GetDraftLimits();
  if (!limits) {
    spdlog::warn("draft limits unreadable: {}", limits.error().message);
    return;
  }
  auto report = registry_.CollectDrafts(limits->idle);
  if (!report) {
    spdlog::warn("collecting drafts ({}) failed: {}", why,
                 report.error().message);
  } else if (report->abandoned + report->published > 0) {
    spdlog::info("removed {} abandoned drafts and {} published leftovers "
                 "({} bytes) ({})",
                 report->abandoned, report->published, report->bytes_removed,
                 why);
  }
  ResetDraftUsage();
}

}  // namespace regfs::fs
