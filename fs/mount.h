// `regfs mount`: serves a store through FUSE until unmounted.
#ifndef REGFS_FS_MOUNT_H_
#define REGFS_FS_MOUNT_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace regfs::registry {
class Registry;
}  // namespace regfs::registry

namespace regfs::fs {

// Work the mount daemon does beside serving the file system, given by the
// caller so that fs/ depends on none of it: `regfs mount` gives the
// delivery of automations (tools/mount_delivery.cc). Destroying it stops
// it.
class MountService {
 public:
  virtual ~MountService() = default;
};
// Starts a service on the daemon's Registry; null when it has nothing to
// run. Called in the serving process (after it has daemonized) once the
// mount answers; the service is destroyed at unmount, before the Registry.
using StartMountService = std::function<std::unique_ptr<MountService>(
    registry::Registry& registry)>;

struct MountOptions {
  std::filesystem::path store;
  std::filesystem::path mountpoint;
  // -o options, one per element ("allow_other", "ro", "debug", ...).
  std::vector<std::string> fuse_options;
  bool foreground = false;
  std::string log_level = "info";  // spdlog level name
  std::string log_file;            // empty: stderr (syslog-free)
  // Not empty: a frozen, read-only mount of the registry as it was right
  // after this moment (registry::ParseMoment's forms; "now": mount time).
  std::string as_of;
  // Not started for a frozen mount (--as-of), which sees no changes.
  StartMountService service;
};

// Mounts `options.store` at `options.mountpoint`. Unless `foreground`,
// returns in the parent once the mount answers while a child serves it.
// Returns the process exit code (0 on a clean unmount); prints one-line
// errors to stderr.
int RunMount(const MountOptions& options);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_H_
