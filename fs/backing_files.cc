#include "fs/backing_files.h"

namespace regfs::fs {

int BackingFiles::Acquire(uint64_t ino,
                          const std::function<int()>& open_backing) {
  MutexLock lock(mu_);
  auto it = entries_.find(ino);
  if (it != entries_.end()) {
    ++it->second.opens;
    return it->second.id;
  }
  const int id = open_backing();
  if (id > 0) entries_.emplace(ino, Entry{id, 1});
  return id;
}

void BackingFiles::Release(uint64_t ino,
                           const std::function<void(int)>& close_backing) {
  MutexLock lock(mu_);
  auto it = entries_.find(ino);
  if (it == entries_.end()) return;
  if (--it->second.opens > 0) return;
  close_backing(it->second.id);
  entries_.erase(it);
}

}  // namespace regfs::fs
