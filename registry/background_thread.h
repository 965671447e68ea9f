// Threads of the daemon that are not libfuse's (the registry's listeners,
// the mount's notifier and watcher). They start with the termination
// signals blocked, as libfuse's workers do, so that SIGTERM and SIGINT
// reach the thread waiting in fuse_session_loop_mt and end it.
#ifndef REGFS_REGISTRY_BACKGROUND_THREAD_H_
#define REGFS_REGISTRY_BACKGROUND_THREAD_H_

#include <functional>
#include <thread>

namespace regfs::registry {

std::thread StartBackgroundThread(std::function<void()> body);

// Runs `fn` with the termination signals blocked in the calling thread, so
// that every thread it starts starts so (a MountService's).
void WithSignalsBlocked(const std::function<void()>& fn);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_BACKGROUND_THREAD_H_
