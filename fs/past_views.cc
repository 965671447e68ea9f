#include "fs/past_views.h"

#include <fmt/format.h>

#include <utility>

#include "registry/names.h"

namespace regfs::fs {

std::string PastViews::KeyOf(const PastNode& node) {
  // Fields are joined with NUL, which no name or moment contains.
  std::string key;
  key += static_cast<char>('0' + static_cast<int>(node.kind));
  key += '\0';
  key += node.moment;
  key += '\0';
  key += std::to_string(node.collection_id);
  key += '\0';
  key += std::to_string(node.seq);
  if (node.kind == PastNode::Kind::kLink) {
    key += '\0';
    key += node.link.name;
    key += '\0';
    key += node.link.target;
    key += '\0';
    key += std::to_string(node.link.version);
  }
  return key;
}

Ino PastViews::Intern(PastNode node) {
  std::string key = KeyOf(node);
  MutexLock lock(mu_);
  if (auto it = ids_.find(key); it != ids_.end()) {
    return MakeIno(NodeType::kPast, it->second);
  }
  if (nodes_.size() >= kMaxNodes) {
    generation_base_ += nodes_.size();
    nodes_.clear();
    ids_.clear();
  }
  nodes_.push_back(std::move(node));
  const uint64_t id = generation_base_ + nodes_.size();  // never 0
  ids_.emplace(std::move(key), id);
  return MakeIno(NodeType::kPast, id);
}

std::optional<PastNode> PastViews::Get(Ino ino) const {
  if (TypeOf(ino) != NodeType::kPast) return std::nullopt;
  const uint64_t id = IdOf(ino);
  MutexLock lock(mu_);
  if (id <= generation_base_ || id > generation_base_ + nodes_.size()) {
    return std::nullopt;
  }
  return nodes_[id - generation_base_ - 1];
}

std::string PastVersionTarget(std::string_view collection, uint64_t version) {
  return fmt::format("../../../../{}/{}", collection,
                     registry::VersionName(version));
}

}  // namespace regfs::fs
