// The one mapping from registry errors to the errno a shell user expects
// (DESIGN.md's errno table).
#ifndef REGFS_FS_ERROR_CODES_H_
#define REGFS_FS_ERROR_CODES_H_

#include "registry/error.h"

namespace regfs::fs {

// NotFound -> ENOENT, AlreadyExists -> EEXIST, PermissionDenied -> EACCES,
// NotPermitted -> EPERM, InvalidArgument -> EINVAL, Conflict -> EBUSY,
// Corruption and IoError -> EIO.
int ErrnoOf(const registry::Error& error);

// True for the errors that mean "the store is broken or the system failed"
// (logged at warn), as opposed to a refusal (logged at info).
bool IsFailure(const registry::Error& error);

}  // namespace regfs::fs

#endif  // REGFS_FS_ERROR_CODES_H_
