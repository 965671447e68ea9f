#include "registry/fs_verity.h"

#include <fcntl.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>

namespace regfs::registry {

Result<VerityState> EnableVerity(int fd, const std::filesystem::path& path) {
  fsverity_enable_arg arg{};
  arg.version = 1;
  arg.hash_algorithm = FS_VERITY_HASH_ALG_SHA256;
  arg.block_size = 4096;
  for (;;) {
    if (::ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) == 0) {
      return VerityState::kEnabled;
    }
    switch (errno) {
      case EINTR:
        continue;
      case EEXIST:  // already enabled
        return VerityState::kEnabled;
      case EOPNOTSUPP:  // the kernel or this file system lacks it
      case ENOTTY:      // the file system does not know the ioctl
        return VerityState::kUnsupported;
      default:
        return std::unexpected(
            PosixError("enable fs-verity on", path.string(), errno));
    }
  }
}

bool HasVerity(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, 0, &stx) != 0) return false;
  return (stx.stx_attributes_mask & STATX_ATTR_VERITY) != 0 &&
         (stx.stx_attributes & STATX_ATTR_VERITY) != 0;
}

}  // namespace regfs::registry
