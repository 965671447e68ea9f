#include "registry/whoami.h"

#include <string>

namespace regfs::registry {

nlohmann::ordered_json WhoamiJson(const Identity& who,
                                  const Result<Role>& role) {
  nlohmann::ordered_json json;
  json["uid"] = who.uid;
  json["user"] = who.user;
  json["gid"] = who.gid;
  json["groups"] = who.groups;
  json["group_names"] = who.group_names;
  json["role"] = role ? std::string(RoleName(*role)) : "unknown";
  return json;
}

}  // namespace regfs::registry
