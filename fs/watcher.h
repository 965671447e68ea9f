// Notices changes made to the store from outside this mount (the CLI,
// other mounts) and hands the new events to a callback that invalidates
// the kernel's entries. Two ways in: a writer on this machine announces
// each change and waits (registry/change_listeners.h), and the mount's
// listener calls CatchUp before acknowledging, so the change shows before
// the writer returns; and, as the fallback (a writer that could not reach
// us within its deadline), a thread polls Registry::LastSeq every 200 ms.
// Both hand each event to the callback exactly once. The callback also
// runs for this mount's own changes; invalidating twice is harmless.
//
// Thread-safe: Start and Stop from one thread; CatchUp from any; the
// events callback runs on the watcher's thread or CatchUp's caller, one at
// a time (under poll_mu_); on_tick on the watcher's thread.
#ifndef REGFS_FS_WATCHER_H_
#define REGFS_FS_WATCHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "registry/mutex.h"
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
  // Hands on, before returning, every event up to at least `seq` (if the
  // store has them), unless that was done already.
  void CatchUp(uint64_t seq);

 private:
  void Run() EXCLUDES(mu_, poll_mu_);
  void Poll() REQUIRES(poll_mu_);
  // Waits up to `timeout` for Stop; whether it came.
  bool AwaitStop(std::chrono::milliseconds timeout) EXCLUDES(mu_);

  registry::Registry& registry_;
  const EventsFn on_events_;
  const TickFn on_tick_;
  const std::chrono::milliseconds interval_;
  // Lock order: poll_mu_, then whatever the events callback takes; mu_
  // is never held with it.
  Mutex poll_mu_;  // held while handing events on
  uint64_t seen_seq_ GUARDED_BY(poll_mu_) = 0;
  Mutex mu_;
  CondVar cv_;  // stopping_ changed
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace regfs::fs

#endif  // REGFS_FS_WATCHER_H_
