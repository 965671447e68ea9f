#include "fs/watcher.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "fs/background_thread.h"

namespace regfs::fs {

Watcher::Watcher(registry::Registry& registry, EventsFn on_events,
                 TickFn on_tick, std::chrono::milliseconds interval)
    : registry_(registry),
      on_events_(std::move(on_events)),
      on_tick_(std::move(on_tick)),
      interval_(interval) {}

Watcher::~Watcher() { Stop(); }

void Watcher::Start() {
  if (thread_.joinable()) return;
  auto last = registry_.LastSeq();
  if (last) {
    std::lock_guard lock(poll_mu_);
    seen_seq_ = *last;
  } else {
    spdlog::warn("watcher: reading the last event: {}", last.error().message);
  }
  stopping_ = false;
  thread_ = StartBackgroundThread([this] { Run(); });
}

void Watcher::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watcher::Run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      {
        std::lock_guard poll_lock(poll_mu_);
        Poll();
      }
      on_tick_();
    } catch (const std::exception& e) {
      spdlog::warn("watcher: {}", e.what());
    }
    lock.lock();
  }
}

void Watcher::CatchUp(uint64_t seq) {
  std::lock_guard lock(poll_mu_);
  if (seen_seq_ >= seq) return;
  Poll();
}

void Watcher::Poll() {
  auto last = registry_.LastSeq();
  if (!last) {
    spdlog::warn("watcher: reading the last event: {}", last.error().message);
    return;
  }
  if (*last <= seen_seq_) return;
  registry::HistoryFilter filter;
  filter.after_seq = seen_seq_;
  auto events = registry_.History(filter);
  if (!events) {
    spdlog::warn("watcher: reading events: {}", events.error().message);
    return;
  }
  seen_seq_ = *last;
  for (const registry::Event& event : *events) {
    if (event.seq > seen_seq_) seen_seq_ = event.seq;
  }
  if (!events->empty()) on_events_(*events);
}

}  // namespace regfs::fs
