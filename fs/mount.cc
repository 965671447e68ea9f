#include "fs/mount.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fuse_lowlevel.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "fs/file_system.h"
#include "fs/fuse_ops.h"
#include "fs/mount_table.h"
#include "fs/watchdog.h"
#include "registry/registry.h"
#include "registry/unique_fd.h"

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;
using registry::UniqueFd;

// How the serving process tells the waiting parent that the mount answers
// ("OK") or why it failed ("ERR message"). Without a parent (foreground),
// errors go to stderr.
class ReadyReporter final {
 public:
  explicit ReadyReporter(UniqueFd fd) : fd_(std::move(fd)) {}
  void Ok() { Send("OK"); }
  void Fail(std::string_view message) {
    if (fd_.valid()) {
      Send(fmt::format("ERR {}", message));
    } else {
      std::fprintf(stderr, "regfs: %.*s\n", static_cast<int>(message.size()),
                   message.data());
    }
  }

 private:
  void Send(std::string_view line) {
    if (!fd_.valid()) return;
    const std::string text = fmt::format("{}\n", line);
    (void)!::write(fd_.get(), text.data(), text.size());
    fd_.Reset();
  }
  UniqueFd fd_;
};

// Owns the FUSE session: removes the signal handlers, unmounts and
// destroys it, in that order.
class SessionGuard final {
 public:
  explicit SessionGuard(fuse_session* session) : session_(session) {}
  SessionGuard(const SessionGuard&) = delete;
  SessionGuard& operator=(const SessionGuard&) = delete;
  ~SessionGuard() {
    if (session_ == nullptr) return;
    if (signals_) fuse_remove_signal_handlers(session_);
    if (mounted_) fuse_session_unmount(session_);
    fuse_session_destroy(session_);
  }
  fuse_session* get() const { return session_; }
  void set_signals() { signals_ = true; }
  void set_mounted() { mounted_ = true; }

 private:
  fuse_session* session_;
  bool signals_ = false;
  bool mounted_ = false;
};

// Owns a fuse_args vector.
class FuseArgs final {
 public:
  FuseArgs() = default;
  FuseArgs(const FuseArgs&) = delete;
  FuseArgs& operator=(const FuseArgs&) = delete;
  ~FuseArgs() { fuse_opt_free_args(&args_); }
  void Add(const std::string& arg) { fuse_opt_add_arg(&args_, arg.c_str()); }
  fuse_args* get() { return &args_; }

 private:
  fuse_args args_ = FUSE_ARGS_INIT(0, nullptr);
};

// Backslash-escapes ',' and '\' for a -o option value.
std::string EscapeOption(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A hidden option for tests only: how long staged symlinks wait
// (FileSystemOptions::staged_*), in milliseconds. Not passed to libfuse.
constexpr std::string_view kStagedLifetimeOption = "staged_lifetime_ms=";

// The -o list: ours first (fsname, subtype, allow_other as root), then the
// user's, which libfuse parses (and may override ours with).
std::vector<std::string> MountOptionList(const MountOptions& options,
                                         const stdfs::path& store) {
  std::vector<std::string> list = {"fsname=" + EscapeOption(store.string()),
                                   "subtype=regfs"};
  bool allow_other_default = geteuid() == 0;
  for (const std::string& group : options.fuse_options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view opt = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      if (opt.empty() || opt.starts_with(kStagedLifetimeOption)) continue;
      if (opt == "default_permissions") {
        spdlog::warn(
            "ignoring -o default_permissions: the registry decides "
            "who may change what");
        continue;
      }
      if (opt == "allow_root") allow_other_default = false;
      list.emplace_back(opt);
    }
  }
  if (allow_other_default) list.insert(list.begin() + 2, "allow_other");
  return list;
}

