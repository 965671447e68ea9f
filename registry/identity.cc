#include "registry/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>

namespace regfs::registry {
namespace {

std::string GroupName(gid_t gid) {
  std::vector<char> buf(4096);
  struct group grp;
  struct group* result = nullptr;
  while (getgrgid_r(gid, &grp, buf.data(), buf.size(), &result) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (result == nullptr) return std::to_string(gid);
  return result->gr_name;
}

}  // namespace

std::string_view InterfaceName(Interface interface) {
  return interface == Interface::kFs ? "fs" : "cli";
}

std::string UserName(uid_t uid) {
  std::vector<char> buf(4096);
  struct passwd pw;
  struct passwd* result = nullptr;
  while (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (result == nullptr) return std::to_string(uid);
  return result->pw_name;
}

namespace {

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
  std::vector<char> buf(4096);
  struct passwd pw;
  struct passwd* result = nullptr;
  while (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) ==
         ERANGE) {
    buf.resize(buf.size() * 2);
  }
  return result != nullptr;
}

bool GroupExists(const std::string& name) {
  std::vector<char> buf(4096);
  struct group grp;
  struct group* result = nullptr;
  while (getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &result) ==
         ERANGE) {
    buf.resize(buf.size() * 2);
  }
  return result != nullptr;
}

}  // namespace

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
