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

void LinkTable::UpdateStandingIn(Ino ino, LinkNode node, Ino alias_ino) {
  MutexLock lock(mu_);
  const auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.node = std::move(node);
  it->second.stands_in_for = alias_ino;
  stand_ins_[alias_ino] = ino;
}

Ino LinkTable::InoFor(Ino alias_ino) const {
  MutexLock lock(mu_);
  const auto it = stand_ins_.find(alias_ino);
  return it == stand_ins_.end() ? alias_ino : it->second;
}

void LinkTable::Forget(Ino ino, uint64_t nlookup) {
  MutexLock lock(mu_);
  const auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  if (it->second.lookups <= nlookup) {
    if (const Ino alias = it->second.stands_in_for; alias != 0) {
      const auto in = stand_ins_.find(alias);
      if (in != stand_ins_.end() && in->second == ino) stand_ins_.erase(in);
    }
    nodes_.erase(it);
  } else {
    it->second.lookups -= nlookup;
  }
}

LinkNode LinkNodeOf(const registry::Alias& alias, int64_t collection_id) {
  LinkNode node;
  static_cast<registry::Alias&>(node) = alias;
  node.collection_id = collection_id;
  return node;
}

}  // namespace regfs::fs
