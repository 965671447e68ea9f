// The deliverer: reads the history after each automation's position and
// delivers the events it wants, in order, at least once, each attempt in
// the delivery log; retried with exponential backoff for up to a day,
// then marked failed and passed. One per store at a time: it works only
// while it holds the store's lease (Registry::TakeDeliveryLease), which it
// renews as it goes, and a second waits until the first lets go or dies.
#ifndef REGFS_DELIVERY_DELIVERER_H_
#define REGFS_DELIVERY_DELIVERER_H_

#include <atomic>
#include <chrono>
#include <string>

#include "delivery/attempt.h"
#include "registry/automations.h"
#include "registry/registry.h"

namespace regfs::delivery {

struct DelivererOptions {
  // Names this deliverer in the lease: "host:pid" by default.
  std::string holder;
  std::chrono::milliseconds lease_ttl{30'000};
  std::chrono::milliseconds poll{200};
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

class Deliverer {
 public:
  // `who` lists the automations: an admin of the store.
  Deliverer(registry::Registry& registry, registry::Identity who,
            DelivererOptions options);

  // One pass over every automation, if this deliverer holds (or can
  // take) the lease: whether it held it.
  [[nodiscard]] registry::Result<bool> RunOnce();
  // Passes until `stop` is set, then lets go of the lease.
  [[nodiscard]] registry::Status Run(const std::atomic<bool>& stop);

 private:
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
};

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_DELIVERER_H_
