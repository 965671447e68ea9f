// A shared store's changes made on other machines (issue 14, "Coherence"):
// a mount daemon's thread that listens on its own direct connection to
// the store's PostgreSQL (sql/notifications.h) and calls `on_change(seq)`
// for every history row that commits anywhere, as ChangeListener does for
// the processes of one machine.
//
// Notifications are lost while the connection is down, and a frozen server
// sends no error; so a heartbeat asks for the history's last seq every
// `heartbeat` and, when no answer comes within `deadline`, the connection
// is dropped and made again (backing off from 250 ms to 5 s while the
// server stays away). After every connection and every heartbeat the
// thread catches up to the last seq, so that nothing is missed; a seq
// already passed is not repeated. Each outage is logged once when it
// starts and once when it ends.
//
// on_change runs on the thread, one call at a time; an exception from it
// is logged. Stop (or the destructor) ends the thread.
#ifndef REGFS_REGISTRY_NODE_CHANGES_H_
#define REGFS_REGISTRY_NODE_CHANGES_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "registry/error.h"
#include "registry/unique_fd.h"

namespace regfs::registry {

namespace sql {
class HistoryNotifications;
}  // namespace sql

class NodeChangeListener final {
 public:
  using OnChange = std::function<void(uint64_t seq)>;
  // Told when the view goes stale (`since`: the last moment the database
  // was known to answer, in ms since the epoch) and when it is current
  // again (0): after the first heartbeat answered once the connection is
  // back, by when on_change has caught up. Runs on the thread.
  using OnStale = std::function<void(int64_t since)>;
  struct Options {
    std::chrono::milliseconds heartbeat{2000};
    std::chrono::milliseconds deadline{3000};
    OnStale on_stale;  // may be empty
  };

  // Connects (an error if the database cannot be reached now) and starts
  // the thread. `conninfo` as the shared store's configuration gives it.
  static Result<std::unique_ptr<NodeChangeListener>> Start(
      std::string conninfo, OnChange on_change, Options options);
  static Result<std::unique_ptr<NodeChangeListener>> Start(
      std::string conninfo, OnChange on_change) {
    return Start(std::move(conninfo), std::move(on_change), Options{});
  }
  NodeChangeListener(const NodeChangeListener&) = delete;
  NodeChangeListener& operator=(const NodeChangeListener&) = delete;
  ~NodeChangeListener();

  void Stop();

 private:
  NodeChangeListener(std::string conninfo, OnChange on_change,
                     Options options, UniqueFd wake,
                     std::unique_ptr<sql::HistoryNotifications> conn);
  void Run();
  // Waits up to `timeout` for the connection's socket (when connected) or
  // for Stop. false: Stop was called.
  bool Wait(std::chrono::milliseconds timeout, bool* readable);
  // Tells on_change of `seq` unless it was passed already.
  void Tell(uint64_t seq);
  // Makes a new connection; logs the outage's end. false: still down.
  bool Reconnect();

  const std::string conninfo_;
  const OnChange on_change_;
  const Options options_;
  const UniqueFd wake_;  // eventfd: Stop
  std::unique_ptr<sql::HistoryNotifications> conn_;  // the thread's only
  uint64_t seen_ = 0;        // the thread's only
  bool outage_ = false;      // the thread's only: an outage was logged
  bool stale_ = false;       // the thread's only: on_stale was told `since`
  int64_t current_at_ = 0;   // the thread's only: the last answer's time
  std::thread thread_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_NODE_CHANGES_H_
