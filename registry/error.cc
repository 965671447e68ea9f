#include "registry/error.h"

#include <fmt/format.h>

#include <cstring>

namespace regfs::registry {

Error PosixError(std::string_view what, std::string_view path, int err) {
  const Code code = err == ENOENT ? Code::kNotFound : Code::kIoError;
  if (path.empty())
    return Error{code, fmt::format("{}: {}", what, std::strerror(err))};
  return Error{code, fmt::format("{} {}: {}", what, path, std::strerror(err))};
}

}  // namespace regfs::registry
