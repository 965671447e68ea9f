#include "delivery/deliverer.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "delivery/event_body.h"
#include "delivery/exec.h"
#include "delivery/webhook.h"
#include "registry/secret_file.h"

namespace regfs::delivery {

namespace reg = regfs::registry;

namespace {

// Events read per automation per pass.
constexpr uint64_t kBatch = 100;

std::string DefaultHolder() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, getpid());
}

// The wait before retry number `retry` (1 for the first retry).
reg::TimeMs Backoff(int retry, const DelivererOptions& o) {
  int64_t wait = o.retry_base.count();
  for (int i = 1; i < retry && wait < o.retry_cap.count(); ++i) wait *= 2;
  return std::min<int64_t>(wait, o.retry_cap.count());
}

// The secret file is read as the admin who added the automation
// (registry/secret_file.h); one added before that was recorded, as this
// process.
reg::SecretReader SecretReaderOf(const reg::AutomationTarget& t) {
  if (t.user.empty()) {
    return reg::SecretReader{.uid = geteuid(), .gid = getegid()};
  }
  return reg::SecretReader{.uid = t.uid, .gid = t.gid, .user = t.user};
}

}  // namespace

Attempt DeliverEvent(const reg::Automation& automation, const reg::Event& event,
                     const DelivererOptions& options) {
  const reg::AutomationTarget& t = automation.spec.target;
  const std::string json = EventJson(automation.spec.name, event);
  if (!t.exec.empty()) {
    CommandRequest c;
    c.command = t.exec;
    c.uid = t.uid;
    c.gid = t.gid;
    c.user = t.user;
    c.stdin_json = json + "\n";
    c.env = EventEnvironment(automation.spec.name, event);
    c.timeout = options.exec_timeout;
    return RunCommand(c);
  }
  WebhookRequest w;
  w.url = t.url;
  w.body = t.format == reg::AutomationFormat::kSlack ? SlackJson(event) : json;
  w.delivery_id = DeliveryId(automation.spec.name, event.seq);
  w.event_kind = reg::EventTypeName(event.type);
  w.connect_timeout = options.connect_timeout;
  w.timeout = options.http_timeout;
  if (!t.secret_file.empty()) {
    auto secret = reg::ReadSecretFile(t.secret_file, SecretReaderOf(t));
    if (!secret) return Attempt{false, std::nullopt, secret.error().message, 0};
    w.secret = std::move(*secret);
  }
  return PostWebhook(w);
}

Deliverer::Deliverer(reg::Registry& registry, reg::Identity who,
                     DelivererOptions options)
    : registry_(registry), who_(std::move(who)), options_(std::move(options)) {
  if (options_.holder.empty()) options_.holder = DefaultHolder();
}

reg::Result<bool> Deliverer::RunOnce() {
  REGFS_ASSIGN_OR_RETURN(const auto automations,
                         registry_.ListAutomations(who_));
  had_automations_ = !automations.empty();
  // Nothing to deliver: no write, and the lease stays free.
  if (automations.empty() && !held_) return false;
  REGFS_ASSIGN_OR_RETURN(const bool held, Lease());
  if (!held) return false;
  for (const reg::Automation& a : automations) REGFS_TRY(Work(a));
  return true;
}

reg::Result<bool> Deliverer::Lease() {
  const auto now = std::chrono::steady_clock::now();
  if (held_ && now - leased_at_ < options_.lease_ttl / 4) return true;
  held_ = false;
  REGFS_ASSIGN_OR_RETURN(const bool held,
                         registry_.TakeDeliveryLease(
                             options_.holder, options_.lease_ttl.count()));
  held_ = held;
  leased_at_ = now;
  return held;
}

reg::Status Deliverer::Work(const reg::Automation& a) {
  REGFS_ASSIGN_OR_RETURN(const auto pending,
                         registry_.AutomationEvents(a, kBatch));
  for (const reg::Event& event : pending.events) {
    if (Stopping()) return {};
    REGFS_ASSIGN_OR_RETURN(const bool go_on, TryDeliver(a, event));
    if (!go_on) return {};
  }
  // Every event up to there is done with (delivered or not wanted).
  if (pending.scanned_to > a.position) {
    return registry_.SkipEvents(options_.holder, a.spec.name,
                                pending.scanned_to);
  }
  return {};
}

