// The metadata a publish applies besides the draft's bytes: a sidecar
// "<draft>.metadata.json" (ParseSidecar) or the draft's user.regfs.*
// extended attributes (publish.cc).
#ifndef REGFS_REGISTRY_SIDECAR_H_
#define REGFS_REGISTRY_SIDECAR_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/error.h"

namespace regfs::registry {

struct PublishMetadata {
  std::vector<std::string> aliases;
  std::vector<std::string> tags;
  std::string description;
  std::vector<std::pair<std::string, std::string>> metadata;  // by key
};

// A sidecar's JSON object: "aliases" (a list of strings), "tags" (a list
// of strings), "description" (a string); Valohai's "valohai.alias" (a
// string or a list) and "valohai.tags" (a list) as synonyms; any other
// key is metadata: a string as it is, any other value as its JSON text.
// InvalidArgument naming the problem for anything else (not JSON, not an
// object, a key of the wrong type). Names are checked by the publish.
[[nodiscard]] Result<PublishMetadata> ParseSidecar(std::string_view json);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_SIDECAR_H_
