// -o draftpassthrough: the kernel reads and writes drafts' files itself
// (FUSE passthrough, as for versions' blobs), so that a draft is written at
// the disk's speed: through the daemon, every byte is copied twice more
// (into the FUSE request, then into the file) and `cp` of a large file
// into a draft runs at a fifth of `cp` to the disk (BENCHMARKS.md).
//
// The daemon sees no write then, so the draft quota (DESIGN.md "Limits")
// is kept where a write starts and ends instead of at each write:
//  - an open or create for writing is refused with EDQUOT while the
//    owner's drafts are at or past the quota;
//  - the file's bytes on disk (st_blocks) join the owner's count at each
//    flush (every close), fsync and last close; past the quota, close(2)
//    and fsync(2) return EDQUOT and the daemon logs who and by how much;
//  - a publish waits for the draft's kernel writers to close, then is
//    refused with EDQUOT while its owner is past the quota: the draft
//    stays, for its owner to shrink or remove.
// One open file can thus pass the quota by what it writes before it is
// closed (at most the disk's free space: then ENOSPC), but never
// unnoticed: the overrun is logged at its close, and that user's opens for
// writing and publishes are refused until they remove drafts.
//
// A kernel writer could also write into a draft after it became a
// version (the daemon can take nothing back from the kernel): a publish
// waits for the draft's kernel writers to close and fails with EBUSY if
// one stays open, where without the option late writes get EBADF.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "fs/file_system.h"
#include "fs/file_system_internal.h"

namespace regfs::fs {

namespace {

// How long a publish waits for the draft's files to close: the kernel
// sends FUSE_RELEASE after close(2) returns, while `mv` may come first.
constexpr auto kReleasePatience = std::chrono::seconds(5);
constexpr auto kReleasePoll = std::chrono::milliseconds(2);

int KernelWritersOf(const DraftRootLocks& locks) {
  int writers = locks.root->kernel_writers.load();
  for (const auto& merged : locks.merged) {
    writers += merged->kernel_writers.load();
  }
  return writers;
}

}  // namespace

bool FileSystem::DraftPassthrough() const {
  return options_.draft_passthrough && passthrough();
}

int FileSystem::BeginKernelWrites(const Request& r, Handle& handle,
                                  const std::filesystem::path& path,
                                  const What& what) {
  if (!handle.writable) return 0;
  struct stat st {};
  struct stat at_path {};
  if (fstat(handle.fd.get(), &st) != 0) return errno == 0 ? EIO : errno;
  // A publish between the open and the lock made the file a blob.
  if (lstat(path.c_str(), &at_path) != 0 || at_path.st_ino != st.st_ino ||
      at_path.st_dev != st.st_dev) {
    return ENOENT;
  }
  const uint64_t used = draft_usage_.Of(handle.owner);
  if (used >= handle.quota) {
    return Refuse(r, what, EDQUOT,
                  fmt::format("uid {}'s drafts are at the draft quota of {} "
                              "bytes ({} in use); publish or remove drafts",
                              handle.owner, handle.quota, used))
        .err;
  }
  handle.counted = DiskBytes(st);
  handle.kernel_writer = true;
  handle.draft->kernel_writers.fetch_add(1);
  return 0;
}

void FileSystem::KernelWritesRefused(Handle& handle) {
  if (!handle.kernel_writer) return;
  handle.kernel_writer = false;
  handle.draft->kernel_writers.fetch_sub(1);
}

int FileSystem::RecountKernelWrites(const Request* r, Handle& handle,
                                    const What& what) {
  if (!handle.kernel_writer) return 0;
  struct stat st {};
  if (fstat(handle.fd.get(), &st) != 0) return errno == 0 ? EIO : errno;
  // A removed draft's bytes left the count when it was removed.
  const uint64_t now = st.st_nlink == 0 ? handle.counted : DiskBytes(st);
  draft_usage_.Add(handle.owner, static_cast<int64_t>(now) -
                                     static_cast<int64_t>(handle.counted));
  handle.counted = now;
  const uint64_t used = draft_usage_.Of(handle.owner);
  if (used <= handle.quota) return 0;
  const std::string reason =
      fmt::format("uid {}'s drafts passed the draft quota of {} bytes by {} "
                  "(written by the kernel, counted at close); publish or "
                  "remove drafts",
                  handle.owner, handle.quota, used - handle.quota);
  if (r != nullptr) return Refuse(*r, what, EDQUOT, reason).err;
  spdlog::warn("{}: {}", what.str(), reason);
  return EDQUOT;
}

void FileSystem::Release(Handle& handle) {
  if (!handle.kernel_writer) return;
  try {
    auto what = [&] { return "close of " + PathOf(handle.ino); };
    (void)RecountKernelWrites(nullptr, handle, what);
  } catch (const std::exception& e) {
    spdlog::warn("counting a closed draft's bytes: {}", e.what());
  }
  // A publish waits for this, whatever happened above.
  KernelWritesRefused(handle);
}

registry::Result<std::vector<std::unique_lock<std::shared_mutex>>>
FileSystem::LockForPublish(const DraftRootLocks& locks) {
  const auto deadline = std::chrono::steady_clock::now() + kReleasePatience;
  for (;;) {
    // Lock order: the root, then the roots moved into it, in the order
    // they came (writers take one).
    std::vector<std::unique_lock<std::shared_mutex>> held;
    held.emplace_back(locks.root->mu);
    for (const auto& merged : locks.merged) held.emplace_back(merged->mu);
    const int writers = KernelWritersOf(locks);
    if (writers == 0) return held;
    if (std::chrono::steady_clock::now() > deadline) {
      return registry::Fail(
          registry::Code::kConflict,
          fmt::format("{} of the draft's files are still open for writing "
                      "(-o draftpassthrough): close them, then publish",
                      writers));
    }
    held.clear();
    std::this_thread::sleep_for(kReleasePoll);
  }
}

}  // namespace regfs::fs
