// `regfs automation test NAME`: one sample event delivered now, as the
// deliverer would deliver a real one, on the store directory and in a
// mount's daemon (the control file's automation_test op) alike.
#ifndef REGFS_DELIVERY_SAMPLE_DELIVERY_H_
#define REGFS_DELIVERY_SAMPLE_DELIVERY_H_

#include <string_view>

#include "delivery/deliverer.h"
#include "registry/automations.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::delivery {

// Delivers SampleEvent to automation `name` (admins only, as
// Registry::GetAutomation) with `options`' timeouts. The attempt comes
// back as a row of the delivery log (seq 0, attempt 1, outcome ok or
// failed) but is not logged; a failed delivery is not an error here.
[[nodiscard]] registry::Result<registry::DeliveryRecord> DeliverSample(
    registry::Registry& registry, const registry::Identity& who,
    std::string_view name, const DelivererOptions& options);

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_SAMPLE_DELIVERY_H_
