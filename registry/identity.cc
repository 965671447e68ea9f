#include "registry/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace regfs::registry {
namespace {

// The name in the passwd or group entry that `lookup` (getpwuid_r and its
// kin) finds for `key`, growing the buffer while it is too small; nullopt
// if there is no such entry.
template <class Entry, class Key>
std::optional<std::string> EntryName(int (*lookup)(Key, Entry*, char*, size_t,
                                                   Entry**),
                                     std::type_identity_t<Key> key,
                                     char* Entry::*name) {
  std::vector<char> buf(4096);
  Entry entry;
  Entry* result = nullptr;
  while (lookup(key, &entry, buf.data(), buf.size(), &result) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (result == nullptr) return std::nullopt;
  return std::string(result->*name);
}

std::string GroupName(gid_t gid) {
  return EntryName(getgrgid_r, gid, &group::gr_name)
      .value_or(std::to_string(gid));
}

// `text` as a uid or gid, if it is all decimal digits and fits.
std::optional<uint32_t> ParseId(std::string_view text) {
  uint32_t id = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return id;
}

bool UserExists(const std::string& name) {
  return EntryName(getpwnam_r, name.c_str(), &passwd::pw_name).has_value();
}

bool GroupExists(const std::string& name) {
  return EntryName(getgrnam_r, name.c_str(), &group::gr_name).has_value();
}

}  // namespace

std::string_view InterfaceName(Interface interface) {
  return interface == Interface::kFs ? "fs" : "cli";
}

std::string UserName(uid_t uid) {
  return EntryName(getpwuid_r, uid, &passwd::pw_name)
      .value_or(std::to_string(uid));
}

std::string CanonicalPrincipal(std::string_view principal) {
  constexpr std::string_view kGroup = "group:";
  const bool group = principal.starts_with(kGroup);
  const std::string name(group ? principal.substr(kGroup.size()) : principal);
  const auto id = ParseId(name);
  if (!id) return std::string(principal);
  if (group) {
    return GroupExists(name) ? std::string(principal)
                             : std::string(kGroup) + GroupName(*id);
  }
  return UserExists(name) ? name : UserName(*id);
}

Identity Identity::Current(Interface interface) {
  std::vector<gid_t> groups;
  const int n = getgroups(0, nullptr);
  if (n > 0) {
    groups.resize(static_cast<size_t>(n));
    const int got = getgroups(n, groups.data());
    groups.resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
  return For(getuid(), getgid(), std::move(groups), interface);
}

Identity Identity::For(uid_t uid, gid_t gid, std::vector<gid_t> groups,
                       Interface interface) {
  Identity id;
  id.uid = uid;
  id.gid = gid;
  if (std::find(groups.begin(), groups.end(), gid) == groups.end()) {
    groups.insert(groups.begin(), gid);
  }
  id.groups = std::move(groups);
  id.user = UserName(uid);
  for (gid_t g : id.groups) id.group_names.push_back(GroupName(g));
  id.interface = interface;
  return id;
}

}  // namespace regfs::registry
