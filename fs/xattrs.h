// Extended attributes of the mount's nodes (DESIGN.md: `getfattr -d`).
//
// Versions: user.regfs.{collection,version,digest,created,creator,
// filename,size,files,description,tags,aliases} and user.regfs.meta.KEY per
// metadata key; for each alias naming the version,
// user.regfs.alias.NAME.{protected,updated,updated_by}. Files inside trees:
// user.regfs.{digest,size}. Empty values are left out; nothing else has
// attributes.
//
// Linux allows user.* attributes only on regular files and directories
// (fs/xattr.c answers ENODATA for symlinks before asking us), so aliases
// have none of their own: `getfattr` follows the alias to its version,
// which lists the alias's attributes under user.regfs.alias.NAME.*.
#ifndef REGFS_FS_XATTRS_H_
#define REGFS_FS_XATTRS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/model.h"

namespace regfs::fs {

// Every attribute name of the mount starts with it.
inline constexpr std::string_view kXattrPrefix = "user.regfs.";

using XattrList = std::vector<std::pair<std::string, std::string>>;

// `aliases`: the aliases naming `version` (any others are ignored).
XattrList VersionXattrs(const registry::Version& version,
                        const std::vector<registry::Alias>& aliases);
XattrList TreeEntryXattrs(const registry::TreeEntry& entry);

// listxattr's text: each name followed by '\0'.
std::string XattrNames(const XattrList& list);
std::optional<std::string> FindXattr(const XattrList& list,
                                     std::string_view name);

}  // namespace regfs::fs

#endif  // REGFS_FS_XATTRS_H_
