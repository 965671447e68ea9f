#include "fs/link_target.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "registry/names.h"

namespace regfs::fs {
namespace {

using registry::Code;
using registry::Fail;
using registry::Printable;

// The components of an absolute path, without empty and `.` ones.
std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> parts = registry::SplitPath(path);
  std::erase_if(
      parts, [](std::string_view part) { return part.empty() || part == "."; });
  return parts;
}

}  // namespace

registry::Result<std::string> MountRelativeTarget(std::string_view mountpoint,
                                                  std::string_view collection,
                                                  std::string_view target) {
  if (target.empty() || target.front() != '/') return std::string(target);
  auto invalid = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument,
                fmt::format("symlink target '{}' {}", Printable(target), why));
  };
  if (target.find('\0') != std::string_view::npos) {
    return invalid("contains NUL");
  }
  const std::vector<std::string_view> parts = Components(target);
  for (std::string_view part : parts) {
    if (part == "..") {
      return invalid("has a '..' component: give the path without it");
    }
  }
  if (mountpoint.empty() || mountpoint.front() != '/') {
    return invalid("is absolute, and this mount does not know its mount point");
  }
  const std::vector<std::string_view> mount = Components(mountpoint);
  const bool under_mount =
      parts.size() > mount.size() &&
      std::equal(mount.begin(), mount.end(), parts.begin());
  if (!under_mount) {
    return invalid(fmt::format(
        "is not under this mount's mount point {}: an absolute target must "
        "name a version or alias as {}/{}/NAME",
        mountpoint, mountpoint == "/" ? "" : mountpoint, collection));
  }
  const size_t rest = parts.size() - mount.size();
  const std::string_view in_collection = parts[mount.size()];
  if (in_collection != collection) {
    return invalid(fmt::format(
        "is in collection '{}': aliases cannot leave their collection '{}'",
        Printable(in_collection), collection));
  }
  if (rest != 2) {
    return invalid(fmt::format("does not name a version or alias of '{}'",
                               collection));
  }
  return std::string(parts.back());
}

}  // namespace regfs::fs
