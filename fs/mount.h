// `regfs mount`: serves a store through FUSE until unmounted.
#ifndef REGFS_FS_MOUNT_H_
#define REGFS_FS_MOUNT_H_

#include <filesystem>
#include <string>
#include <vector>

namespace regfs::fs {

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
};

// Mounts `options.store` at `options.mountpoint`. Unless `foreground`,
// returns in the parent once the mount answers while a child serves it.
// Returns the process exit code (0 on a clean unmount); prints one-line
// errors to stderr.
int RunMount(const MountOptions& options);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_H_
