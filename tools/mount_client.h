// MountClient: the Store of a regfs mount, for everyone who may use the
// store but not open its directory (members, jobs, containers). Each call
// is one request to the mount's control file .regfs/ctl
// (fs/control_file.h), answered by the daemon as the calling process:
// the same rules, messages and therefore exit codes as on the store.
#ifndef REGFS_TOOLS_MOUNT_CLIENT_H_
#define REGFS_TOOLS_MOUNT_CLIENT_H_

#include <filesystem>
#include <memory>

#include "tools/store.h"

namespace regfs::tools {

// FUSE_SUPER_MAGIC: statfs(2)'s f_type of every FUSE mount.
inline constexpr long kFuseSuperMagic = 0x65735546;

// Whether `path` is the root of a regfs mount: a FUSE file system with a
// .regfs/ctl in it.
bool IsRegfsMount(const std::filesystem::path& path);

// A Store over the mount at `mountpoint` (IsRegfsMount).
std::unique_ptr<Store> MakeMountClient(std::filesystem::path mountpoint);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_MOUNT_CLIENT_H_
