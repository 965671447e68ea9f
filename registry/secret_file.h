// Reading a webhook's secret file (issue 16) with the credentials of the
// admin who added the automation, never more. Through a mount the daemon
// runs as root: an admin must not make it read (and sign with) a file the
// admin could not read, at add time or at any later delivery. The rule:
// - a process running as that user reads the file itself;
// - a root process reads it in a child that has switched to the user's
//   uid, gid and groups (so every directory on the path and the file's
//   own permissions, ACLs included, are checked as for that user);
// - any other process refuses, naming the user.
// The file must be a regular file of at most kMaxSecretBytes, opened
// without blocking (a FIFO or a device cannot hang the reader).
#ifndef REGFS_REGISTRY_SECRET_FILE_H_
#define REGFS_REGISTRY_SECRET_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "registry/error.h"
#include "registry/identity.h"

namespace regfs::registry {

inline constexpr size_t kMaxSecretBytes = 64 * 1024;

// Whom a secret file is read as.
struct SecretReader {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary; empty: the user's own
  std::string user;           // names the reader in messages

  static SecretReader Of(const Identity& who);
};

// The secret in `path` without its trailing newlines, read as `as`.
// InvalidArgument: "cannot read secret file 'F': <strerror>", "secret file
// 'F' is empty", not a regular file, too large, or not readable as `as`
// by this process.
[[nodiscard]] Result<std::string> ReadSecretFile(const std::string& path,
                                                 const SecretReader& as);

// ValidateAutomationSpec (automations.h) with the secret file read as
// `secret_reader` rather than as this process: what AddAutomation checks,
// as the caller. A secret file must also be an absolute path.
struct AutomationSpec;
[[nodiscard]] Status ValidateAutomationSpec(const AutomationSpec& spec,
                                            const SecretReader& secret_reader);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_SECRET_FILE_H_
