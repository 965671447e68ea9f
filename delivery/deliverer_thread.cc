#include "delivery/deliverer_thread.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace regfs::delivery {

DelivererThread::DelivererThread(registry::Registry& registry,
                                 registry::Identity who,
                                 DelivererOptions options)
    : deliverer_(registry, std::move(who), std::move(options)) {
  thread_ = std::thread([this] {
    const registry::Status done = deliverer_.Run(stop_);
    if (!done) {
      spdlog::warn("automations: letting go of the delivery lease: {}",
                   done.error().message);
    }
  });
}

DelivererThread::~DelivererThread() {
  stop_.store(true);
  deliverer_.Stop();
  thread_.join();
}

}  // namespace regfs::delivery
