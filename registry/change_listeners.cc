#include "registry/change_listeners.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

#include "registry/background_thread.h"

namespace regfs::registry {

namespace {

using Clock = std::chrono::steady_clock;

// A leftover temporary name older than this belongs to a listener that
// died while starting.
constexpr std::chrono::seconds kTemporaryAge{60};
constexpr int kBacklog = 64;

// The address of `name` in the directory `dir_path`, open as `dir_fd`:
// through /proc/self/fd when the plain path is too long for sun_path.
std::optional<sockaddr_un> Address(const std::filesystem::path& dir_path,
                                   int dir_fd, std::string_view name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (dir_path / name).string();
  if (path.size() >= sizeof(addr.sun_path)) {
    path = fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
  }
  if (path.size() >= sizeof(addr.sun_path)) return std::nullopt;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

int Connect(int fd, const sockaddr_un& addr) {
  return ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
}

struct Pending {
  std::string name;
  UniqueFd fd;
};

// Listeners that were not told, and why (as ChangeAnnouncer::Unreachable).
using Unreachable = std::vector<std::pair<std::string, std::string>>;

// Connects to the listener `name` in `dir` (open at `dir_fd`) and sends it
// `seq`: the socket to await its answer on, or none. Unlinks a stale
// listener; adds one that cannot be reached now to `unreachable`.
std::optional<UniqueFd> Tell(const std::filesystem::path& dir, int dir_fd,
                             const std::string& name, uint64_t seq,
                             Unreachable& unreachable) {
  const auto addr = Address(dir, dir_fd, name);
  UniqueFd socket(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!addr || !socket.valid()) return std::nullopt;
  if (Connect(socket.get(), *addr) != 0) {
    const int err = errno;
    if (err == ECONNREFUSED) {
      // Nobody listens: its daemon died. Forget it.
      (void)::unlinkat(dir_fd, name.c_str(), 0);
      spdlog::debug("removed the stale listener {}", name);
    } else if (err != ENOENT) {
      // EAGAIN: its backlog is full, it has stopped answering.
      unreachable.emplace_back(name, std::strerror(err));
    }
    return std::nullopt;
  }
  // An empty socket buffer takes 8 bytes at once; failing, the peer is
  // gone, and the next writer finds its socket refused.
  if (::send(socket.get(), &seq, sizeof(seq), MSG_NOSIGNAL | MSG_DONTWAIT) !=
      static_cast<ssize_t>(sizeof(seq))) {
    return std::nullopt;
  }
  return socket;
}

// Waits until each of `pending` has answered (or hung up) or
// kAnnounceDeadline has passed; removes those that did.
void AwaitAcknowledgements(std::vector<Pending>& pending) {
  const auto deadline = Clock::now() + kAnnounceDeadline;
  std::vector<pollfd> fds;
  while (!pending.empty()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) break;
    fds.clear();
    for (const Pending& p : pending) fds.push_back({p.fd.get(), POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    // An acknowledgement, or a hang-up of a listener that died meanwhile.
    for (size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      char ack = 0;
      (void)::recv(fds[i].fd, &ack, 1, MSG_DONTWAIT);
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

// The store's listeners/ directory, created if missing.
struct ListenersDir {
  UniqueFd fd;  // O_PATH
  std::filesystem::path path;
  struct stat store_st {};
  // Root's daemon: the owner's CLI must reach and clean the sockets, so
  // they (and the directory) belong to the store's owner.
  bool give_away = false;
};

Result<ListenersDir> OpenListenersDir(const std::filesystem::path& store) {
  UniqueFd store_fd(::open(store.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!store_fd.valid()) {
    return std::unexpected(PosixError("open", store.string(), errno));
  }
  ListenersDir dir;
  if (::fstat(store_fd.get(), &dir.store_st) != 0) {
    return std::unexpected(PosixError("stat", store.string(), errno));
  }
  dir.path = store / kListenersDir;
  const std::string dir_name(kListenersDir);
  if (::mkdirat(store_fd.get(), dir_name.c_str(), 0700) != 0 &&
      errno != EEXIST) {
    return std::unexpected(PosixError("mkdir", dir.path.string(), errno));
  }
  dir.fd.Reset(::openat(store_fd.get(), dir_name.c_str(),
                        O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.fd.valid()) {
    return std::unexpected(PosixError("open", dir.path.string(), errno));
  }
  dir.give_away = ::geteuid() == 0 && dir.store_st.st_uid != 0;
  if (dir.give_away && ::fchownat(dir.fd.get(), "", dir.store_st.st_uid,
                                  dir.store_st.st_gid, AT_EMPTY_PATH) != 0) {
    return std::unexpected(PosixError("chown", dir.path.string(), errno));
  }
  return dir;
}

// Removes temporary names that dead listeners left (see the header).
void RemoveOldTemporaries(int dir_fd) {
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return;
  }
  const auto cutoff = std::chrono::system_clock::now() - kTemporaryAge;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (!name.starts_with('.') || !name.ends_with(".tmp")) continue;
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (std::chrono::system_clock::from_time_t(st.st_mtime) < cutoff) {
      (void)::unlinkat(dir_fd, entry->d_name, 0);
    }
  }
  ::closedir(dir);
}

std::string RandomHex() {
  uint64_t value = 0;
  if (::getrandom(&value, sizeof(value), 0) != sizeof(value)) {
    value = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
            (static_cast<uint64_t>(::getpid()) << 32);
  }
  return fmt::format("{:016x}", value);
}

}  // namespace

// ---- Writer ----------------------------------------------------------------

void ChangeAnnouncer::Skip(std::string name) {
  MutexLock lock(mu_);
  skip_.insert(std::move(name));
}

uint64_t ChangeObservers::Add(OnChange on_change) {
  MutexLock lock(mu_);
  observers_.emplace_back(++next_id_, std::move(on_change));
  return next_id_;
}

void ChangeObservers::Remove(uint64_t id) {
  MutexLock lock(mu_);
  std::erase_if(observers_, [id](const auto& o) { return o.first == id; });
}

void ChangeObservers::Tell(uint64_t seq) noexcept {
  MutexLock lock(mu_);
  for (const auto& observer : observers_) {
    try {
      observer.second(seq);
    } catch (const std::exception& e) {
      spdlog::warn("an observer of change {}: {}", seq, e.what());
    } catch (...) {
      spdlog::warn("an observer of change {}: unknown exception", seq);
    }
  }
}

void ChangeAnnouncer::Announce(uint64_t seq) noexcept {
  observers_.Tell(seq);
  try {
    AnnounceOrThrow(seq);
  } catch (const std::exception& e) {
    spdlog::warn("telling the mounts of change {}: {}", seq, e.what());
  } catch (...) {
    spdlog::warn("telling the mounts of change {}: unknown exception", seq);
  }
}

std::optional<ChangeAnnouncer::Listing> ChangeAnnouncer::ReadListeners() const {
  // No mount has ever run: this failed open is all it costs.
  auto dir_fd = std::make_shared<UniqueFd>(
      ::open(listeners_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd->valid()) return std::nullopt;
  const int fd =
      ::openat(dir_fd->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
  if (!dir) {
    ::close(fd);
    return std::nullopt;
  }
  Listing listing{std::move(dir_fd), {}};
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name.starts_with('.') || !name.ends_with(".sock")) continue;
    listing.names.push_back(std::move(name));
  }
  return listing;
}

void ChangeAnnouncer::Watch() {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return;
  constexpr uint32_t kEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                               IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                               IN_ONLYDIR | IN_DONT_FOLLOW;
  if (::inotify_add_watch(fd.get(), listeners_.c_str(), kEvents) < 0) return;
  inotify_ = std::move(fd);
}

bool ChangeAnnouncer::Changed() {
  alignas(inotify_event) char buffer[4096];
  bool changed = false;
  for (;;) {
    const ssize_t n = ::read(inotify_.get(), buffer, sizeof(buffer));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN: all read. Anything else: watch no more.
      if (n == 0 || errno != EAGAIN) inotify_.Reset();
      return changed || !inotify_.valid();
    }
    changed = true;
    for (ssize_t at = 0; at < n;) {
      inotify_event event;
      std::memcpy(&event, buffer + at, sizeof(event));
      if (event.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF |
                        IN_Q_OVERFLOW | IN_UNMOUNT)) {
        inotify_.Reset();
        return true;
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + event.len);
    }
  }
}

std::optional<ChangeAnnouncer::Listing> ChangeAnnouncer::Listeners() {
  MutexLock lock(list_mu_);
  if (inotify_.valid() && listing_ && !Changed()) return listing_;
  listing_.reset();
  // From the second change on; watched before the directory is read, so
  // that no change to it after the read goes unseen.
  if (!inotify_.valid() && listed_) Watch();
  listed_ = true;
  auto listing = ReadListeners();
  if (!listing) {
    inotify_.Reset();  // no directory: watch it once there is one
    return std::nullopt;
  }
  if (inotify_.valid()) listing_ = listing;
  return listing;
}

void ChangeAnnouncer::AnnounceOrThrow(uint64_t seq) {
  const auto listing = Listeners();
  if (!listing) return;
  std::vector<Pending> pending;
  Unreachable unreachable;
  for (const std::string& name : listing->names) {
    {
      MutexLock lock(mu_);
      if (skip_.contains(name)) continue;
    }
    auto socket = Tell(listeners_, listing->dir->get(), name, seq, unreachable);
    if (socket) pending.push_back(Pending{name, std::move(*socket)});
  }

  AwaitAcknowledgements(pending);
  for (const Pending& p : pending) {
    unreachable.emplace_back(
        p.name,
        fmt::format("no answer within {} ms", kAnnounceDeadline.count()));
  }
  WarnUnreachable(seq, unreachable);
}

void ChangeAnnouncer::WarnUnreachable(uint64_t seq,
                                      const Unreachable& unreachable) {
  for (const auto& [name, why] : unreachable) {
    {
      MutexLock lock(mu_);
      if (!warned_.insert(name).second) continue;
    }
    spdlog::warn(
        "the mount daemon listening at {} was not told of change {} ({}); "
        "its mount shows changes late until it answers again",
        (listeners_ / name).string(), seq, why);
  }
}

// ---- Listener ---------------------------------------------------------------

Result<std::unique_ptr<ChangeListener>> ChangeListener::Start(
    const std::filesystem::path& store, OnChange on_change) {
  auto listeners = OpenListenersDir(store);
  REGFS_TRY(listeners);
  UniqueFd& dir = listeners->fd;
  const std::filesystem::path& dir_path = listeners->path;
  const bool give_away = listeners->give_away;
  const struct stat& store_st = listeners->store_st;
  RemoveOldTemporaries(dir.get());

  const std::string id = fmt::format("{}-{}", ::getpid(), RandomHex());
  std::string name = id + ".sock";
  const std::string temporary = "." + id + ".tmp";
  UniqueFd socket(
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.valid()) {
    return std::unexpected(PosixError("socket", dir_path.string(), errno));
  }
  const auto addr = Address(dir_path, dir.get(), temporary);
  if (!addr) {
    return Fail(Code::kInvalidArgument,
                fmt::format("no socket address fits {}", dir_path.string()));
  }
  const std::string temporary_path = (dir_path / temporary).string();
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&*addr),
             sizeof(*addr)) != 0) {
    return std::unexpected(PosixError("bind", temporary_path, errno));
  }
  auto fail = [&](std::string_view what) {
    const Error error = PosixError(what, temporary_path, errno);
    (void)::unlinkat(dir.get(), temporary.c_str(), 0);
    return std::unexpected(error);
  };
  if (::fchmodat(dir.get(), temporary.c_str(), 0600, 0) != 0) {
    return fail("chmod");
  }
  if (give_away && ::fchownat(dir.get(), temporary.c_str(), store_st.st_uid,
                              store_st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail("chown");
  }
  if (::listen(socket.get(), kBacklog) != 0) return fail("listen");
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return fail("eventfd");
  if (::renameat(dir.get(), temporary.c_str(), dir.get(), name.c_str()) != 0) {
    return fail("rename");
  }
  return std::unique_ptr<ChangeListener>(
      new ChangeListener(std::move(dir), std::move(socket), std::move(wake),
                         std::move(name), std::move(on_change)));
}

ChangeListener::ChangeListener(UniqueFd dir, UniqueFd socket, UniqueFd wake,
                               std::string name, OnChange on_change)
    : dir_(std::move(dir)),
      socket_(std::move(socket)),
      wake_(std::move(wake)),
      name_(std::move(name)),
      on_change_(std::move(on_change)) {
  thread_ = StartBackgroundThread([this] { Run(); });
}

ChangeListener::~ChangeListener() { Stop(); }

void ChangeListener::Stop() {
  if (!thread_.joinable()) return;
  // Unlinked before it closes: no writer takes it for a dead one meanwhile
  // (a refused connect would only unlink it anyway).
  (void)::unlinkat(dir_.get(), name_.c_str(), 0);
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  thread_.join();
  socket_.Reset();
}

void ChangeListener::Run() {
  while (true) {
    pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("change listener {}: poll: {}", name_,
                   std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    UniqueFd connection(
        ::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.valid()) Answer(connection.get());
  }
}

// Reads one announcement (the writer sends it right after connecting) and
// acknowledges it once `on_change_` has returned.
void ChangeListener::Answer(int connection) {
  uint64_t seq = 0;
  size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(&seq);
  while (got < sizeof(seq)) {
    pollfd fd{connection, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(kAnnounceDeadline.count())) <= 0) {
      return;
    }
    const ssize_t n = ::recv(connection, bytes + got, sizeof(seq) - got, 0);
    if (n <= 0) return;
    got += static_cast<size_t>(n);
  }
  try {
    on_change_(seq);
  } catch (const std::exception& e) {
    spdlog::warn("change listener {}: catching up with change {}: {}", name_,
                 seq, e.what());
  }
  const char ack = 1;
  (void)::send(connection, &ack, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace regfs::registry
