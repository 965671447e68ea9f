#include "fs/watcher.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "registry/background_thread.h"

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
    MutexLock lock(poll_mu_);
    seen_seq_ = *last;
  } else {
    spdlog::warn("watcher: reading the last event: {}", last.error().message);
  }
  {
    MutexLock lock(mu_);
    stopping_ = false;
  }
  thread_ = registry::StartBackgroundThread([this] { Run(); });
}

void Watcher::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

bool Watcher::AwaitStop(std::chrono::milliseconds timeout) {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!stopping_) {
    if (!cv_.WaitUntil(mu_, deadline)) return stopping_;
  }
  return true;
}

void Watcher::Run() {
  while (!AwaitStop(interval_)) {
    try {
      {
        MutexLock poll_lock(poll_mu_);
        Poll();
      }
      on_tick_();
    } catch (const std::exception& e) {
      spdlog::warn("watcher: {}", e.what());
    }
  }
}

void Watcher::CatchUp(uint64_t seq) {
  MutexLock lock(poll_mu_);
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
