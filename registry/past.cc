// The past as the registry answers it without replaying the history: what
// existed right after an event.
#include <fmt/format.h>

#include "registry/registry.h"

namespace regfs::registry {

Result<Version> Registry::GetVersionByNumberAt(int64_t collection_id,
                                               uint64_t number,
                                               std::optional<uint64_t> seq) {
  REGFS_ASSIGN_OR_RETURN(Version version,
                         GetVersionByNumber(collection_id, number));
  if (seq && version.created_seq > *seq) {
    return Fail(Code::kNotFound,
                fmt::format("v{} was made after event {}", number, *seq));
  }
  return version;
}

}  // namespace regfs::registry
