#include "registry/replay.h"

#include <charconv>
#include <utility>

#include "registry/names.h"

namespace regfs::registry {

namespace {

AliasState StateOf(const Event& e, uint64_t version) {
  return {version, e.seq, e.time, e.uid, e.user};
}

bool SameTarget(const std::optional<AliasState>& a,
                const std::optional<AliasState>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || a->version == b->version;
}

}  // namespace

CollectionReplay::CollectionReplay(std::string collection,
                                   std::optional<std::string> watch)
    : collection_(std::move(collection)), watch_(std::move(watch)) {}

std::optional<AliasState> CollectionReplay::latest() const {
  if (versions_.empty()) return std::nullopt;
  return versions_.rbegin()->second;
}

std::optional<AliasState> CollectionReplay::Find(std::string_view name) const {
  if (name == kLatest) return latest();
  if (auto number = ParseVersionName(name)) {
    auto it = versions_.find(*number);
    if (it == versions_.end()) return std::nullopt;
    return it->second;
  }
  auto it = aliases_.find(std::string(name));
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

bool CollectionReplay::IsProtected(std::string_view name) const {
  for (const std::string& p : protected_) {
    if (EqualsIgnoreCase(p, name)) return true;
  }
  return false;
}

void CollectionReplay::Apply(const Event& e) {
  if (e.type == EventType::kProtect) {
    protected_.insert(e.alias);
    return;
  }
  if (e.type == EventType::kUnprotect) {
    protected_.erase(e.alias);
    return;
  }
  if (e.collection != collection_) return;
  switch (e.type) {
    case EventType::kCollectionCreate:
    case EventType::kCollectionDelete:
      // Either starts a new collection of this name (deletion left it
      // empty; what a deleted collection had is not the next one's).
      exists_ = e.type == EventType::kCollectionCreate;
      aliases_.clear();
      versions_.clear();
      break;
    case EventType::kVersionCreate:
      if (e.new_version) versions_[*e.new_version] = StateOf(e, *e.new_version);
      break;
    case EventType::kVersionDelete:
      if (e.old_version) versions_.erase(*e.old_version);
      break;
    case EventType::kAliasCreate:
    case EventType::kAliasMove:
      if (e.new_version) aliases_[e.alias] = StateOf(e, *e.new_version);
      break;
    case EventType::kAliasRemove:
      aliases_.erase(e.alias);
      break;
    case EventType::kAliasRename: {
      if (e.renamed_to.empty()) break;
      auto it = aliases_.find(e.alias);
      if (it == aliases_.end()) break;
      AliasState moved = it->second;
      aliases_.erase(it);
      moved.seq = e.seq;
      moved.time = e.time;
      moved.uid = e.uid;
      moved.user = e.user;
      aliases_[e.renamed_to] = std::move(moved);
      break;
    }
    default:
      return;  // tags, roles: no effect on what names resolve to
  }
  Record();
}

void CollectionReplay::Record() {
  if (!watch_) return;
  std::optional<AliasState> now = Find(*watch_);
  if (timeline_.empty()) {
    if (now) timeline_.push_back(std::move(now));
    return;
  }
  if (!SameTarget(timeline_.back(), now)) timeline_.push_back(std::move(now));
}

std::optional<ReflogName> ParseReflogName(std::string_view name) {
  // NAME@{N}: N decimal, no sign, no leading '+', NAME non-empty.
  if (name.size() < 5 || name.back() != '}') return std::nullopt;
  const size_t at = name.rfind("@{");
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string_view digits =
      name.substr(at + 2, name.size() - at - 3);
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  uint64_t back = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), back);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return ReflogName{name.substr(0, at), back};
}

}  // namespace regfs::registry
