#include "fs/error_codes.h"

#include <cerrno>

namespace regfs::fs {

using registry::Code;

int ErrnoOf(const registry::Error& error) {
  switch (error.code) {
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kNotPermitted:
      return EPERM;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kConflict:
      return EBUSY;
    case Code::kCorruption:
    case Code::kIoError:
      return EIO;
  }
  return EIO;  // an int cast to Code that names none
}

bool IsFailure(const registry::Error& error) {
  return error.code == Code::kCorruption || error.code == Code::kIoError;
}

}  // namespace regfs::fs
