// Who is asking, as `regfs whoami --json` and the mount's .regfs/whoami
// show it.
#ifndef REGFS_REGISTRY_WHOAMI_H_
#define REGFS_REGISTRY_WHOAMI_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model.h"

namespace regfs::registry {

// {"uid", "user", "gid", "groups", "group_names", "role"} in that order;
// the role is "unknown" when it could not be read.
nlohmann::ordered_json WhoamiJson(const Identity& who,
                                  const Result<Role>& role);

// What `regfs whoami` shows (ctl: the answer to a whoami request): the
// caller, its role (nullopt: could not be read) and the store directory.
struct WhoAmI {
  Identity who;
  std::optional<Role> role;
  std::string store;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_WHOAMI_H_
