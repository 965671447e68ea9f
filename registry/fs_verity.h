// fs-verity on blob files: once enabled, the kernel checks every page it
// reads from the file against a Merkle tree (SHA-256, 4096-byte blocks)
// and answers EIO for a page that does not match, whoever reads it (the
// daemon, or the kernel itself under passthrough reads). The file becomes
// read-only for good. Not every kernel and file system has it.
#ifndef REGFS_REGISTRY_FS_VERITY_H_
#define REGFS_REGISTRY_FS_VERITY_H_

#include <filesystem>

#include "registry/error.h"

namespace regfs::registry {

enum class VerityState {
  kEnabled,      // the file is protected (now, or it already was)
  kUnsupported,  // this kernel or file system lacks fs-verity
};

// Enables fs-verity on the file open read-only at `fd` (no writable
// descriptor of it may be open anywhere: ETXTBSY otherwise). The caller
// needs write permission on the file. An IoError names `path`.
Result<VerityState> EnableVerity(int fd, const std::filesystem::path& path);

// Whether fs-verity protects the file open at `fd`.
bool HasVerity(int fd);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_FS_VERITY_H_
