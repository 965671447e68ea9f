// Absolute symlink targets through the mount. DESIGN.md accepts an
// absolute target only when it names a version or alias under this mount's
// own mount point; the registry knows no mount point and refuses absolute
// targets, so the mount makes them relative first. Pure logic, no I/O: the
// path is compared as written (after dropping empty and `.` components),
// never resolved, so that the daemon never looks itself up.
#ifndef REGFS_FS_LINK_TARGET_H_
#define REGFS_FS_LINK_TARGET_H_

#include <string>
#include <string_view>

#include "registry/error.h"

namespace regfs::fs {

// `target` of a symlink made in collection `collection` of the mount at
// `mountpoint` (absolute, as the kernel spells it): a relative target is
// returned as it is; `<mountpoint>/<collection>/<name>` becomes `<name>`.
// Any other absolute target (another directory, another mount, another
// collection, a `..` component, a path to the collection itself or deeper
// than a name) is InvalidArgument with the reason.
registry::Result<std::string> MountRelativeTarget(std::string_view mountpoint,
                                                  std::string_view collection,
                                                  std::string_view target);

}  // namespace regfs::fs

#endif  // REGFS_FS_LINK_TARGET_H_
