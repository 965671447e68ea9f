#include "fs/link_table.h"

#include <utility>

namespace regfs::fs {

void LinkTable::Remember(Ino ino, LinkNode node) {
  MutexLock lock(mu_);
  Slot& slot = nodes_[ino];
  slot.node = std::move(node);
  ++slot.lookups;
}

std::optional<LinkNode> LinkTable::Get(Ino ino) const {
  MutexLock lock(mu_);
  const auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.node;
}

void LinkTable::Update(Ino ino, LinkNode node) {
  MutexLock lock(mu_);
  const auto it = nodes_.find(ino);
  if (it != nodes_.end()) it->second.node = std::move(node);
}

void LinkTable::Forget(Ino ino, uint64_t nlookup) {
  MutexLock lock(mu_);
  const auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  if (it->second.lookups <= nlookup) {
    nodes_.erase(it);
  } else {
    it->second.lookups -= nlookup;
  }
}

LinkNode LinkNodeOf(const registry::Alias& alias, int64_t collection_id) {
  LinkNode node;
  node.collection_id = collection_id;
  node.collection = alias.collection;
  node.name = alias.name;
  node.version = alias.version;
  node.is_latest = alias.is_latest;
  node.is_protected = alias.is_protected;
  node.updated = alias.updated;
  node.updated_uid = alias.updated_uid;
  node.updated_by = alias.updated_by;
  return node;
}

}  // namespace regfs::fs
