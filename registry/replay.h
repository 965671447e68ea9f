// Rebuilds a collection's aliases as they stood after a past event, from
// the history alone: the history is append-only, so the past never changes
// and a replay of events 1..N is the registry right after event N. Pure
// logic, no SQL and no I/O: Registry feeds it the events.
#ifndef REGFS_REGISTRY_REPLAY_H_
#define REGFS_REGISTRY_REPLAY_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "registry/history.h"
#include "registry/model.h"

namespace regfs::registry {

// Where a name pointed after some event, and who put it there.
struct AliasState {
  uint64_t version = 0;  // the target's number
  uint64_t seq = 0;      // the event that set it
  TimeMs time = 0;
  uid_t uid = 0;
  std::string user;
};

// One collection, rebuilt by applying its events in sequence order.
// Registry-wide protect/unprotect events are applied too; events of other
// collections are ignored. Not thread-safe; cheap to copy.
class CollectionReplay final {
 public:
  // With `watch` (an alias name or `latest`), records every value that
  // name takes, for `name@{N}`.
  explicit CollectionReplay(std::string collection,
                            std::optional<std::string> watch = std::nullopt);

  void Apply(const Event& event);

  // Whether the collection had been created (and not deleted since).
  bool exists() const { return exists_; }
  // User aliases, by name (`latest` is not among them).
  const std::map<std::string, AliasState>& aliases() const { return aliases_; }
  // Live version numbers, each with its creation event.
  const std::map<uint64_t, AliasState>& versions() const { return versions_; }
  // `latest`: the newest live version, set by its creation event.
  std::optional<AliasState> latest() const;
  // `name` as it resolves now: `latest`, a user alias, or `vN`.
  std::optional<AliasState> Find(std::string_view name) const;
  // Protection ignores case, as Registry::IsProtected.
  bool IsProtected(std::string_view name) const;

  // The watched name's values, oldest first: each entry is what it named
  // after one change (nullopt: it was removed). Empty if it never existed.
  const std::vector<std::optional<AliasState>>& timeline() const {
    return timeline_;
  }

 private:
  void Record();

  std::string collection_;
  std::optional<std::string> watch_;
  bool exists_ = false;
  std::map<std::string, AliasState> aliases_;
  std::map<uint64_t, AliasState> versions_;
  std::set<std::string> protected_;
  std::vector<std::optional<AliasState>> timeline_;
};

// "production@{2}" -> {"production", 2}; nullopt if `name` has no
// well-formed `@{N}` suffix.
struct ReflogName {
  std::string_view alias;
  uint64_t back = 0;
};
std::optional<ReflogName> ParseReflogName(std::string_view name);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_REPLAY_H_
