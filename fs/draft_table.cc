#include "fs/draft_table.h"

#include <utility>
#include <vector>

namespace regfs::fs {

std::string_view DraftKey::root() const {
  const std::string_view p = path;
  return p.substr(0, p.find('/'));
}

Ino DraftTable::Intern(const DraftKey& key) {
  MutexLock lock(mu_);
  Key k{key.collection_id, key.uid, key.path};
  const auto it = by_key_.find(k);
  if (it != by_key_.end()) return MakeIno(NodeType::kDraft, it->second);
  const uint64_t id = next_id_++;
  by_key_.emplace(std::move(k), id);
  by_id_.emplace(id, key);
  return MakeIno(NodeType::kDraft, id);
}

std::optional<DraftKey> DraftTable::Get(Ino ino) {
  MutexLock lock(mu_);
  const auto it = by_id_.find(IdOf(ino));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<DraftRoot> DraftTable::RootOf(int64_t collection_id,
                                              uid_t uid,
                                              std::string_view root) {
  return LocksOf(collection_id, uid, root).root;
}

DraftRootLocks DraftTable::LocksOf(int64_t collection_id, uid_t uid,
                                   std::string_view root) {
  MutexLock lock(mu_);
  DraftRootLocks& slot = roots_[Key{collection_id, uid, std::string(root)}];
  if (!slot.root) slot.root = std::make_shared<DraftRoot>();
  return slot;
}

std::map<std::string, uint64_t> DraftTable::EraseTree(int64_t collection_id,
                                                      uid_t uid,
                                                      std::string_view path) {
  std::map<std::string, uint64_t> erased;
  const std::string prefix = std::string(path) + "/";
  if (auto it = by_key_.find(Key{collection_id, uid, std::string(path)});
      it != by_key_.end()) {
    Take(it, erased);
  }
  for (auto it = by_key_.lower_bound(Key{collection_id, uid, prefix});
       it != by_key_.end() && std::get<0>(it->first) == collection_id &&
       std::get<1>(it->first) == uid &&
       std::get<2>(it->first).starts_with(prefix);) {
    it = Take(it, erased);
  }
  return erased;
}

std::map<DraftTable::Key, uint64_t>::iterator DraftTable::Take(
    std::map<Key, uint64_t>::iterator it,
    std::map<std::string, uint64_t>& erased) {
  erased.emplace(std::get<2>(it->first), it->second);
  by_id_.erase(it->second);
  return by_key_.erase(it);
}

void DraftTable::Rename(int64_t collection_id, uid_t uid,
                        std::string_view from, std::string_view to) {
  MutexLock lock(mu_);
  EraseTree(collection_id, uid, to);
  roots_.erase(Key{collection_id, uid, std::string(to)});
  const auto moved = EraseTree(collection_id, uid, from);
  for (const auto& [path, id] : moved) {
    DraftKey key{collection_id, uid,
                 std::string(to) + path.substr(from.size())};
    by_key_.emplace(Key{collection_id, uid, key.path}, id);
    by_id_.emplace(id, std::move(key));
  }
  const auto root = roots_.find(Key{collection_id, uid, std::string(from)});
  if (root != roots_.end()) {
    DraftRootLocks state = std::move(root->second);
    roots_.erase(root);
    const std::string_view to_root = std::string_view(to).substr(
        0, std::string_view(to).find('/'));
    if (to_root.size() == to.size()) {
      roots_[Key{collection_id, uid, std::string(to)}] = std::move(state);
    } else {
      // A root moved into another draft: its open handles keep their
      // lock, which a publish of that draft must take too.
      DraftRootLocks& into =
          roots_[Key{collection_id, uid, std::string(to_root)}];
      if (!into.root) into.root = std::make_shared<DraftRoot>();
      into.merged.push_back(std::move(state.root));
      for (auto& more : state.merged) into.merged.push_back(std::move(more));
    }
  }
}

void DraftTable::Remove(int64_t collection_id, uid_t uid,
                        std::string_view path) {
  MutexLock lock(mu_);
  EraseTree(collection_id, uid, path);
  roots_.erase(Key{collection_id, uid, std::string(path)});
}

void DraftUsage::Reset(const std::map<uid_t, uint64_t>& usage) {
  MutexLock lock(mu_);
  bytes_ = usage;
}

bool DraftUsage::Reserve(uid_t uid, uint64_t bytes, uint64_t quota) {
  MutexLock lock(mu_);
  uint64_t& used = bytes_[uid];
  if (bytes > 0 && used + bytes > quota) return false;
  used += bytes;
  return true;
}

void DraftUsage::Add(uid_t uid, int64_t delta) {
  MutexLock lock(mu_);
  uint64_t& used = bytes_[uid];
  if (delta < 0 && static_cast<uint64_t>(-delta) > used) {
    used = 0;
  } else {
    used += static_cast<uint64_t>(delta);
  }
}

uint64_t DraftUsage::Of(uid_t uid) {
  MutexLock lock(mu_);
  const auto it = bytes_.find(uid);
  return it == bytes_.end() ? 0 : it->second;
}

}  // namespace regfs::fs
