#include "registry/node_changes.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include "registry/background_thread.h"
#include "registry/history.h"
#include "registry/sql/notifications.h"

namespace regfs::registry {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff{250};
constexpr milliseconds kLastBackoff{5000};

milliseconds Until(Clock::time_point when) {
  return std::max(milliseconds(0),
                  std::chrono::ceil<milliseconds>(when - Clock::now()));
}

}  // namespace

Result<std::unique_ptr<NodeChangeListener>> NodeChangeListener::Start(
    std::string conninfo, OnChange on_change, Options options) {
  REGFS_ASSIGN_OR_RETURN(auto conn,
                         sql::HistoryNotifications::Listen(conninfo));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    return std::unexpected(PosixError("eventfd", "", errno));
  }
  std::unique_ptr<NodeChangeListener> listener(new NodeChangeListener(
      std::move(conninfo), std::move(on_change), options, std::move(wake),
      std::move(conn)));
  listener->thread_ = StartBackgroundThread([l = listener.get()] { l->Run(); });
  return listener;
}

NodeChangeListener::NodeChangeListener(
    std::string conninfo, OnChange on_change, Options options, UniqueFd wake,
    std::unique_ptr<sql::HistoryNotifications> conn)
    : conninfo_(std::move(conninfo)),
      on_change_(std::move(on_change)),
      options_(options),
      wake_(std::move(wake)),
      conn_(std::move(conn)) {}

NodeChangeListener::~NodeChangeListener() { Stop(); }

void NodeChangeListener::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  thread_.join();
  conn_.reset();
}

bool NodeChangeListener::Wait(milliseconds timeout, bool* readable) {
  pollfd fds[2] = {{wake_.get(), POLLIN, 0},
                   {conn_ ? conn_->socket() : -1, POLLIN, 0}};
  const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) {
    spdlog::warn("listening for other nodes' changes: poll: {}",
                 std::strerror(errno));
  }
  *readable = n > 0 && fds[1].revents != 0;
  return fds[0].revents == 0;
}

void NodeChangeListener::Tell(uint64_t seq) {
  if (seq <= seen_) return;
  seen_ = seq;
  try {
    on_change_(seq);
  } catch (const std::exception& e) {
    spdlog::warn("catching up with change {} made on another node: {}", seq,
                 e.what());
  }
}

bool NodeChangeListener::Reconnect() {
  auto conn = sql::HistoryNotifications::Listen(conninfo_);
  if (!conn) return false;
  conn_ = std::move(*conn);
  if (outage_) {
    spdlog::info("listening for other nodes' changes again");
    outage_ = false;
  }
  return true;
}

// One loop: a heartbeat is due at `next_beat`; once asked, its answer must
// come by `answer_by`. Anything that breaks the connection drops it; while
// it is down, reconnecting is tried with a growing backoff.
void NodeChangeListener::Run() {
  milliseconds backoff = kFirstBackoff;
  Clock::time_point next_beat = Clock::now();  // at once: catch up
  std::optional<Clock::time_point> answer_by;
  const auto drop = [&](const std::string& why) {
    if (!outage_) {
      spdlog::warn(
          "lost the shared store's change notifications ({}): changes made "
          "on other nodes show within the mount's poll interval until they "
          "are back",
          why);
      outage_ = true;
    }
    if (!stale_) {
      stale_ = true;
      if (options_.on_stale) {
        options_.on_stale(current_at_ != 0 ? current_at_ : NowMs());
      }
    }
    conn_.reset();
    answer_by.reset();
  };
  while (true) {
    if (!conn_) {
      bool unused = false;
      if (!Wait(backoff, &unused)) return;
      if (!Reconnect()) {
        backoff = std::min(backoff * 2, kLastBackoff);
        continue;
      }
      backoff = kFirstBackoff;
      next_beat = Clock::now();
    }
    if (!answer_by && Clock::now() >= next_beat) {
      if (auto asked = conn_->AskLastSeq(); !asked) {
        drop(asked.error().message);
        continue;
      }
      answer_by = Clock::now() + options_.deadline;
    }
    bool readable = false;
    if (!Wait(Until(answer_by ? *answer_by : next_beat), &readable)) return;
    if (readable) {
      auto got = conn_->Read();
      if (!got) {
        drop(got.error().message);
        continue;
      }
      if (got->notified) Tell(*got->notified);
      if (got->last_seq) {
        Tell(*got->last_seq);
        current_at_ = NowMs();
        if (stale_) {
          stale_ = false;
          if (options_.on_stale) options_.on_stale(0);
        }
        answer_by.reset();
        next_beat = Clock::now() + options_.heartbeat;
      }
    }
    if (answer_by && Clock::now() >= *answer_by) {
      drop("the database did not answer the heartbeat in time");
    }
  }
}

}  // namespace regfs::registry
