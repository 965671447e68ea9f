// What the watcher reports: other processes' changes become kernel
// invalidations (OnEvents, OnAnnounced), and expired staged symlinks
// are dropped or committed (OnTick).
#include "fs/file_system.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fs/file_system_internal.h"
#include "registry/names.h"

namespace regfs::fs {

namespace {

// How long an announced change waits for the kernel to take this mount's
// invalidations: well within the writer's deadline, so that the writer
// hears from us even when a notification is stuck behind a directory lock
// (e.g. held by a rename of ours that is announcing to that writer's own
// mount).
constexpr auto kAnnouncedFlushPatience = registry::kAnnounceDeadline / 2;

}  // namespace

void FileSystem::OnEvents(const std::vector<registry::Event>& events) {
  // The registry's cache first: the kernel asks again as soon as it is
  // told, and must then get the new state.
  registry_.Refresh(events);
  bool roles_changed = false;
  for (const registry::Event& e : events) {
    if (InvalidateFor(e)) roles_changed = true;
  }
  if (roles_changed) callers_.InvalidateRoles();
}

bool FileSystem::InvalidateFor(const registry::Event& e) {
  using registry::EventType;
  const std::optional<int64_t> id = KnownCollectionId(e.collection);
  const Ino dir =
      id ? MakeIno(NodeType::kCollection, static_cast<uint64_t>(*id)) : 0;
  switch (e.type) {
    case EventType::kCollectionCreate:
      notifier_.InvalidateEntry(kRootIno, e.collection);
      break;
    case EventType::kCollectionDelete:
      InvalidateDeleted(e, id, dir);
      break;
    case EventType::kVersionCreate:
    case EventType::kVersionDelete:
      InvalidateVersions(e, dir);
      break;
    case EventType::kAliasCreate:
    case EventType::kAliasMove:
    case EventType::kAliasRemove:
    case EventType::kAliasRename:
      // A change of this mount's whose reply updated the kernel already.
      if (!dir || answered_.Take(e.seq)) break;
      notifier_.InvalidateEntry(dir, e.alias);
      if (!e.renamed_to.empty()) notifier_.InvalidateEntry(dir, e.renamed_to);
      break;
    case EventType::kProtect:
    case EventType::kUnprotect:
      InvalidateProtection(e);
      break;
    case EventType::kRoleGrant:
    case EventType::kRoleRevoke:
      return true;
    case EventType::kTagAdd:
    case EventType::kTagRemove:
      break;  // xattrs are not cached by the kernel
    case EventType::kAutomationAdd:
    case EventType::kAutomationRemove:
      break;  // nothing the mount shows
  }
  return false;
}

void FileSystem::InvalidateDeleted(const registry::Event& e,
                                   std::optional<int64_t> id, Ino dir) {
  // The name may already hold a new collection (a later event): forget
  // only an id that is gone. A frozen mount still shows it.
  if (id && !options_.as_of) {
    auto still = registry_.GetCollectionById(*id);
    if (!still && still.error().IsNotFound()) {
      ForgetCollection(e.collection);
      notifier_.InvalidateInode(dir);
    }
  }
  notifier_.InvalidateEntry(kRootIno, e.collection);
}

void FileSystem::InvalidateVersions(const registry::Event& e, Ino dir) {
  if (!dir) return;
  for (auto number : {e.old_version, e.new_version}) {
    if (number) notifier_.InvalidateEntry(dir, registry::VersionName(*number));
  }
  notifier_.InvalidateEntry(dir, std::string(registry::kLatest));
  if (e.type == registry::EventType::kVersionDelete && e.old_version) {
    ForgetVersion(e.collection, *e.old_version);
  }
}

void FileSystem::InvalidateProtection(const registry::Event& e) {
  // The alias snapshots carry `protected`: drop them everywhere.
  for (int64_t cid : KnownCollectionIds()) {
    notifier_.InvalidateEntry(
        MakeIno(NodeType::kCollection, static_cast<uint64_t>(cid)), e.alias);
  }
}

void FileSystem::OnAnnounced(uint64_t seq) {
  watcher_.CatchUp(seq);
  if (!notifier_.Flush(kAnnouncedFlushPatience)) {
    spdlog::debug("change {}: the kernel has not taken every invalidation "
                  "within {} ms",
                  seq, kAnnouncedFlushPatience.count());
  }
}

void FileSystem::OnTick() {
  // Abandoned drafts, hourly (drafts-fs).
  constexpr registry::TimeMs kDraftCollectInterval = 3600 * 1000;
  if (!options_.as_of &&
      registry::NowMs() - drafts_collected_ms_.load(std::memory_order_relaxed) >
          kDraftCollectInterval) {
    CollectDrafts("hourly");
  }
  for (const StagedEntry& entry : staging_.Expire()) {
    if (!Staging::IsStagingOnlyName(entry.name)) {
      CommitStaged(entry, "it was not renamed in time", /*invalidate=*/true);
      continue;
    }
    spdlog::info("dropped staged symlink {} (uid {}): private staging, "
                 "never renamed",
                 entry.name, entry.who.uid);
    notifier_.InvalidateEntry(
        MakeIno(NodeType::kCollection,
                static_cast<uint64_t>(entry.collection_id)),
        entry.name);
  }
}

}  // namespace regfs::fs
