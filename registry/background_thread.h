// Threads of the daemon that are not libfuse's. They start with the
// termination signals blocked, as libfuse's workers do, so that SIGTERM and
// SIGINT reach the thread waiting in fuse_session_loop_mt and end it.
#ifndef REGFS_FS_BACKGROUND_THREAD_H_
#define REGFS_FS_BACKGROUND_THREAD_H_

#include <functional>
#include <thread>

namespace regfs::fs {

std::thread StartBackgroundThread(std::function<void()> body);

// Runs `fn` with the termination signals blocked in the calling thread, so
// that every thread it starts starts so (a MountService's).
void WithSignalsBlocked(const std::function<void()>& fn);

}  // namespace regfs::fs

#endif  // REGFS_FS_BACKGROUND_THREAD_H_
