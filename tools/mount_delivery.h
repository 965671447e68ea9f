// Delivery of automations in the mount daemon (issue 16): `regfs mount`
// hands fs::RunMount a service that runs a delivery::DelivererThread on
// the daemon's Registry, so that every mount of a store delivers (one at
// a time, by the store's lease) and fs/ needs nothing of delivery/.
#ifndef REGFS_TOOLS_MOUNT_DELIVERY_H_
#define REGFS_TOOLS_MOUNT_DELIVERY_H_

#include "fs/mount.h"
#include "registry/error.h"

namespace regfs::tools {

// Takes the delivery options out of `options.fuse_options` (they are not
// libfuse's) and sets `options.service`, unless one is -o nodelivery: this
// mount's daemon then delivers no automations.
// Hidden, for tests only: -o delivery_lease_ms=N and -o delivery_retry_ms=N,
// the lease's time and the first retry's wait in milliseconds
// (DelivererOptions::lease_ttl, retry_base). InvalidArgument, for the user,
// on a bad number.
[[nodiscard]] registry::Status SetUpDelivery(fs::MountOptions& options);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_MOUNT_DELIVERY_H_
