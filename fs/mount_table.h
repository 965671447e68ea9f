// Reads the kernel's mount table (/proc/self/mountinfo) without touching
// the mounts themselves, so it works on a FUSE mount whose daemon is dead
// or stuck.
#ifndef REGFS_FS_MOUNT_TABLE_H_
#define REGFS_FS_MOUNT_TABLE_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace regfs::fs {

// The device of the topmost mount at exactly `path` (as the kernel
// spells it: absolute, symlinks resolved), or nullopt if nothing is
// mounted there in this mount namespace.
std::optional<dev_t> MountedDevice(const std::filesystem::path& path);

// `path` as the kernel would mount on it: symlinks resolved, the last
// component's with readlink(2) only, so that nothing is asked of a file
// system mounted at `path` itself (it may be a dead or stuck FUSE mount).
std::filesystem::path ResolveParent(const std::filesystem::path& path);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_TABLE_H_