reg::Result<bool> Deliverer::TryDeliver(const reg::Automation& a,
                                        const reg::Event& event) {
  REGFS_ASSIGN_OR_RETURN(const auto earlier,
                         registry_.DeliveryAttempts(a.spec.name, event.seq));
  const reg::TimeMs now = reg::NowMs();
  if (!earlier.empty() &&
      now < earlier.back().time +
                Backoff(static_cast<int>(earlier.size()), options_)) {
    return false;  // not due yet; later events wait behind it
  }
  // Renewed before a delivery when due, so that a slow one keeps it.
  REGFS_ASSIGN_OR_RETURN(const bool held, Lease());
  if (!held) {
    return reg::Fail(reg::Code::kConflict, "the delivery lease was taken over");
  }
  const Attempt result = DeliverEvent(a, event, options_);
  reg::DeliveryRecord record;
  record.automation = a.spec.name;
  record.seq = event.seq;
  record.attempt = static_cast<int>(earlier.size()) + 1;
  record.time = reg::NowMs();
  record.status = result.status;
  record.latency_ms = result.latency_ms;
  record.message = result.message;
  const reg::TimeMs first = earlier.empty() ? now : earlier.front().time;
  if (result.ok) {
    record.outcome = reg::DeliveryOutcome::kOk;
  } else if (record.time - first >= options_.give_up.count()) {
    record.outcome = reg::DeliveryOutcome::kFailed;
    spdlog::warn("automation {}: gave up on event {} after {} attempts: {}",
                 a.spec.name, event.seq, record.attempt, result.message);
  } else {
    record.outcome = reg::DeliveryOutcome::kRetry;
  }
  const bool done = record.outcome != reg::DeliveryOutcome::kRetry;
  REGFS_TRY(registry_.RecordDelivery(options_.holder, record, done));
  return done;
}

void Deliverer::Wake() {
  MutexLock lock(mu_);
  woken_ = true;
  // In the gap, a notification would only wake the thread to wait again.
  if (!in_gap_) cv_.NotifyAll();
}

void Deliverer::Stop() {
  MutexLock lock(mu_);
  stopped_ = true;
  cv_.NotifyAll();
}

bool Deliverer::Stopping() {
  MutexLock lock(mu_);
  return stopped_ || (stop_ != nullptr && stop_->load());
}

void Deliverer::Sleep(const std::atomic<bool>& stop,
                      std::chrono::steady_clock::time_point not_before) {
  using Clock = std::chrono::steady_clock;
  const auto wait = std::min(options_.poll, options_.lease_ttl / 3);
  const auto until = Clock::now() + wait;
  MutexLock lock(mu_);
  // In slices, for `stop`: a signal handler sets it and cannot notify.
  while (!stopped_ && !stop.load()) {
    const auto now = Clock::now();
    if ((woken_ && now >= not_before) || now >= until) break;
    // Until `not_before` the wait ends by itself: Wake need not notify.
    in_gap_ = now < not_before;
    auto slice = std::min(until, now + std::chrono::milliseconds(50));
    if (in_gap_) slice = std::min(slice, not_before);
    (void)cv_.WaitUntil(mu_, slice);
  }
  in_gap_ = false;
  woken_ = false;
}

reg::Status Deliverer::Run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  // Any change this process commits or hears of starts a pass at once.
  const auto observation =
      registry_.ObserveChanges([this](uint64_t) { Wake(); });
  bool was_held = false;
  std::string last_error;
  while (!Stopping()) {
    const auto started = std::chrono::steady_clock::now();
    had_automations_ = false;
    auto held = RunOnce();
    if (!held) {
      held_ = false;
      // kConflict: another deliverer took over mid-pass; wait for the
      // lease again. Other errors are logged once until they change;
      // a caller who is no admin, at info.
      const reg::Error& e = held.error();
      if (e.code == reg::Code::kPermissionDenied && e.message != last_error) {
        // A mount of a shared store by a member: not its job.
        spdlog::info("automations: not delivered by {}: {}", options_.holder,
                     e.message);
      } else if (e.code != reg::Code::kConflict && e.message != last_error) {
        spdlog::error("automations: {}", e.message);
      }
      last_error = e.message;
    } else {
      last_error.clear();
      if (*held != was_held) {
        if (*held) {
          spdlog::info("automations: delivering as {}", options_.holder);
        } else {
          spdlog::info("automations: {} waits for the lease",
                       options_.holder);
        }
        was_held = *held;
      }
    }
    // Nothing delivered: the next pass waits for the gap.
    const bool delivering = held && *held && had_automations_;
    Sleep(stop, delivering ? started : started + options_.idle_gap);
  }
  if (!held_ && !was_held) return {};
  return registry_.ReleaseDeliveryLease(options_.holder);
}

}  // namespace regfs::delivery
