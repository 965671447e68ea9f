// Checks a mount point before `regfs mount` mounts on it, without
// hanging on a FUSE mount whose daemon is stuck or dead.
#ifndef REGFS_FS_MOUNT_POINT_H_
#define REGFS_FS_MOUNT_POINT_H_

#include <filesystem>
#include <optional>
#include <string>

namespace regfs::fs {

// Checks the mount point; detaches a dead FUSE mount left by a killed
// daemon. Returns an error message, or nullopt when the mount can go on.
std::optional<std::string> PrepareMountpoint(
    const std::filesystem::path& mountpoint);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_POINT_H_
