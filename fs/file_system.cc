#include "fs/file_system.h"

#include <spdlog/spdlog.h>

#include <climits>
#include <utility>

namespace regfs::fs {

FileSystem::FileSystem(registry::Registry& registry, FileSystemOptions options)
    : registry_(registry),
      options_(options),
      started_(registry::NowMs()),
      callers_(registry),
      staging_(&Staging::Clock::now, options.staged_private_lifetime,
               options.staged_commit_after),
      histories_(options.as_of),
      watcher_(
          registry, [this](const auto& events) { OnEvents(events); },
          [this] { OnTick(); }, options.watch_interval) {}

FileSystem::~FileSystem() { Stop(); }

void FileSystem::Start(fuse_session* session) {
  notifier_.Start(session);
  watcher_.Start();
  if (options_.as_of) return;
  auto listener =
      registry_.Listen([this](uint64_t seq) { OnAnnounced(seq); });
  if (listener) {
    listener_ = std::move(*listener);
  } else {
    spdlog::warn(
        "changes made by other processes will show within {} ms, not at "
        "once: {}",
        options_.watch_interval.count(), listener.error().message);
  }
}

void FileSystem::Stop(const std::function<void()>& unstick) {
  listener_.reset();
  watcher_.Stop();
  // No tick runs now. A pending symlink of an alias name is committed,
  // never lost; the kernel is gone, so nothing is invalidated.
  for (StagedEntry& entry : staging_.TakeAll()) {
    if (Staging::IsStagingOnlyName(entry.name)) {
      spdlog::info("dropped staged symlink {} (uid {}) at unmount: private "
                   "staging, never renamed",
                   entry.name, entry.who.uid);
      continue;
    }
    CommitStaged(entry, "the mount stops", /*invalidate=*/false);
  }
  notifier_.Stop(std::chrono::seconds(2), unstick);
}

void FileSystem::Init(fuse_conn_info* conn) {
  // Reads are answered from the blob's fd; let libfuse splice them.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
    conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  }
  // Aliases move: the kernel must ask readlink every time.
  conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // As large as the kernel allows; libfuse clamps max_write to its 1 MiB
  // buffer, which also sets the kernel's max_pages (1 MiB requests).
  conn->max_readahead = UINT_MAX;
  conn->max_write = 1 << 20;
  spdlog::info("FUSE protocol {}.{}, splice {}", conn->proto_major,
               conn->proto_minor, (conn->want & FUSE_CAP_SPLICE_WRITE) != 0);
}

}  // namespace regfs::fs
