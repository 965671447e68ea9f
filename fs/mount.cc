// `regfs mount`: opens the store, mounts it and serves FUSE requests until
// unmounted, with the caller's MountService (delivery) running beside.
// The -o options are read in mount_options.cc, the mount point is checked
// in mount_point.cc, the daemon is made in mount_daemon.cc.
#include "fs/mount.h"

#include <fmt/format.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "fs/file_system.h"
#include "fs/fuse_ops.h"
#include "fs/mount_daemon.h"
#include "fs/mount_options.h"
#include "fs/mount_point.h"
#include "fs/mount_table.h"
#include "fs/watchdog.h"
#include "registry/background_thread.h"
#include "registry/registry.h"
#include "registry/unique_fd.h"

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;
using registry::UniqueFd;

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

// The file system's options: the store's owner, -o staged_lifetime_ms and
// --as-of. An error's message is for the user.
registry::Result<FileSystemOptions> FileSystemOptionsFor(
    const MountOptions& options, registry::Registry& reg,
    const stdfs::path& store, const stdfs::path& mountpoint) {
  // The store's owner owns the root and .regfs: without it they would
  // show as root's.
  struct stat store_st {};
  if (::stat(store.c_str(), &store_st) != 0) {
    return registry::Fail(registry::Code::kIoError,
                          fmt::format("cannot stat the store {}: {}",
                                      store.string(), std::strerror(errno)));
  }
  FileSystemOptions fs_options;
  fs_options.owner_uid = store_st.st_uid;
  fs_options.owner_gid = store_st.st_gid;
  REGFS_ASSIGN_OR_RETURN(const auto lifetime, StagedLifetime(options));
  if (lifetime) {
    const auto ms = lifetime->count();
    fs_options.staged_private_lifetime = *lifetime;
    fs_options.staged_commit_after = *lifetime;
    spdlog::warn("staged symlinks wait {} ms (-o {}{}: for tests only)", ms,
                 kStagedLifetimeOption, ms);
  }
  fs_options.passthrough = !HasOption(options, kNoPassthroughOption);
  fs_options.draft_passthrough =
      fs_options.passthrough && HasOption(options, kDraftPassthroughOption);
  if (!fs_options.passthrough && HasOption(options, kDraftPassthroughOption)) {
    spdlog::warn("-o draftpassthrough is off with -o nopassthrough: drafts "
                 "are written through the daemon");
  }
  fs_options.mountpoint = mountpoint.string();
  if (!options.as_of.empty()) {
    auto seq = reg.SeqAt(options.as_of);
    if (!seq) {
      return registry::Fail(seq.error().code,
                            fmt::format("--as-of {}: {}", options.as_of,
                                        seq.error().message));
    }
    fs_options.as_of = *seq;
  }
  return fs_options;
}

// The -o string for libfuse; read-only for a frozen mount.
std::string FuseOptionString(const MountOptions& options,
                             const stdfs::path& store, bool frozen) {
  std::string joined;
  for (const std::string& opt : MountOptionList(options, store)) {
    joined += (joined.empty() ? "" : ",") + opt;
  }
  if (frozen) joined += ",ro";
  return joined;
}

// Serves requests with libfuse's threads until unmounted or signalled;
// returns fuse_session_loop_mt's code.
int ServeRequests(fuse_session* session) {
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(config, 0);
  fuse_loop_cfg_set_max_threads(config, 16);
  const int rc = fuse_session_loop_mt(session, config);
  fuse_loop_cfg_destroy(config);
  return rc;
}

void LogUnmount(registry::Registry& reg, const stdfs::path& mountpoint,
                int rc) {
  const registry::Registry::BatchStats batches = reg.GetBatchStats();
  if (batches.moves > 0) {
    spdlog::info("{} alias moves in {} commits (at most {} in one)",
                 batches.moves, batches.commits, batches.largest);
  }
  spdlog::info("unmounting {} ({})", mountpoint.string(),
               rc > 0   ? fmt::format("signal {}", rc)
               : rc < 0 ? std::strerror(-rc)
                        : "unmounted");
}

// Installs the session's signal handlers and mounts it at `mountpoint`.
// Returns an error message, or nullopt.
std::optional<std::string> Mount(SessionGuard& session,
                                 const stdfs::path& store,
                                 const stdfs::path& mountpoint,
                                 const std::string& joined) {
  if (session.get() == nullptr) {
    return fmt::format("invalid mount options: {}", joined);
  }
  if (fuse_set_signal_handlers(session.get()) != 0) {
    return "cannot install signal handlers";
  }
  session.set_signals();
  if (fuse_session_mount(session.get(), mountpoint.c_str()) != 0) {
    return fmt::format("cannot mount {} at {}", store.string(),
                       mountpoint.string());
  }
  session.set_mounted();
  return std::nullopt;
}

