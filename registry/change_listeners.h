// Read-your-writes across processes on one machine (DESIGN.md
// "Consistency"): by the time a change returns to whoever made it, every
// live mount of the store has caught up with it.
//
// A mount daemon registers a ChangeListener: a unix stream socket in
// `<store>/listeners/`, named `<pid>-<random>.sock`. After every committed
// change, the Registry that made it (in the CLI, a test, or another mount
// daemon) calls ChangeAnnouncer::Announce with the change's sequence
// number: it connects to every registered socket but its own process's
// listeners, all at once (non-blocking connects, one poll() with one
// overall deadline), sends the 8-byte seq and waits for each one-byte
// acknowledgement. A listener acknowledges only after its callback has
// returned; the mount's callback catches up with the history and waits
// until the kernel has dropped every stale entry.
//
// The bound: a writer waits at most kAnnounceDeadline per change, however
// many listeners hang (SIGSTOP) or are slow; a listener that misses it gets
// one warning per process and shows the change late (its 200 ms poll still
// catches up). A dead daemon's socket refuses connections (ECONNREFUSED):
// the first writer to meet it unlinks it, so it costs one failed connect
// once. With no listeners directory, or an empty one, Announce costs one
// failed open or one empty readdir: nothing measurable. A process that
// announces more than once (a mount daemon) keeps the list of sockets and
// watches the directory with inotify instead of reading it at every
// change (12 µs of an alias move's 400, issue 15): a listener is
// published by a rename into the directory, whose event is queued before
// the rename returns, so a writer that reads the events before it tells
// knows every listener published before its change was announced, as a
// fresh readdir would; any event, or an overflow, makes it read the
// directory again. Without inotify (no instance left to the user, no
// directory yet) it reads the directory every time. Announcing is
// best-effort: it never fails, never throws, and the change it announces is
// already committed.
//
// Why not the writer's own listeners: a mount's handler that makes a
// change replies to the kernel with the new state itself, and waiting for
// its own notifier there would wait for a directory lock the kernel holds
// until that very reply.
//
// Permissions: the store directory is 0700, so only its owner and root
// reach `listeners/` at all. A daemon running as root gives the directory
// and its socket to the store's owner (mode 0700 and 0600), so that the
// owner's CLI can connect to it and unlink it once stale.
//
// Paths: a socket address holds at most 107 bytes; a store may live deeper.
// Longer paths go through the magic link of an open directory
// (`/proc/self/fd/N/name`).
//
// In-process observers (ChangeObservers): besides the sockets, a Registry
// tells callbacks in its own process of every change it commits and of
// every change its listeners hear of, so that a thread of the process (the
// deliverer of automations, delivery/) can wake at once instead of polling.
//
// A listener is published atomically: it binds and listens under a dot
// name (`.<pid>-<random>.tmp`, ignored by writers) and renames it into
// place, so a writer never mistakes a starting listener for a dead one.
// Leftover temporary names of dead processes are removed by the next
// listener that starts.
#ifndef REGFS_REGISTRY_CHANGE_LISTENERS_H_
#define REGFS_REGISTRY_CHANGE_LISTENERS_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "registry/error.h"
#include "registry/mutex.h"
#include "registry/unique_fd.h"

namespace regfs::registry {

// How long a writer waits, per change, for all listeners together.
inline constexpr std::chrono::milliseconds kAnnounceDeadline{1000};
// The directory of listener sockets inside the store.
inline constexpr std::string_view kListenersDir = "listeners";

// Callbacks of this process told of changes (Registry::ObserveChanges).
// Thread-safe. A callback runs on the thread that committed or heard of
// the change, with the observers' mutex held: it must be quick, must not
// throw and must not add or remove observers.
class ChangeObservers final {
 public:
  using OnChange = std::function<void(uint64_t seq)>;
  // Returns the id Remove takes.
  uint64_t Add(OnChange on_change);
  void Remove(uint64_t id);
  void Tell(uint64_t seq) noexcept;

 private:
  Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint64_t, OnChange>> observers_ GUARDED_BY(mu_);
};

// The writer's side. Thread-safe.
class ChangeAnnouncer final {
 public:
  explicit ChangeAnnouncer(std::filesystem::path store)
      : listeners_(std::move(store) / kListenersDir) {}
  ChangeAnnouncer(const ChangeAnnouncer&) = delete;
  ChangeAnnouncer& operator=(const ChangeAnnouncer&) = delete;

  // Tells every listener but the skipped ones that the store holds events
  // up to `seq`, and waits until each has caught up or kAnnounceDeadline
  // has passed. Never fails; unlinks stale sockets; warns once per
  // listener that misses the deadline.
  // This process's observers are told first.
  void Announce(uint64_t seq) noexcept;
  ChangeObservers& observers() { return observers_; }
  // Never announce to the listener with this socket name (this process's).
  void Skip(std::string name);

 private:
  // Listeners that were not told, and why.
  using Unreachable = std::vector<std::pair<std::string, std::string>>;
  // The sockets of listeners/ (their names, and the directory, open, to
  // reach and unlink them by), or nullopt when there is no directory.
  struct Listing {
    std::shared_ptr<const UniqueFd> dir;
    std::vector<std::string> names;
  };
  std::optional<Listing> Listeners();
  // Reads listeners/ afresh.
  std::optional<Listing> ReadListeners() const;
  // Starts watching listeners/ (inotify_), if it can.
  void Watch() REQUIRES(list_mu_);
  // Whether listeners/ may have changed since the last Watch or
  // Changed: reads every event queued. An event that ends the watch
  // (the directory removed or moved, an overflow) ends inotify_ too.
  bool Changed() REQUIRES(list_mu_);
  void AnnounceOrThrow(uint64_t seq);
  // Warns of each unreachable listener, once per listener.
  void WarnUnreachable(uint64_t seq, const Unreachable& unreachable);
  const std::filesystem::path listeners_;
  ChangeObservers observers_;
  Mutex mu_;
  std::set<std::string> skip_ GUARDED_BY(mu_);
  std::set<std::string> warned_ GUARDED_BY(mu_);
  Mutex list_mu_;
  bool listed_ GUARDED_BY(list_mu_) = false;  // Listeners was called before
  UniqueFd inotify_ GUARDED_BY(list_mu_);   // non-blocking, on listeners/
  std::optional<Listing> listing_ GUARDED_BY(list_mu_);  // while watched
};

// The mount's side: a socket in `<store>/listeners/` and a thread that
// answers it. `on_change(seq)` runs on that thread, one announcement at a
// time; the writer is acknowledged when it returns (or throws: then the
// exception is logged). Stop (or the destructor) removes the socket.
class ChangeListener final {
 public:
  using OnChange = std::function<void(uint64_t seq)>;

  static Result<std::unique_ptr<ChangeListener>> Start(
      const std::filesystem::path& store, OnChange on_change);
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;
  ~ChangeListener();

  // The socket's name in `listeners/`.
  const std::string& name() const { return name_; }
  void Stop();

 private:
  ChangeListener(UniqueFd dir, UniqueFd socket, UniqueFd wake,
                 std::string name, OnChange on_change);
  void Run();
  void Answer(int connection);

  const UniqueFd dir_;   // `listeners/`, O_PATH
  UniqueFd socket_;      // listening
  const UniqueFd wake_;  // eventfd: Stop
  const std::string name_;
  const OnChange on_change_;
  std::thread thread_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_CHANGE_LISTENERS_H_