// The value of the last -o NAME=VALUE (`prefix` is "NAME="), if any.
std::optional<std::string_view> OptionValue(const MountOptions& options,
                                            std::string_view prefix) {
  std::optional<std::string_view> value;
  for (const std::string& group : options.fuse_options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view opt = rest.substr(0, comma);
      if (opt.starts_with(prefix)) value = opt.substr(prefix.size());
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  return value;
}

bool HasOption(const MountOptions& options, std::string_view name) {
  for (const std::string& group : options.fuse_options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (rest.substr(0, comma) == name) return true;
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  return false;
}

// Runs `argv` with its output discarded; true if it exited 0.
bool RunQuietly(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

constexpr decltype(statfs::f_type) kFuseSuperMagic = 0x65735546;
constexpr auto kProbeTimeout = std::chrono::seconds(5);

struct StatfsProbe {
  int err = 0;  // statfs's errno, 0 on success
  decltype(statfs::f_type) type = 0;
};

// statfs(path) in a child process, so that a mount whose daemon is stuck
// cannot hang `regfs mount`: a FUSE request not yet read by the daemon
// yields to SIGKILL. nullopt if no answer came within `timeout`.
std::optional<StatfsProbe> ProbeStatfs(const stdfs::path& path,
                                       std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return StatfsProbe{errno, 0};
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t child = ::fork();
  if (child < 0) return StatfsProbe{errno, 0};
  if (child == 0) {
    struct statfs st {};
    StatfsProbe probe;
    if (::statfs(path.c_str(), &st) == 0) {
      probe.type = st.f_type;
    } else {
      probe.err = errno;
    }
    (void)!::write(write_end.get(), &probe, sizeof probe);
    std::_Exit(0);
  }
  write_end.Reset();
  std::optional<StatfsProbe> result;
  pollfd pfd{read_end.get(), POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  StatfsProbe probe;
  if (ready > 0) {
    // An answer, or the end of the pipe: the child died without one.
    if (::read(read_end.get(), &probe, sizeof probe) !=
        static_cast<ssize_t>(sizeof probe)) {
      probe = StatfsProbe{EIO, 0};
    }
    result = probe;
  } else {
    ::kill(child, SIGKILL);
  }
  // Reap it; a child stuck beyond SIGKILL is left to init.
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(child, nullptr, WNOHANG) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result;
}

// What to run so that a mount whose daemon does not answer goes away.
std::string AbortCommand(const stdfs::path& mountpoint) {
  const std::optional<dev_t> device = MountedDevice(mountpoint);
  std::error_code ec;
  if (::geteuid() != 0 && device &&
      stdfs::exists(fmt::format("/sys/fs/fuse/connections/{}/abort",
                                ::minor(*device)),
                    ec)) {
    return fmt::format("echo 1 > /sys/fs/fuse/connections/{}/abort",
                       ::minor(*device));
  }
  return fmt::format("umount -f {}{}", mountpoint.string(),
                     ::geteuid() == 0 ? "" : " (as root)");
}

// Checks the mount point; detaches a dead FUSE mount left by a killed
// daemon. Returns an error message, or nullopt when the mount can go on.
std::optional<std::string> PrepareMountpoint(const stdfs::path& mountpoint) {
  // statfs, not stat: right after a daemon dies, the kernel may still
  // answer stat from its attribute cache, but statfs asks the dead daemon
  // and fails with ENOTCONN.
  const std::optional<StatfsProbe> probe =
      ProbeStatfs(mountpoint, kProbeTimeout);
  if (!probe) {
    return fmt::format(
        "{} does not answer within {} s: the FUSE daemon serving it is "
        "stuck or dead. If no regfs daemon serves it any more, run: {}",
        mountpoint.string(), kProbeTimeout.count(), AbortCommand(mountpoint));
  }
  if (probe->err == 0) {
    struct stat st {};
    if (::stat(mountpoint.c_str(), &st) != 0) {
      return fmt::format("{}: {}", mountpoint.string(), std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return fmt::format("{}: not a directory", mountpoint.string());
    }
    if (probe->type == kFuseSuperMagic && MountedDevice(mountpoint)) {
      return fmt::format(
          "{0} is already a FUSE mount; unmount it first (umount {0})",
          mountpoint.string());
    }
    return std::nullopt;
  }
  const int err = probe->err;
  if (err != ENOTCONN) {
    return fmt::format("{}: {}", mountpoint.string(), std::strerror(err));
  }
  bool detached = false;
  if (geteuid() == 0) detached = ::umount2(mountpoint.c_str(), MNT_DETACH) == 0;
  if (!detached) {
    detached = RunQuietly({"fusermount3", "-u", "-z", mountpoint.string()});
  }
  struct statfs after {};
  if (detached && ::statfs(mountpoint.c_str(), &after) == 0) {
    std::fprintf(stderr,
                 "regfs: %s was a dead mount left by a killed daemon; "
                 "detached it\n",
                 mountpoint.c_str());
    return std::nullopt;
  }
  return fmt::format(
      "{0} is a dead mount left by a killed daemon; run: fusermount3 -u {0}",
      mountpoint.string());
}

// A log file grows to kLogFileBytes, then is renamed NAME.1.EXT (the
// older ones shift up to NAME.{kLogFileBackups}.EXT, the oldest is
// removed) and a new one is started.
constexpr size_t kLogFileBytes = 10 * 1024 * 1024;
constexpr size_t kLogFileBackups = 3;

std::shared_ptr<spdlog::logger> FileLogger(const std::string& path) {
  return spdlog::rotating_logger_mt("mount", path, kLogFileBytes,
                                    kLogFileBackups);
}

// Sets the default logger. Foreground: stderr unless a log file is given.
// Daemon: the log file, else STORE/regfs-mount.log, else nothing. Files
// are size-bounded (FileLogger).
std::optional<std::string> SetUpLogging(const MountOptions& options,
                                        const stdfs::path& store) {
  const spdlog::level::level_enum level =
      spdlog::level::from_str(options.log_level);
  if (level == spdlog::level::off && options.log_level != "off") {
    return fmt::format("unknown log level '{}'", options.log_level);
  }
  std::shared_ptr<spdlog::logger> logger;
  spdlog::drop("mount");
  try {
    if (!options.log_file.empty()) {
      logger = FileLogger(options.log_file);
    } else if (options.foreground) {
      logger = spdlog::stderr_logger_mt("mount");
    } else {
      try {
        logger = FileLogger((store / "regfs-mount.log").string());
      } catch (const spdlog::spdlog_ex&) {
        logger = spdlog::null_logger_mt("mount");
      }
    }
  } catch (const spdlog::spdlog_ex& e) {
    return fmt::format("cannot open log file {}: {}", options.log_file,
                       e.what());
  }
  logger->set_level(HasOption(options, "debug") ? spdlog::level::debug : level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%P] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return std::nullopt;
}

void DetachStdio() {
  std::fflush(stdout);
  std::fflush(stderr);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  ::close(null);
}

// Mounts and serves until unmounted. Returns the exit code.
int Serve(const MountOptions& options, const stdfs::path& store,
          const stdfs::path& mountpoint, ReadyReporter& ready, bool detach) {
  if (auto error = SetUpLogging(options, store)) {
    ready.Fail(*error);
    return 1;
  }
  auto registry = registry::Registry::Open(store);
  if (!registry) {
    // Open's messages mostly name the store already: say it once.
    const std::string& why = registry.error().message;
    ready.Fail(
        why.find(store.string()) != std::string::npos
            ? why
            : fmt::format("cannot open the store {}: {}", store.string(), why));
    return 1;
  }
  struct stat store_st {};
  ::stat(store.c_str(), &store_st);
  FileSystemOptions fs_options;
  fs_options.owner_uid = store_st.st_uid;
  fs_options.owner_gid = store_st.st_gid;
  if (auto text = OptionValue(options, kStagedLifetimeOption)) {
    int64_t ms = 0;
    const auto [end, ec] =
        std::from_chars(text->data(), text->data() + text->size(), ms);
    if (ec != std::errc() || end != text->data() + text->size() || ms < 1 ||
        ms > 3600 * 1000) {
      ready.Fail(fmt::format(
          "-o {}{}: expected milliseconds from 1 to 3600000",
          kStagedLifetimeOption, *text));
      return 1;
    }
    fs_options.staged_private_lifetime = std::chrono::milliseconds(ms);
    fs_options.staged_commit_after = std::chrono::milliseconds(ms);
    spdlog::warn("staged symlinks wait {} ms (-o {}{}: for tests only)", ms,
                 kStagedLifetimeOption, ms);
  }
  fs_options.mountpoint = mountpoint.string();
  std::string frozen;
  if (!options.as_of.empty()) {
    auto seq = (*registry)->SeqAt(options.as_of);
    if (!seq) {
      ready.Fail(fmt::format("--as-of {}: {}", options.as_of,
                             seq.error().message));
      return 1;
    }
    fs_options.as_of = *seq;
    frozen = fmt::format(", frozen after event {} (--as-of {})", *seq,
                         options.as_of);
  }
  FileSystem file_system(**registry, fs_options);

  FuseArgs args;
  args.Add("regfs");
  std::string joined;
  for (const std::string& opt : MountOptionList(options, store)) {
    joined += (joined.empty() ? "" : ",") + opt;
  }
  if (fs_options.as_of) joined += ",ro";
  args.Add("-o");
  args.Add(joined);
  // Declared before the session, so that it still watches while the
  // session unmounts.
  Watchdog watchdog;
  SessionGuard session(fuse_session_new(
      args.get(), &FuseOps(), sizeof(fuse_lowlevel_ops), &file_system));
  if (session.get() == nullptr) {
    ready.Fail(fmt::format("invalid mount options: {}", joined));
    return 1;
  }
  if (fuse_set_signal_handlers(session.get()) != 0) {
    ready.Fail("cannot install signal handlers");
    return 1;
  }
  session.set_signals();
  if (fuse_session_mount(session.get(), mountpoint.c_str()) != 0) {
    ready.Fail(fmt::format("cannot mount {} at {}", store.string(),
                           mountpoint.string()));
    return 1;
  }
  session.set_mounted();
  // Before any thread starts: the watchdog is forked.
  if (const std::optional<dev_t> device = MountedDevice(mountpoint)) {
    watchdog.Start(*device, mountpoint, /*keep_stderr=*/!detach,
                   [&] { return !SetUpLogging(options, store).has_value(); });
  } else {
    spdlog::warn("no watchdog: {} is not in /proc/self/mountinfo",
                 mountpoint.string());
  }
  file_system.Start(session.get());
  spdlog::info("mounted {} at {} (-o {}){}", store.string(),
               mountpoint.string(), joined, frozen);
  ready.Ok();
  if (detach) DetachStdio();

  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_max_threads(config, 16);
  const int rc = fuse_session_loop_mt(session.get(), config);
  fuse_loop_cfg_destroy(config);
  file_system.Stop([&] { watchdog.AbortNow(); });
  const registry::Registry::BatchStats batches = (*registry)->GetBatchStats();
  if (batches.moves > 0) {
    spdlog::info("{} alias moves in {} commits (at most {} in one)",
                 batches.moves, batches.commits, batches.largest);
  }
  spdlog::info("unmounting {} ({})", mountpoint.string(),
               rc > 0   ? fmt::format("signal {}", rc)
               : rc < 0 ? std::strerror(-rc)
                        : "unmounted");
  return rc < 0 ? 1 : 0;
}

// The parent's side: waits for the child's line, prints its error.
int AwaitChild(pid_t child, UniqueFd fd) {
  std::string line;
  char c = 0;
  while (true) {
    const ssize_t n = ::read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  if (line == "OK") return 0;
  if (line.starts_with("ERR ")) {
    std::fprintf(stderr, "regfs: %s\n", line.c_str() + 4);
  } else {
    int status = 0;
    waitpid(child, &status, 0);
    std::fprintf(stderr, "regfs: the mount daemon exited before mounting\n");
  }
  return 1;
}

}  // namespace

int RunMount(const MountOptions& options) {
  std::error_code ec;
  const stdfs::path store = stdfs::absolute(
      options.store.empty() ? registry::Registry::DefaultStorePath()
                            : options.store,
      ec);
  // As the kernel spells it (mountinfo), without asking the mount itself.
  const stdfs::path mountpoint =
      ResolveParent(stdfs::absolute(options.mountpoint, ec));
  if (ec || mountpoint.empty()) {
    std::fprintf(stderr, "regfs: bad mount point %s\n",
                 options.mountpoint.c_str());
    return 1;
  }
  if (auto error = PrepareMountpoint(mountpoint)) {
    std::fprintf(stderr, "regfs: %s\n", error->c_str());
    return 1;
  }
  if (options.foreground) {
    ReadyReporter ready{UniqueFd()};
    return Serve(options, store, mountpoint, ready, /*detach=*/false);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "regfs: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "regfs: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child > 0) {
    write_end.Reset();
    return AwaitChild(child, std::move(read_end));
  }
  read_end.Reset();
  setsid();
  if (::chdir("/") != 0) {
    // Not fatal: all paths are absolute.
  }
  ReadyReporter ready(std::move(write_end));
  const int rc = Serve(options, store, mountpoint, ready, /*detach=*/true);
  spdlog::shutdown();
  std::_Exit(rc);
}

}  // namespace regfs::fs