// Starts the watchdog of the mount at `mountpoint` (a forked process),
// which logs as the daemon does.
void StartWatchdog(Watchdog& watchdog, const MountOptions& options,
                   const stdfs::path& store, const stdfs::path& mountpoint,
                   bool detach) {
  if (const std::optional<dev_t> device = MountedDevice(mountpoint)) {
    watchdog.Start(*device, mountpoint, /*keep_stderr=*/!detach,
                   [&] { return !SetUpLogging(options, store).has_value(); });
  } else {
    spdlog::warn("no watchdog: {} is not in /proc/self/mountinfo",
                 mountpoint.string());
  }
}

// Why the store did not open, for the user. Open's messages mostly name
// the store already: say it once.
std::string OpenError(const stdfs::path& store, const registry::Error& e) {
  return e.message.find(store.string()) != std::string::npos
             ? e.message
             : fmt::format("cannot open the store {}: {}", store.string(),
                           e.message);
}

// Mounts and serves until unmounted. Returns the exit code.
int Serve(const MountOptions& options, const stdfs::path& store,
          const stdfs::path& mountpoint, ReadyReporter& ready, bool detach) {
  // Before any thread: each of the daemon's threads (FUSE workers, the
  // watcher, services) would get a malloc arena of its own, and its memory
  // would spread over them. Two keep it within its bound (BENCHMARKS.md,
  // "Scale": 52-54 MiB under load at 100k versions, against 58-65 MiB with
  // one per thread), and cost no throughput on this load. A
  // MALLOC_ARENA_MAX in the environment still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  // Every write transaction has SQLite allocate about 150 KiB (a
  // savepoint's journal chunk of 64 KiB, and 85 KiB when it begins) and
  // free it at the end; by default malloc gave that back to the kernel
  // each time and took it again at the next: a brk or madvise call each
  // way, on every alias move (issue 15: 3-5% of symlink+rename pairs per
  // second). Kept below 1 MiB, and heaps grown 256 KiB ahead, it stays.
  // MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_ still decide.
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) {
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
  }
  if (std::getenv("MALLOC_TOP_PAD_") == nullptr) mallopt(M_TOP_PAD, 256 << 10);
  if (auto error = SetUpLogging(options, store)) {
    ready.Fail(*error);
    return 1;
  }
  auto registry = registry::Registry::Open(store);
  if (!registry) {
    ready.Fail(OpenError(store, registry.error()));
    return 1;
  }
  auto fs_options =
      FileSystemOptionsFor(options, **registry, store, mountpoint);
  if (!fs_options) {
    ready.Fail(fs_options.error().message);
    return 1;
  }
  FileSystem file_system(**registry, *fs_options);

  FuseArgs args;
  args.Add("regfs");
  const std::string joined =
      FuseOptionString(options, store, fs_options->as_of.has_value());
  args.Add("-o");
  args.Add(joined);
  // Declared before the session, so that it still watches while the
  // session unmounts.
  Watchdog watchdog;
  SessionGuard session(fuse_session_new(
      args.get(), &FuseOps(), sizeof(fuse_lowlevel_ops), &file_system));
  if (auto error = Mount(session, store, mountpoint, joined)) {
    ready.Fail(*error);
    return 1;
  }
  // Before any thread starts: the watchdog is forked.
  StartWatchdog(watchdog, options, store, mountpoint, detach);
  file_system.Start(session.get());
  spdlog::info("mounted {} at {} (-o {}){}", store.string(),
               mountpoint.string(), joined,
               fs_options->as_of
                   ? fmt::format(", frozen after event {} (--as-of {})",
                                 *fs_options->as_of, options.as_of)
                   : "");
  ready.Ok();
  if (detach) DetachStdio();
  // After the watchdog's fork: a service may start threads, which start
  // with the termination signals blocked as the daemon's others do.
  std::unique_ptr<MountService> service;
  if (options.service && !fs_options->as_of) {
    registry::WithSignalsBlocked(
        [&] { service = options.service(**registry); });
  }

  const int rc = ServeRequests(session.get());
  file_system.Stop([&] { watchdog.AbortNow(); });
  // After the file system's last commits (staged symlinks), which the
  // next deliverer delivers if this one does not get to them.
  service.reset();
  LogUnmount(**registry, mountpoint, rc);
  return rc < 0 ? 1 : 0;
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
  return RunDetached([&](ReadyReporter& ready) {
    return Serve(options, store, mountpoint, ready, /*detach=*/true);
  });
}

}  // namespace regfs::fs
