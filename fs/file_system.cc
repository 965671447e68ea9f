#include "fs/file_system.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <climits>
#include <memory>
#include <string_view>
#include <utility>

namespace regfs::fs {
namespace {

// Keeps the listener that `started` made in `kept`; without one, changes
// made `where` show only at the watcher's next poll, every `interval`.
template <class Listener>
void KeepListener(registry::Result<std::unique_ptr<Listener>> started,
                  std::unique_ptr<Listener>& kept, std::string_view where,
                  std::chrono::milliseconds interval) {
  if (started) {
    kept = std::move(*started);
    return;
  }
  spdlog::warn("changes made {} will show within {} ms, not at once: {}", where,
               interval.count(), started.error().message);
}

}  // namespace

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
          [this] { OnTick(); }, options.watch_interval) {
  // A live mount answers lookups from memory (read_cache.h); the watcher
  // tells the registry of other processes' changes (OnEvents). A frozen
  // mount reads the past, which needs no cache.
  if (!options_.as_of) registry_.EnableReadCache();
}

FileSystem::~FileSystem() { Stop(); }

void FileSystem::Start(fuse_session* session) {
  notifier_.Start(session);
  if (!options_.as_of) CollectDrafts("the mount starts");
  watcher_.Start();
  if (options_.as_of) return;
  const auto announced = [this](uint64_t seq) { OnAnnounced(seq); };
  KeepListener(registry_.Listen(announced), listener_, "by other processes",
               options_.watch_interval);
  KeepListener(registry_.ListenToOtherNodes(announced), nodes_listener_,
               "on other machines", options_.watch_interval);
}

void FileSystem::Stop(const std::function<void()>& unstick) {
  nodes_listener_.reset();
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

namespace {

// libfuse 3.17 keeps the wanted capabilities in 64 bits (want_ext) and
// converts the old 32-bit `want` only where it can: use its setters.
bool Want(fuse_conn_info* conn, uint64_t cap) {
#if FUSE_USE_VERSION >= 317
  return fuse_set_feature_flag(conn, cap);
#else
  if ((conn->capable & cap) == 0) return false;
  conn->want |= static_cast<unsigned>(cap);
  return true;
#endif
}

void Unwant(fuse_conn_info* conn, uint64_t cap) {
#if FUSE_USE_VERSION >= 317
  fuse_unset_feature_flag(conn, cap);
#else
  conn->want &= ~static_cast<unsigned>(cap);
#endif
}

}  // namespace

void FileSystem::Init(fuse_conn_info* conn) {
  // Reads are answered from the blob's fd; let libfuse splice them.
  const bool splice = Want(conn, FUSE_CAP_SPLICE_WRITE);
  if (splice) Want(conn, FUSE_CAP_SPLICE_MOVE);
  // The kernel may keep a symlink's target: a moved alias is a new inode
  // (inode.h), so a cached target is never wrong for its inode, and the
  // name's entry is invalidated at each move.
  Want(conn, FUSE_CAP_CACHE_SYMLINKS);
  Unwant(conn, FUSE_CAP_WRITEBACK_CACHE);
  Unwant(conn, FUSE_CAP_HANDLE_KILLPRIV);
  // As large as the kernel allows; libfuse clamps max_write to its 1 MiB
  // buffer, which also sets the kernel's max_pages (1 MiB requests).
  conn->max_readahead = UINT_MAX;
  conn->max_write = 1 << 20;
  const std::string_view passthrough = NegotiatePassthrough(conn);
  passthrough_status_.store(passthrough.data(), std::memory_order_relaxed);
  spdlog::info("FUSE protocol {}.{}, splice {}, passthrough {}",
               conn->proto_major, conn->proto_minor, splice, passthrough);
  if (options_.draft_passthrough) {
    // Opt-in; without kernel passthrough drafts are written through the
    // daemon as without the option, and the log says so.
    spdlog::info("-o draftpassthrough: {}",
                 passthrough_.load(std::memory_order_relaxed)
                     ? "drafts are read and written by the kernel; the "
                       "quota is counted at close and fsync"
                     : "off, as passthrough is: drafts are written through "
                       "the daemon");
  }
}

// Kernel passthrough of version reads: wanted unless -o nopassthrough,
// granted by Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH. The daemon also
// needs CAP_SYS_ADMIN for each open (PassthroughRefused). Says why not.
std::string_view FileSystem::NegotiatePassthrough(fuse_conn_info* conn) {
  if (!options_.passthrough) return "off (-o nopassthrough)";
#if FUSE_USE_VERSION >= 317
  if (!Want(conn, FUSE_CAP_PASSTHROUGH)) {
    return "off (the kernel does not offer it: Linux 6.9 or later with "
           "CONFIG_FUSE_PASSTHROUGH)";
  }
  // A store on a stacked file system (overlayfs) is refused per open.
  conn->max_backing_stack_depth = 0;
  passthrough_.store(true, std::memory_order_relaxed);
  return "on";
#else
  (void)conn;
  return "off (regfs was built with libfuse < 3.17)";
#endif
}

void FileSystem::PassthroughRefused() {
  if (passthrough_.exchange(false, std::memory_order_relaxed)) {
    passthrough_status_.store(kPassthroughRefused, std::memory_order_relaxed);
    spdlog::warn(
        "passthrough off: the kernel refused to pass a blob through (the "
        "daemon needs CAP_SYS_ADMIN, and the store a non-stacked file "
        "system); reads (and with -o draftpassthrough, drafts' writes) go "
        "through the daemon");
  }
}

}  // namespace regfs::fs
