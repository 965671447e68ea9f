#include "delivery/sample_delivery.h"

#include "delivery/event_body.h"

namespace regfs::delivery {

namespace reg = regfs::registry;

reg::Result<reg::DeliveryRecord> DeliverSample(reg::Registry& registry,
                                               const reg::Identity& who,
                                               std::string_view name,
                                               const DelivererOptions& options) {
  REGFS_ASSIGN_OR_RETURN(const reg::Automation found,
                         registry.GetAutomation(who, name));
  const reg::Event sample = SampleEvent(found.spec);
  const Attempt done = DeliverEvent(found, sample, options);
  reg::DeliveryRecord record;
  record.automation = found.spec.name;
  record.seq = sample.seq;
  record.time = reg::NowMs();
  record.outcome =
      done.ok ? reg::DeliveryOutcome::kOk : reg::DeliveryOutcome::kFailed;
  record.status = done.status;
  record.latency_ms = done.latency_ms;
  record.message = done.message;
  return record;
}

}  // namespace regfs::delivery
