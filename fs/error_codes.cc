#include "fs/error_codes.h"

#include <cerrno>
#include <cstddef>
#include <iterator>

namespace regfs::fs {
namespace {

using registry::Code;

// What a refusal or failure of each code is through the mount: its errno
// (DESIGN.md's table) and whether it means that the store or the system
// failed. Row i is the row of the code whose value is i.
struct CodeInMount {
  Code code;
  int err;
  bool failure;
};

constexpr CodeInMount kCodes[] = {
    {Code::kNotFound, ENOENT, false},
    {Code::kAlreadyExists, EEXIST, false},
    {Code::kPermissionDenied, EACCES, false},
    {Code::kNotPermitted, EPERM, false},
    {Code::kInvalidArgument, EINVAL, false},
    {Code::kConflict, EBUSY, false},
    // The mount asks again with the groups; seen here, it failed to.
    {Code::kGroupsUnread, EIO, true},
    {Code::kCorruption, EIO, true},
    {Code::kIoError, EIO, true},
};

constexpr bool RowsInCodeOrder() {
  for (size_t i = 0; i < std::size(kCodes); ++i) {
    if (static_cast<size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(RowsInCodeOrder(), "kCodes must list the codes in order");
static_assert(std::size(kCodes) == static_cast<size_t>(Code::kIoError) + 1,
              "a registry::Code without its errno");

// An int cast to Code that names none is a failure.
const CodeInMount& RowOf(Code code) {
  const auto i = static_cast<size_t>(code);
  return i < std::size(kCodes) ? kCodes[i]
                               : kCodes[static_cast<size_t>(Code::kIoError)];
}

}  // namespace

int ErrnoOf(const registry::Error& error) { return RowOf(error.code).err; }

bool IsFailure(const registry::Error& error) {
  return RowOf(error.code).failure;
}

}  // namespace regfs::fs
