#include "fs/answered_changes.h"

namespace regfs::fs {

void AnsweredChanges::Add(uint64_t seq) {
  MutexLock lock(mu_);
  seqs_.insert(seq);
  if (seqs_.size() > kMax) seqs_.erase(seqs_.begin());
}

bool AnsweredChanges::Take(uint64_t seq) {
  MutexLock lock(mu_);
  return seqs_.erase(seq) > 0;
}

size_t AnsweredChanges::size() const {
  MutexLock lock(mu_);
  return seqs_.size();
}

}  // namespace regfs::fs
