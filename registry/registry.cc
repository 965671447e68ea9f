// Registry: creating and opening a store.
#include "registry/registry.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "registry/registry_impl.h"
#include "registry/shared_store.h"
#include "registry/sql/postgres.h"
#include "registry/sql/schema.h"
#include "registry/sql/settings.h"
#include "registry/sql/sqlite.h"

namespace regfs::registry {

namespace {

constexpr std::string_view kDbName = Registry::kDatabaseFileName;

}  // namespace

std::filesystem::path Registry::DefaultStorePath() {
  if (const char* env = std::getenv("REGFS_STORE"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "regfs";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".local/share/regfs";
  }
  return std::filesystem::path("/var/lib/regfs");
}

Registry::Registry(std::filesystem::path store, OpenOptions options)
    : store_(std::move(store)),
      impl_(std::make_unique<Impl>(store_, std::move(options))) {}

Registry::~Registry() = default;

namespace {

// The main connection of a shared store: its calls bounded by the
// configured timeout.
sql::ConnectExtra ExtraFor(const SharedStoreConfig& config) {
  return {.application_name = "regfs", .reply_timeout = config.timeout};
}

// Makes `store` (mode 0700, owned by `owner`) for Init and
// InitSharedStore;
// AlreadyExists if it holds a registry of either kind.
Status MakeStoreDir(const std::filesystem::path& store, const Identity& owner) {
  if (::mkdir(store.c_str(), 0700) != 0) {
    if (errno != EEXIST) {
      return std::unexpected(
          PosixError("cannot create store", store.string(), errno));
    }
    struct stat st;
    for (const std::string_view name : {kDbName, kSharedStoreConfigName}) {
      if (::stat((store / name).c_str(), &st) == 0) {
        return Fail(Code::kAlreadyExists,
                    fmt::format("{} already holds a registry", store.string()));
      }
    }
    if (::chmod(store.c_str(), 0700) != 0) {
      return std::unexpected(PosixError("chmod", store.string(), errno));
    }
  }
  if (::chown(store.c_str(), owner.uid, owner.gid) != 0 && errno != EPERM) {
    return std::unexpected(PosixError("chown", store.string(), errno));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Registry>> Registry::Init(
    const std::filesystem::path& store, const Identity& owner,
    OpenOptions options) {
  REGFS_TRY(MakeStoreDir(store, owner));
  std::unique_ptr<Registry> reg(
      new Registry(store, std::move(options)));
  Impl& impl = *reg->impl_;
  impl.AssertUnshared();  // reg is not shared yet: see AssertUnshared
  REGFS_TRY(impl.blobs.Create());
  auto db = sql::SqliteConnection::Open(store / kDbName, /*create=*/true,
                                        impl.options.durable);
  REGFS_TRY(db);
  impl.db = std::move(*db);
  REGFS_TRY(sql::schema::Migrate(*impl.db));
  for (auto [k, v] : {std::pair<std::string, std::string>{
                          "owner_uid", std::to_string(owner.uid)},
                      {"owner", owner.user},
                      {"created", FormatTime(NowMs())}}) {
    REGFS_TRY(sql::PutSetting(*impl.db, k, v));
  }
  impl.owner_uid = owner.uid;
  return reg;
}

// SQLite gives registry.db-shm (and -wal) the database's mode when it
// makes them, and keeps the -shm: a run while registry.db was 0444 leaves
// one that no later connection can write ("attempt to write a readonly
// database", naming no file). The caller's own such file is made writable
// again (its content stays valid: only the mode changes); anyone else's is
// an error that names it.
Status CheckSidecars(const std::filesystem::path& store) {
  for (const char* suffix : {"-shm", "-wal"}) {
    const std::filesystem::path path = store / (std::string(kDbName) + suffix);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;  // SQLite makes it
    if (::access(path.c_str(), R_OK | W_OK) == 0 || errno != EACCES) continue;
    if (st.st_uid == ::geteuid() &&
        ::chmod(path.c_str(), (st.st_mode & 0777) | S_IRUSR | S_IWUSR) == 0) {
      continue;
    }
    return Fail(
        Code::kPermissionDenied,
        fmt::format("{} is not writable (left by a run while {} was "
                    "read-only, or by another user?): make it writable or "
                    "remove it while no regfs process uses the store",
                    path.string(), kDbName));
  }
  return {};
}

Result<std::unique_ptr<Registry>> Registry::Open(
    const std::filesystem::path& store, OpenOptions options) {
  REGFS_ASSIGN_OR_RETURN(auto shared, ReadSharedStoreConfig(store));
  if (shared) {
    std::unique_ptr<Registry> reg(
        new Registry(store, std::move(options)));
    Impl& impl = *reg->impl_;
    impl.AssertUnshared();  // reg is not shared yet: see AssertUnshared
    REGFS_TRY(impl.ConnectShared(*shared));
    REGFS_ASSIGN_OR_RETURN(auto owner, sql::GetSetting(*impl.db, "owner"));
    if (!owner) {
      return Fail(Code::kCorruption,
                  fmt::format("the registry in \"{}\" has no owner: was its "
                              "'regfs init' interrupted? Run it again",
                              sql::RedactConninfo(shared->metadata)));
    }
    impl.owner_name = std::move(*owner);
    return reg;
  }
  struct stat st;
  if (::stat((store / kDbName).c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Fail(Code::kNotFound,
                  fmt::format("no registry at {}: create one with 'regfs init'",
                              store.string()));
    }
    return std::unexpected(
        PosixError("cannot open store", store.string(), errno));
  }
  REGFS_TRY(CheckSidecars(store));
  std::unique_ptr<Registry> reg(
      new Registry(store, std::move(options)));
  Impl& impl = *reg->impl_;
  impl.AssertUnshared();  // reg is not shared yet: see AssertUnshared
  auto db = sql::SqliteConnection::Open(store / kDbName, /*create=*/false,
                                        impl.options.durable);
  REGFS_TRY(db);
  impl.db = std::move(*db);
  REGFS_TRY(sql::schema::Migrate(*impl.db));
  auto owner_uid = sql::GetSetting(*impl.db, "owner_uid");
  REGFS_TRY(owner_uid);
  impl.owner_uid = st.st_uid;
  if (*owner_uid) {
    const std::string& text = **owner_uid;
    uid_t uid = 0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), uid);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Fail(Code::kCorruption,
                  fmt::format("{}: the owner's uid '{}' is not a number",
                              (store / kDbName).string(), text));
    }
    impl.owner_uid = uid;
  }
  return reg;
}

Result<std::unique_ptr<Registry>> InitSharedStore(
    const std::filesystem::path& store, const Identity& owner,
    const SharedStoreConfig& config, bool* joined, OpenOptions options) {
  REGFS_TRY(CheckSharedStoreConfig(config));
  if (config.s3) {  // before anything is made: the bucket must answer
    REGFS_ASSIGN_OR_RETURN(auto remote,
                           RemoteBlobs::Open(*config.s3, config.timeout));
    REGFS_TRY(remote->Check());
  }
  REGFS_TRY(MakeStoreDir(store, owner));
  REGFS_ASSIGN_OR_RETURN(auto db, sql::PostgresConnection::Open(
                                      config.metadata, ExtraFor(config)));
  REGFS_TRY(sql::schema::Migrate(*db));
  // The first node to record an owner made the registry; the others (at
  // the same moment too: the write lock orders them) join it.
  REGFS_ASSIGN_OR_RETURN(auto tx, sql::Transaction::Begin(*db));
  REGFS_ASSIGN_OR_RETURN(auto recorded, sql::GetSetting(*db, "owner"));
  *joined = recorded.has_value();
  if (!*joined) {
    for (auto [k, v] :
         {std::pair<std::string, std::string>{"owner", owner.user},
          {"created", FormatTime(NowMs())}}) {
      REGFS_TRY(sql::PutSetting(*db, k, v));
    }
  }
  REGFS_TRY(tx.Commit());
  db.reset();
  // Written last: a store directory without it is no store, and 'regfs
  // init' can be run again.
  REGFS_TRY(WriteSharedStoreConfig(store, config));
  return Registry::Open(store, std::move(options));
}

Status Registry::Impl::ConnectShared(const SharedStoreConfig& config) {
  REGFS_ASSIGN_OR_RETURN(db, sql::PostgresConnection::Open(
                                 config.metadata, ExtraFor(config)));
  shared_metadata = config.metadata;
  REGFS_TRY(sql::schema::Migrate(*db));
  REGFS_TRY(blobs.Create());
  if (config.s3) {
    REGFS_ASSIGN_OR_RETURN(auto remote,
                           RemoteBlobs::Open(*config.s3, config.timeout));
    blobs.AttachRemote(std::move(remote), config.cache_size, config.gc_grace);
    gc_grace = config.gc_grace;
    prefetch_aliases = config.prefetch;
    return {};  // its drafts are in STORE/drafts, beside the cache
  }
  // Drafts' per-host directories live in BLOBS/drafts (shared_store.h).
  const std::filesystem::path drafts_parent = drafts.root().parent_path();
  if (::mkdir(drafts_parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(
        PosixError("mkdir", drafts_parent.string(), errno));
  }
  return {};
}

std::filesystem::path Registry::BlobPath(std::string_view key) const {
  return impl_->blobs.PathOf(key);
}

bool Registry::HasRemoteBlobs() const { return impl_->blobs.remote() != nullptr; }

Result<std::unique_ptr<ChangeListener>> Registry::Listen(
    ChangeListener::OnChange on_change) {
  ChangeObservers& observers = impl_->announcer.observers();
  auto listener = ChangeListener::Start(
      store_, [&observers, on_change = std::move(on_change)](uint64_t seq) {
        observers.Tell(seq);
        on_change(seq);
      });
  if (listener) impl_->announcer.Skip((*listener)->name());
  return listener;
}

Result<std::unique_ptr<NodeChangeListener>> Registry::ListenToOtherNodes(
    NodeChangeListener::OnChange on_change) {
  if (!impl_->shared_metadata) return nullptr;
  ChangeObservers& observers = impl_->announcer.observers();
  NodeChangeListener::Options options;
  options.on_stale = [impl = impl_.get()](int64_t since) {
    impl->stale_since.store(since, std::memory_order_relaxed);
  };
  return NodeChangeListener::Start(
      *impl_->shared_metadata,
      [&observers, on_change = std::move(on_change)](uint64_t seq) {
        observers.Tell(seq);
        on_change(seq);
      },
      std::move(options));
}

std::unique_ptr<Registry::ChangeObservation> Registry::ObserveChanges(
    ChangeObservers::OnChange on_change) {
  ChangeObservers& observers = impl_->announcer.observers();
  return std::make_unique<ChangeObservation>(
      observers, observers.Add(std::move(on_change)));
}

Registry::BatchStats Registry::GetBatchStats() {
  auto lock = impl_->Lock();
  const GroupCommit::Stats stats = impl_->batch.stats();
  return BatchStats{stats.commits, stats.moves, stats.largest};
}

}  // namespace regfs::registry
