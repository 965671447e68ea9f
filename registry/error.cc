#include "registry/error.h"

#include <fmt/format.h>

#include <cstring>

namespace regfs::registry {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kPermissionDenied:
      return "permission denied";
    case Code::kNotPermitted:
      return "not permitted";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kConflict:
      return "conflict";
    case Code::kCorruption:
      return "corruption";
    case Code::kIoError:
      return "I/O error";
  }
  return "unknown";
}

Error PosixError(std::string_view what, std::string_view path, int err) {
  const Code code = err == ENOENT ? Code::kNotFound : Code::kIoError;
  if (path.empty())
    return Error{code, fmt::format("{}: {}", what, std::strerror(err))};
  return Error{code, fmt::format("{} {}: {}", what, path, std::strerror(err))};
}

}  // namespace regfs::registry
