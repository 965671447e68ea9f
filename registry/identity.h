// Who is acting: the uid and groups of the caller, with names resolved once.
#ifndef REGFS_REGISTRY_IDENTITY_H_
#define REGFS_REGISTRY_IDENTITY_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace regfs::registry {

// The interface a change came through; recorded in every history row.
enum class Interface { kCli, kFs };
std::string_view InterfaceName(Interface interface);

// An immutable value; safe to copy between threads.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, may include gid
  std::string user;           // user name, or the uid in decimal
  std::vector<std::string> group_names;  // names of gid and groups
  Interface interface = Interface::kCli;
  // False: `groups` and `group_names` are empty because the caller's
  // groups were not read (a mount reads them from /proc, which costs more
  // than the change: fs/caller_cache.h). A role that depends on them is
  // then GroupsUnread, never decided without them (Registry::RoleOf).
  bool groups_known = true;

  // The calling process (getuid, getgid, getgroups).
  static Identity Current(Interface interface);
  // Resolves the user and group names through NSS (getpwuid_r, getgrgid_r).
  static Identity For(uid_t uid, gid_t gid, std::vector<gid_t> groups,
                      Interface interface);
};

// The user name of `uid`, or the uid in decimal when it has none.
std::string UserName(uid_t uid);

// The principal a role grant is stored under, as RoleOf matches callers by
// their names: a user or group name as given; a uid in decimal ("47002")
// becomes its user's name, and "group:GID" its group's name, unless a user
// (group) is literally named so. A uid or gid without a name stays decimal,
// which is what Identity holds for such a caller. "*" stays "*".
std::string CanonicalPrincipal(std::string_view principal);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_IDENTITY_H_
