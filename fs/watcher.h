// Notices changes made to the store from outside this mount (the CLI,
// other mounts) by polling Registry::LastSeq, and hands the new events to
// a callback that invalidates the kernel's entries. With the default
// interval of 200 ms such changes show through the mount well within a
// second. The callback also runs for this mount's own changes; invalidating
// twice is harmless.
//
// Thread-safe: Start and Stop from one thread; the callbacks run on the
// watcher's thread.
#ifndef REGFS_FS_WATCHER_H_
#define REGFS_FS_WATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "registry/registry.h"

namespace regfs::fs {

class Watcher final {
 public:
  using EventsFn = std::function<void(const std::vector<registry::Event>&)>;
  using TickFn = std::function<void()>;

  // `on_events` gets each batch of new events, oldest first; `on_tick`
  // runs once per round (housekeeping).
  Watcher(registry::Registry& registry, EventsFn on_events, TickFn on_tick,
          std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  ~Watcher();

  // Starts watching from the store's newest event.
  void Start();
  void Stop();

 private:
  void Run();
  void Poll();

  registry::Registry& registry_;
  const EventsFn on_events_;
  const TickFn on_tick_;
  const std::chrono::milliseconds interval_;
  uint64_t seen_seq_ = 0;  // the watcher thread's own
  std::mutex mu_;          // guards stopping_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace regfs::fs

#endif  // REGFS_FS_WATCHER_H_
