// The deliverer: reads the history after each automation's position and
// delivers the events it wants, in order, at least once, each attempt in
// the delivery log; retried with exponential backoff for up to a day,
// then marked failed and passed. One per store at a time: it works only
// while it holds the store's lease (Registry::TakeDeliveryLease), which it
// renews as it goes, and a second waits until the first lets go or dies.
//
// Run wakes at once when its Registry commits a change or hears of one
// (Registry::ObserveChanges: this process's commits, and, where the
// process listens, other processes' and other machines' announcements);
// it looks anyway every `poll`, for changes nothing announced (a writer
// that missed its announcement deadline) and for retries coming due. A
// pass that delivered nothing (no automations, or another process holds
// the lease) lets the next start no sooner than `idle_gap` after it: a
// burst of changes to a store without automations costs a pass per gap,
// not one per change (each a wake-up and a read that competed with the
// changes themselves, issue 15), and a new automation's first event
// waits at most that long. No write either way.
#ifndef REGFS_DELIVERY_DELIVERER_H_
#define REGFS_DELIVERY_DELIVERER_H_

#include <atomic>
#include <chrono>
#include <string>

#include "delivery/attempt.h"
#include "registry/automations.h"
#include "registry/mutex.h"
#include "registry/registry.h"
#include "registry/thread_annotations.h"

namespace regfs::delivery {

struct DelivererOptions {
  // Names this deliverer in the lease: "host:pid" by default.
  std::string holder;
  std::chrono::milliseconds lease_ttl{30'000};
  // The fallback look when nothing wakes it (at most a third of the
  // lease's time, so that the holder renews it in time).
  std::chrono::milliseconds poll{1'000};
  // The least time from the start of a pass that delivered nothing to the
  // start of the next.
  std::chrono::milliseconds idle_gap{25};
  // Backoff: first retry after `retry_base`, doubling up to `retry_cap`;
  // after `give_up` since the first attempt, the event is failed.
  std::chrono::milliseconds retry_base{1'000};
  std::chrono::milliseconds retry_cap{3'600'000};
  std::chrono::milliseconds give_up{24LL * 3'600'000};
  std::chrono::milliseconds exec_timeout{60'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds http_timeout{15'000};
};

// One attempt at delivering `event` for `automation` (not logged).
Attempt DeliverEvent(const registry::Automation& automation,
                     const registry::Event& event,
                     const DelivererOptions& options);

// Thread safety: RunOnce and Run on one thread at a time; Wake and Stop
// from any thread.
class Deliverer {
 public:
  // `who` lists the automations: an admin of the store.
  Deliverer(registry::Registry& registry, registry::Identity who,
            DelivererOptions options);

  // One pass over every automation, if this deliverer holds (or can
  // take) the lease: whether it held it. A store without automations is
  // passed without taking the lease (false).
  [[nodiscard]] registry::Result<bool> RunOnce();
  // Passes until `stop` is set (or Stop), then lets go of the lease.
  [[nodiscard]] registry::Status Run(const std::atomic<bool>& stop);
  // Starts the next pass now (any thread; cheap: a change's callback).
  void Wake();
  // Ends Run at once if it waits, else after the delivery in hand.
  void Stop();

 private:
  // Takes or renews the lease: whether it is held. While held, it is
  // renewed only once a quarter of its time has passed, so that a pass
  // and a delivery cost no write (and no sync) in between.
  registry::Result<bool> Lease();
  // Whether Run should end: `stop` is set or Stop was called.
  bool Stopping();
  // Waits until woken (but not before `not_before`), stopped, or `poll`
  // has passed.
  void Sleep(const std::atomic<bool>& stop,
             std::chrono::steady_clock::time_point not_before);
  // Delivers what `a` has pending, stopping at an event that is not due.
  registry::Status Work(const registry::Automation& a);
  // Delivers `event` now if it is due: whether the automation may go on
  // to its next event.
  registry::Result<bool> TryDeliver(const registry::Automation& a,
                                    const registry::Event& event);

  registry::Registry& registry_;
  registry::Identity who_;
  DelivererOptions options_;
  // Run's flag: a pass stops between two deliveries once it is set.
  const std::atomic<bool>* stop_ = nullptr;
  // Whether the lease was held when last taken or renewed, and when
  // (Run's thread only).
  bool held_ = false;
  // Whether the last pass found automations (Run's thread only).
  bool had_automations_ = false;
  std::chrono::steady_clock::time_point leased_at_{};
  Mutex mu_;
  CondVar cv_;  // woken_ or stopped_ set
  bool woken_ GUARDED_BY(mu_) = false;
  bool in_gap_ GUARDED_BY(mu_) = false;  // Sleep waits for `not_before`
  bool stopped_ GUARDED_BY(mu_) = false;
};

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_DELIVERER_H_
