#include "fs/notifier.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "registry/background_thread.h"

namespace regfs::fs {

namespace {
constexpr size_t kMaxQueued = 65536;
}

Notifier::~Notifier() { Stop(); }

void Notifier::Start(fuse_session* session) {
  MutexLock lock(mu_);
  if (running_) return;
  session_ = session;
  running_ = true;
  stopping_ = false;
  finished_ = false;
  thread_ = registry::StartBackgroundThread([this] {
    Run();
    MutexLock lock(mu_);
    finished_ = true;
    cv_.NotifyAll();
  });
}

void Notifier::Stop(std::chrono::milliseconds patience,
                    const std::function<void()>& unstick) {
  bool stuck = false;
  {
    MutexLock lock(mu_);
    if (!running_) return;
    stopping_ = true;
    cv_.NotifyAll();
    delivered_cv_.NotifyAll();
    stuck = !AwaitFinished(patience);
  }
  if (stuck && unstick) {
    spdlog::warn(
        "the notifier is stuck in the kernel after {} ms (a directory "
        "lock held by a request that will not be answered); aborting the "
        "connection",
        patience.count());
    unstick();
  }
  thread_.join();
  MutexLock lock(mu_);
  running_ = false;
  queue_.clear();
  queued_entries_.clear();
}

void Notifier::InvalidateEntry(Ino parent, std::string name) {
  Push(Item{parent, std::move(name)});
}

void Notifier::InvalidateInode(Ino ino) { Push(Item{ino, {}}); }

bool Notifier::AwaitFinished(std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!finished_) {
    if (!cv_.WaitUntil(mu_, deadline)) return finished_;
  }
  return true;
}

bool Notifier::Flush(std::chrono::milliseconds patience) {
  MutexLock lock(mu_);
  if (!running_) return true;
  const uint64_t target = queued_;
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (delivered_ < target && !stopping_) {
    if (!delivered_cv_.WaitUntil(mu_, deadline)) break;
  }
  return delivered_ >= target;
}

void Notifier::Push(Item item) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    // A flood of changes: the kernel's short timeouts cover what is lost.
    if (queue_.size() >= kMaxQueued) return;
    if (!item.name.empty() &&
        !queued_entries_.emplace(item.ino, item.name).second) {
      return;  // already waiting, and sent after this call
    }
    queue_.push_back(std::move(item));
    ++queued_;
  }
  cv_.NotifyOne();
}

void Notifier::Run() {
  MutexLock lock(mu_);
  while (true) {
    while (!stopping_ && queue_.empty()) cv_.Wait(mu_);
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    if (!item.name.empty()) queued_entries_.erase({item.ino, item.name});
    lock.Unlock();
    int rc = 0;
    if (item.name.empty()) {
      rc = fuse_lowlevel_notify_inval_inode(session_, item.ino, -1, 0);
    } else {
      rc = fuse_lowlevel_notify_inval_entry(session_, item.ino,
                                            item.name.data(), item.name.size());
    }
    if (rc != 0 && rc != -ENOENT) {
      spdlog::debug("invalidate {} {}: {}", item.ino, item.name,
                    std::strerror(-rc));
    }
    lock.Lock();
    ++delivered_;
    delivered_cv_.NotifyAll();
  }
}

}  // namespace regfs::fs
