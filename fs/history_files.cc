#include "fs/history_files.h"

#include <algorithm>
#include <utility>

#include "registry/history.h"

namespace regfs::fs {

HistoryText::HistoryText(std::string collection,
                         std::optional<uint64_t> until)
    : collection_(std::move(collection)), until_(until) {}

registry::Result<uint64_t> HistoryText::Refresh(registry::Registry& registry) {
  MutexLock lock(mu_);
  REGFS_ASSIGN_OR_RETURN(uint64_t last, registry.LastSeq());
  if (until_) last = std::min(last, *until_);
  if (last <= seen_seq_) return text_.size();
  registry::HistoryFilter filter;
  filter.collection = collection_;
  filter.after_seq = seen_seq_;
  filter.until_seq = last;
  REGFS_ASSIGN_OR_RETURN(const auto events, registry.History(filter));
  uint64_t seen = last;
  for (const registry::Event& event : events) {
    text_ += registry::RenderJsonLine(event);
    text_ += '\n';
    seen = std::max(seen, event.seq);
    last_time_ = std::max(last_time_, event.time);
  }
  seen_seq_ = seen;
  return text_.size();
}

std::string HistoryText::Read(uint64_t offset, size_t size) const {
  MutexLock lock(mu_);
  if (offset >= text_.size()) return {};
  return text_.substr(offset, size);
}

uint64_t HistoryText::size() const {
  MutexLock lock(mu_);
  return text_.size();
}

registry::TimeMs HistoryText::last_time() const {
  MutexLock lock(mu_);
  return last_time_;
}

std::shared_ptr<HistoryText> HistoryFiles::Get(const std::string& collection) {
  MutexLock lock(mu_);
  std::shared_ptr<HistoryText>& text = texts_[collection];
  if (!text) text = std::make_shared<HistoryText>(collection, until_);
  return text;
}

}  // namespace regfs::fs
