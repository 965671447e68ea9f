#include "registry/error.h"

#include <fmt/format.h>

#include <cstring>

#include "registry/enum_names.h"

namespace regfs::registry {

namespace {

constexpr EnumName<Code> kCodeNames[] = {
    {Code::kNotFound, "not found"},
    {Code::kAlreadyExists, "already exists"},
    {Code::kPermissionDenied, "permission denied"},
    {Code::kNotPermitted, "not permitted"},
    {Code::kInvalidArgument, "invalid argument"},
    {Code::kConflict, "conflict"},
    {Code::kCorruption, "corruption"},
    {Code::kIoError, "I/O error"},
};

}  // namespace

std::string_view CodeName(Code code) {
  return NameOf(kCodeNames, code, "unknown");
}

Error PosixError(std::string_view what, std::string_view path, int err) {
  const Code code = err == ENOENT ? Code::kNotFound : Code::kIoError;
  if (path.empty())
    return Error{code, fmt::format("{}: {}", what, std::strerror(err))};
  return Error{code, fmt::format("{} {}: {}", what, path, std::strerror(err))};
}

}  // namespace regfs::registry
