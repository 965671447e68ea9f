#include "registry/prefetcher.h"

#include <spdlog/spdlog.h>

namespace regfs::registry {

Prefetcher::Prefetcher(const BlobStore& blobs)
    : blobs_(blobs), thread_([this] { Run(); }) {}

Prefetcher::~Prefetcher() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.NotifyAll();
  thread_.join();
}

void Prefetcher::Add(std::vector<BlobToFetch> blobs) {
  {
    MutexLock lock(mu_);
    for (BlobToFetch& blob : blobs) queue_.push_back(std::move(blob));
  }
  cv_.NotifyAll();
}

void Prefetcher::Run() {
  for (;;) {
    BlobToFetch next;
    {
      MutexLock lock(mu_);
      while (!stop_ && queue_.empty()) cv_.Wait(mu_);
      if (stop_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    if (auto fetched = blobs_.Fetch(next.key, next.size); !fetched) {
      spdlog::warn("prefetch of {} (blob {}): {}", next.what, next.key,
                   fetched.error().message);
    }
  }
}

}  // namespace regfs::registry
