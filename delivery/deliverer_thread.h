// A Deliverer on a thread of its own, for a process that serves other
// things meanwhile (the mount daemon: tools/mount_delivery.cc).
#ifndef REGFS_DELIVERY_DELIVERER_THREAD_H_
#define REGFS_DELIVERY_DELIVERER_THREAD_H_

#include <atomic>
#include <thread>

#include "delivery/deliverer.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::delivery {

class DelivererThread final {
 public:
  // Starts delivering as `who` (an admin of the store) on a new thread.
  // `registry` must outlive this.
  DelivererThread(registry::Registry& registry, registry::Identity who,
                  DelivererOptions options);
  DelivererThread(const DelivererThread&) = delete;
  DelivererThread& operator=(const DelivererThread&) = delete;
  // Stops after the delivery in hand (if any), lets go of the lease so
  // that another deliverer takes over at once, and joins the thread.
  ~DelivererThread();

 private:
  Deliverer deliverer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_DELIVERER_THREAD_H_
