#include "registry/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "registry/names.h"
#include "registry/replay.h"
#include "registry/schema.h"
#include "registry/sqlite.h"

namespace regfs::registry {

using sqlite::Database;
using sqlite::Transaction;

namespace {

constexpr std::string_view kDbName = "registry.db";

// The newest history row this thread has written while holding the
// registry's lock; announced to the mounts once it lets the lock go
// (Registry::Impl::AnnounceOnRelease).
thread_local uint64_t t_unannounced_seq = 0;
constexpr std::string_view kDefaultPrincipal = "*";

#define REGFS_TRY(expr)                                            \
  do {                                                             \
    auto&& regfs_try_result = (expr);                              \
    if (!regfs_try_result) {                                       \
      return std::unexpected(std::move(regfs_try_result).error()); \
    }                                                              \
  } while (0)

// Binds `stmt` into a local that resets the cached statement at scope end.
#define REGFS_STMT(var, db, sql)                           \
  auto var##_or = (db).Cached(sql);                        \
  if (!var##_or) return std::unexpected(var##_or.error()); \
  auto& var = *var##_or

constexpr const char* kVersionColumns =
    "v.id, v.collection_id, c.name, v.number, c.kind, v.created_ms, "
    "v.creator_uid, v.creator, v.size, v.files, v.digest, "
    "coalesce(v.blob, ''), v.filename, v.description, v.created_seq";

Version VersionFromRow(sqlite::Statement& s) {
  Version v;
  v.id = s.ColumnInt64(0);
  v.collection_id = s.ColumnInt64(1);
  v.collection = s.ColumnText(2);
  v.number = static_cast<uint64_t>(s.ColumnInt64(3));
  v.kind = static_cast<Kind>(s.ColumnInt64(4));
  v.created = s.ColumnInt64(5);
  v.creator_uid = static_cast<uid_t>(s.ColumnInt64(6));
  v.creator = s.ColumnText(7);
  v.size = static_cast<uint64_t>(s.ColumnInt64(8));
  v.files = static_cast<uint64_t>(s.ColumnInt64(9));
  v.digest = s.ColumnText(10);
  v.blob = s.ColumnText(11);
  v.filename = s.ColumnText(12);
  v.description = s.ColumnText(13);
  v.created_seq = static_cast<uint64_t>(s.ColumnInt64(14));
  return v;
}

std::string Quote(std::string_view name) { return fmt::format("'{}'", name); }

// What a user asked to push, before any byte is copied.
struct PushItem {
  std::string path;  // relative path inside the tree, '/'-separated
  std::filesystem::path source;
  bool is_dir = false;
  bool executable = false;
};

// What a pushed path is. Without `follow`, a symbolic link is refused
// with a message that names -L; with it, the link's final target is
// taken, and `source` becomes that target's path (Stage opens sources
// with O_NOFOLLOW). A dangling link or a loop of links is an error.
Result<struct stat> StatPushed(std::filesystem::path& source, bool follow) {
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) {
    return std::unexpected(PosixError("cannot push", source.string(), errno));
  }
  if (!S_ISLNK(st.st_mode)) return st;
  if (!follow) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a symbolic link: push what links point to "
                            "with -L (--follow-symlinks), or remove it",
                            source.string()));
  }
  if (::stat(source.c_str(), &st) != 0) {
    const int err = errno;
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(source, ec);
    if (err == ENOENT) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is a dangling symbolic link (to {})",
                              source.string(), target.string()));
    }
    if (err == ELOOP) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is a loop of symbolic links (to {})",
                              source.string(), target.string()));
    }
    return std::unexpected(PosixError("cannot push", source.string(), err));
  }
  std::error_code ec;
  auto resolved = std::filesystem::canonical(source, ec);
  if (ec) {
    return std::unexpected(
        PosixError("cannot push", source.string(), ec.value()));
  }
  source = std::move(resolved);
  return st;
}

// The directories being walked, to stop at a link back to one of them.
using DirChain = std::vector<std::pair<dev_t, ino_t>>;

Status AddTreeItems(const std::filesystem::path& dir, const std::string& prefix,
                    bool follow, DirChain& chain,
                    std::vector<PushItem>& items) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::unexpected(PosixError("open", dir.string(), ec.value()));
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    std::filesystem::path source = entry.path();
    auto st = StatPushed(source, follow);
    if (!st) return std::unexpected(st.error());
    if (S_ISDIR(st->st_mode)) {
      const std::pair id(st->st_dev, st->st_ino);
      if (std::find(chain.begin(), chain.end(), id) != chain.end()) {
        return Fail(Code::kInvalidArgument,
                    fmt::format("{} links back to {}, which holds it: a "
                                "loop cannot be pushed",
                                entry.path().string(), source.string()));
      }
      items.push_back({rel, source, true, false});
      chain.push_back(id);
      auto s = AddTreeItems(source, rel, follow, chain, items);
      chain.pop_back();
      if (!s) return s;
    } else if (S_ISREG(st->st_mode)) {
      items.push_back({rel, source, false, (st->st_mode & S_IXUSR) != 0});
    } else {
      const char* what = S_ISFIFO(st->st_mode)   ? "a FIFO"
                         : S_ISSOCK(st->st_mode) ? "a socket"
                                                 : "a device";
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is {}: a pushed tree may hold only "
                              "directories and regular files",
                              entry.path().string(), what));
    }
  }
  return {};
}

// Classifies the pushed paths: one regular file is a file version,
// anything else a tree.
Result<std::vector<PushItem>> PlanPush(const PushRequest& request,
                                       bool& is_tree) {
  if (request.paths.empty()) {
    return Fail(Code::kInvalidArgument,
                "nothing to push: name a file or directory");
  }
  std::vector<PushItem> items;
  std::set<std::string> top;
  const bool single_dir = request.paths.size() == 1;
  for (const auto& path : request.paths) {
    std::filesystem::path source = path;
    auto stat_or = StatPushed(source, request.follow_symlinks);
    if (!stat_or) return std::unexpected(stat_or.error());
    const struct stat& st = *stat_or;
    std::string name =
        std::filesystem::path(path).lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") {
      name = std::filesystem::absolute(path)
                 .lexically_normal()
                 .filename()
                 .string();
    }
    if (S_ISREG(st.st_mode)) {
      if (!top.insert(name).second) {
        return Fail(Code::kInvalidArgument,
                    fmt::format("two pushed paths are named '{}'", name));
      }
      items.push_back({name, source, false, (st.st_mode & S_IXUSR) != 0});
    } else if (S_ISDIR(st.st_mode)) {
      std::string prefix;
      if (!single_dir) {
        if (!top.insert(name).second) {
          return Fail(Code::kInvalidArgument,
                      fmt::format("two pushed paths are named '{}'", name));
        }
        items.push_back({name, source, true, false});
        prefix = name;
      }
      DirChain chain = {{st.st_dev, st.st_ino}};
      if (auto s = AddTreeItems(source, prefix, request.follow_symlinks, chain,
                                items);
          !s) {
        return std::unexpected(s.error());
      }
    } else {
      return Fail(
          Code::kInvalidArgument,
          fmt::format("{} is not a regular file or directory", path.string()));
    }
  }
  is_tree = !(items.size() == 1 && !items[0].is_dir &&
              std::filesystem::is_regular_file(request.paths[0]));
  std::sort(
      items.begin(), items.end(),
      [](const PushItem& a, const PushItem& b) { return a.path < b.path; });
  return items;
}

}  // namespace

// Owns the connection and the blob store. Lock order: `mu` only; no other
// lock is taken while holding it.
class Registry::Impl {
 public:
  Impl(const std::filesystem::path& store, OpenOptions options)
      : options(std::move(options)),
        blobs(store / "blobs", this->options.hasher, this->options.durable),
        announcer(store) {}

  std::mutex mu;
  std::unique_ptr<Database> db;  // guarded by mu
  OpenOptions options;
  BlobStore blobs;
  uid_t owner_uid = 0;
  ChangeAnnouncer announcer;

  // Read-your-writes (change_listeners.h): every hold on `mu` carries one;
  // when it is destroyed, after `mu` has been released and so after the
  // change's commit (or rollback: then announcing is merely needless), it
  // announces the change the thread wrote meanwhile, if any.
  class AnnounceOnRelease final {
   public:
    explicit AnnounceOnRelease(Impl* impl) : impl_(impl) {}
    AnnounceOnRelease(AnnounceOnRelease&& other) noexcept
        : impl_(std::exchange(other.impl_, nullptr)) {}
    AnnounceOnRelease& operator=(AnnounceOnRelease&&) = delete;
    ~AnnounceOnRelease() {
      if (impl_ == nullptr || t_unannounced_seq == 0) return;
      impl_->announcer.Announce(std::exchange(t_unannounced_seq, 0));
    }

   private:
    Impl* impl_;
  };
  // `mu`, held; the member order releases it before announcing.
  struct Held {
    AnnounceOnRelease announce;
    std::unique_lock<std::mutex> lock;
  };

  // The live versions (and tree files) whose content is blob `key`,
  // sorted. Takes the lock.
  Result<std::vector<std::string>> FilesOfBlob(std::string_view key);
  // fsck --repair of one intact blob: enables fs-verity, counting it in
  // `report`, or records why it could not.
  Status RepairVerity(const std::string& key, FsckReport& report);

  // ---- Group commit ----
  //
  // Alias moves (SetAlias) that arrive while another is being applied
  // share its transaction, and so its one sync: a mover joins the open
  // batch (JoinBatch), applies its change inside a savepoint, and then
  // either commits the batch, if no other mover is waiting for `mu` (or 64
  // have joined), or waits until some later member has. Moves that arrive
  // during the commit form the next batch. Nobody returns before the
  // commit that holds their change is durable. Every other call takes `mu`
  // through Lock(), which waits until no batch is open, so nothing
  // uncommitted is ever read or built upon; and no new batch opens while
  // such a call waits, so batches cannot keep it out.

  static constexpr size_t kMaxBatch = 64;

  // A batch member's hold on `mu`.
  struct BatchTicket {
    AnnounceOnRelease announce;  // after the commit that holds the change
    std::unique_lock<std::mutex> lock;
    uint64_t batch = 0;
  };
  struct FailedBatch {
    Error error;
    size_t waiting = 0;  // members that have not picked the error up yet
  };

  std::condition_variable batch_cv;  // batch_open or lock_waiters changed
  std::atomic<int> batch_joining{0};  // movers waiting for `mu`
  bool batch_open = false;            // guarded by mu, as are the rest
  uint64_t batch_id = 0;              // the open batch, or the last one
  uint64_t batch_done = 0;            // every batch up to it has ended
  size_t batch_joined = 0;            // members of the open batch
  size_t batch_members = 0;           // of them, changes applied
  int lock_waiters = 0;               // Lock() calls waiting for a batch
  BatchStats batch_stats;
  std::map<uint64_t, FailedBatch> batch_failed;

  // `mu`, once no batch is open.
  Held Lock() {
    Held held{AnnounceOnRelease(this), std::unique_lock(mu)};
    if (batch_open) {
      ++lock_waiters;
      batch_cv.wait(held.lock, [this] { return !batch_open; });
      if (--lock_waiters == 0) batch_cv.notify_all();
    }
    return held;
  }

  Result<BatchTicket> JoinBatch() {
    batch_joining.fetch_add(1);
    std::unique_lock lock(mu);
    batch_joining.fetch_sub(1);
    // After an I/O error SQLite may have rolled the batch back itself.
    if (batch_open && !db->InTransaction()) EndBatch(BatchLost());
    if (!batch_open) {
      // Calls that waited for the last batch go first.
      batch_cv.wait(lock, [this] { return batch_open || lock_waiters == 0; });
    }
    if (!batch_open) {
      if (auto s = db->Exec("BEGIN IMMEDIATE"); !s) {
        return std::unexpected(s.error());
      }
      batch_open = true;
      ++batch_id;
      batch_joined = 0;
      batch_members = 0;
    }
    ++batch_joined;
    return BatchTicket{AnnounceOnRelease(this), std::move(lock), batch_id};
  }

  // Ends a member's part: `applied` says whether its change is in the
  // batch. Returns once that change is committed, or the commit's error.
  Status LeaveBatch(BatchTicket& ticket, bool applied) {
    if (applied) ++batch_members;
    if (batch_id == ticket.batch && batch_open &&
        (batch_joining.load() == 0 || batch_joined >= kMaxBatch)) {
      EndBatch(db->InTransaction() ? db->Exec("COMMIT") : BatchLost());
    }
    if (!applied) return {};
    batch_cv.wait(ticket.lock,
                  [&] { return batch_done >= ticket.batch; });
    const auto failed = batch_failed.find(ticket.batch);
    if (failed == batch_failed.end()) return {};
    Error error = failed->second.error;
    if (--failed->second.waiting == 0) batch_failed.erase(failed);
    return std::unexpected(std::move(error));
  }

  static Status BatchLost() {
    return Fail(Code::kIoError,
                "the store rolled back a batch of alias moves after an "
                "earlier error; nothing in it was applied");
  }

  // Closes the open batch with the outcome of its COMMIT.
  void EndBatch(Status committed) {
    if (!committed) {
      if (db->InTransaction()) (void)db->Exec("ROLLBACK");
      if (batch_members > 0) {
        batch_failed[batch_id] = FailedBatch{committed.error(), batch_members};
      }
    } else if (batch_members > 0) {
      ++batch_stats.commits;
      batch_stats.moves += batch_members;
      batch_stats.largest =
          std::max<uint64_t>(batch_stats.largest, batch_members);
    }
    batch_open = false;
    batch_done = batch_id;
    batch_cv.notify_all();
  }

  struct CollectionRow {
    int64_t id = 0;
    std::string name;
    Kind kind = Kind::kEmpty;
    int64_t next_version = 0;
  };
  struct AliasRow {
    int64_t id = 0;
    std::string name;
    int64_t version_id = 0;
    uint64_t number = 0;
  };

  // ---- Helpers; all expect `mu` held. ----

  Result<CollectionRow> FindCollection(std::string_view name) {
    REGFS_STMT(s, *db,
               "SELECT id, name, kind, next_version FROM collections "
               "WHERE name = ?1");
    s->BindText(1, name);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) {
      if (auto v = ValidateName(name, "collection"); !v) {
        return std::unexpected(v.error());
      }
      return Fail(Code::kNotFound,
                  fmt::format("no collection {}", Quote(name)));
    }
    return CollectionRow{s->ColumnInt64(0), s->ColumnText(1),
                         static_cast<Kind>(s->ColumnInt64(2)),
                         s->ColumnInt64(3)};
  }

  // The newest event's seq (0 for none).
  Result<uint64_t> LastSeq() {
    REGFS_STMT(s, *db, "SELECT coalesce(max(seq), 0) FROM history");
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    return static_cast<uint64_t>(s->ColumnInt64(0));
  }
  // Time travel: `collection` rebuilt from its events 1..seq.
  Result<CollectionReplay> Replay(std::string_view collection, uint64_t seq,
                                  std::optional<std::string> watch);
  Result<Alias> AliasFromState(std::string_view collection,
                               std::string_view name, const AliasState& state,
                               bool is_protected);

  Result<std::optional<Version>> FindVersion(int64_t collection_id,
                                             uint64_t number) {
    static const std::string sql = fmt::format(
        "SELECT {} FROM versions v JOIN collections c ON "
        "c.id = v.collection_id WHERE v.collection_id = ?1 AND "
        "v.number = ?2",
        kVersionColumns);
    REGFS_STMT(s, *db, sql.c_str());
    s->BindInt64(1, collection_id).BindInt64(2, static_cast<int64_t>(number));
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<Version>();
    return std::optional<Version>(VersionFromRow(*s));
  }

  // The newest live version and the seq of its creation event.
  Result<std::optional<std::pair<Version, uint64_t>>> FindLatest(
      int64_t collection_id) {
    static const std::string sql = fmt::format(
        "SELECT {} FROM versions v JOIN collections c ON "
        "c.id = v.collection_id WHERE v.collection_id = ?1 "
        "ORDER BY v.number DESC LIMIT 1",
        kVersionColumns);
    REGFS_STMT(s, *db, sql.c_str());
    s->BindInt64(1, collection_id);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<std::pair<Version, uint64_t>>();
    return std::optional<std::pair<Version, uint64_t>>(std::pair(
        VersionFromRow(*s), static_cast<uint64_t>(s->ColumnInt64(14))));
  }

  Result<std::optional<AliasRow>> FindAlias(int64_t collection_id,
                                            std::string_view name) {
    REGFS_STMT(s, *db,
               "SELECT a.id, a.name, a.version_id, v.number FROM aliases a "
               "JOIN versions v ON v.id = a.version_id "
               "WHERE a.collection_id = ?1 AND a.name = ?2");
    s->BindInt64(1, collection_id).BindText(2, name);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<AliasRow>();
    return std::optional<AliasRow>(
        AliasRow{s->ColumnInt64(0), s->ColumnText(1), s->ColumnInt64(2),
                 static_cast<uint64_t>(s->ColumnInt64(3))});
  }

  // "vN", "latest" or an alias of `c`, resolved now.
  Result<Version> ResolveIn(const CollectionRow& c, std::string_view name) {
    if (auto n = ParseVersionName(name)) {
      auto v = FindVersion(c.id, *n);
      if (!v) return std::unexpected(v.error());
      if (!*v) {
        return Fail(Code::kNotFound,
                    fmt::format("{} has no version {}", c.name, name));
      }
      return **v;
    }
    if (name == kLatest) {
      auto latest = FindLatest(c.id);
      if (!latest) return std::unexpected(latest.error());
      if (!*latest) {
        return Fail(Code::kNotFound, fmt::format("{} has no versions", c.name));
      }
      return (*latest)->first;
    }
    auto alias = FindAlias(c.id, name);
    if (!alias) return std::unexpected(alias.error());
    if (!*alias) {
      if (auto v = ValidateName(name, "alias"); !v) {
        return std::unexpected(v.error());
      }
      return Fail(Code::kNotFound, fmt::format("{} has no version or alias {}",
                                               c.name, Quote(name)));
    }
    auto v = FindVersion(c.id, (*alias)->number);
    if (!v) return std::unexpected(v.error());
    if (!*v) return Fail(Code::kCorruption, "alias names a missing version");
    return **v;
  }

  // Protection ignores case: the protected spelling of `name` (the first,
  // should an old store hold several), or nullopt.
  Result<std::optional<std::string>> ProtectedSpelling(std::string_view name) {
    REGFS_STMT(s, *db,
               "SELECT name FROM protected_names WHERE name = ?1 COLLATE "
               "NOCASE ORDER BY name LIMIT 1");
    s->BindText(1, name);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(s->ColumnText(0));
  }

  Result<bool> IsProtected(std::string_view name) {
    auto spelling = ProtectedSpelling(name);
    if (!spelling) return std::unexpected(spelling.error());
    return spelling->has_value();
  }

  // Two aliases of one collection may not differ only by case: the name of
  // an alias of collection `collection_id` that equals `name` but for case
  // (other than alias `except_id`), or nullopt. Enforced here rather than
  // by a unique index, which stores from before the rule may violate.
  Result<std::optional<std::string>> AliasCaseTwin(int64_t collection_id,
                                                   std::string_view name,
                                                   int64_t except_id = 0) {
    REGFS_STMT(s, *db,
               "SELECT name FROM aliases WHERE collection_id = ?1 AND "
               "name = ?2 COLLATE NOCASE AND name <> ?2 AND id <> ?3 "
               "ORDER BY name LIMIT 1");
    s->BindInt64(1, collection_id).BindText(2, name).BindInt64(3, except_id);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(s->ColumnText(0));
  }

  // AlreadyExists if `c` has an alias `name` but for case.
  Status RequireNoAliasCaseTwin(const CollectionRow& c, std::string_view name,
                                int64_t except_id = 0) {
    auto twin = AliasCaseTwin(c.id, name, except_id);
    if (!twin) return std::unexpected(twin.error());
    if (!*twin) return {};
    return Fail(Code::kAlreadyExists,
                fmt::format("{} already has an alias {}: alias names may not "
                            "differ only by case",
                            c.name, Quote(**twin)));
  }

  Result<std::optional<Role>> GrantedRole(std::string_view principal) {
    REGFS_STMT(s, *db, "SELECT role FROM roles WHERE principal = ?1");
    s->BindText(1, principal);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<Role>();
    return std::optional<Role>(static_cast<Role>(s->ColumnInt64(0)));
  }

  // Root and the owner are admins; an explicit grant to the user wins,
  // `none` included (it denies even when a group grants more); else the
  // highest of the user's groups' grants (a group's `none` denies only if
  // no other group of the user grants a role); else the default.
  Result<Role> RoleOf(const Identity& who) {
    if (who.uid == 0 || who.uid == owner_uid) return Role::kAdmin;
    auto user = GrantedRole(who.user);
    if (!user) return std::unexpected(user.error());
    if (*user) return **user;
    std::optional<Role> best;
    for (const auto& group : who.group_names) {
      auto role = GrantedRole("group:" + group);
      if (!role) return std::unexpected(role.error());
      if (*role && (!best || **role > *best)) best = **role;
    }
    if (best) return *best;
    auto def = GrantedRole(kDefaultPrincipal);
    if (!def) return std::unexpected(def.error());
    return def->value_or(Role::kViewer);
  }

  // PermissionDenied unless `who` has at least `needed`.
  Status Require(const Identity& who, Role needed, std::string_view action) {
    auto role = RoleOf(who);
    if (!role) return std::unexpected(role.error());
    if (*role >= needed) return {};
    const std::string_view who_is =
        *role == Role::kNone ? "has no role" : "is a";
    return Fail(
        Code::kPermissionDenied,
        fmt::format("user '{}' {}{}{}: only {} may {}", who.user, who_is,
                    *role == Role::kNone ? "" : " ",
                    *role == Role::kNone ? "" : RoleName(*role),
                    needed == Role::kAdmin ? "admins" : "members and admins",
                    action));
  }

  // The checks every alias change makes on the alias's own name: a member
  // at least, not `latest` or a version, admin for protected names.
  Status CheckAliasName(const Identity& who, std::string_view alias,
                        std::string_view verb) {
    if (auto s = Require(who, kRoleToChange, fmt::format("{} aliases", verb));
        !s) {
      return s;
    }
    if (alias == kLatest) {
      return Fail(Code::kNotPermitted,
                  "'latest' is maintained by the registry: it always names the "
                  "newest version");
    }
    if (ParseVersionName(alias)) {
      return Fail(
          Code::kNotPermitted,
          fmt::format("{} is a version: versions are immutable", alias));
    }
    // An alias that a store from before the case rules holds (`V1`,
    // `Latest`) may still be removed or renamed away.
    const bool names_existing = verb == "remove" || verb == "rename";
    if (auto s = names_existing ? ValidateName(alias, "alias")
                                : ValidateAliasName(alias);
        !s) {
      return s;
    }
    auto prot = ProtectedSpelling(alias);
    if (!prot) return std::unexpected(prot.error());
    if (*prot) {
      auto role = RoleOf(who);
      if (!role) return std::unexpected(role.error());
      if (*role < Role::kAdmin) {
        const std::string as =
            **prot == alias ? "" : fmt::format(" (as '{}')", **prot);
        return Fail(Code::kNotPermitted,
                    fmt::format("alias '{}' is protected{}: only admins may "
                                "{} it",
                                alias, as, verb));
      }
    }
    return {};
  }

  // The version a symlink target written into `c` names now.
  Result<Version> ResolveTarget(const CollectionRow& c,
                                std::string_view target) {
    auto name = ParseLinkTarget(c.name, target);
    if (!name) return std::unexpected(name.error());
    return ResolveIn(c, *name);
  }

  Result<uint64_t> Append(
      const Identity& who, EventType type, std::string_view collection,
      std::string_view alias, std::optional<uint64_t> old_version,
      std::optional<uint64_t> new_version,
      const nlohmann::json& detail = nlohmann::json::object(),
      TimeMs time = NowMs()) {
    REGFS_STMT(s, *db,
               "INSERT INTO history (time_ms, event, collection, alias, "
               "old_version, new_version, uid, user, interface, detail) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    auto opt = [](std::optional<uint64_t> v) -> std::optional<int64_t> {
      if (!v) return std::nullopt;
      return static_cast<int64_t>(*v);
    };
    s->BindInt64(1, time)
        .BindText(2, EventTypeName(type))
        .BindText(3, collection)
        .BindText(4, alias)
        .BindOptionalInt64(5, opt(old_version))
        .BindOptionalInt64(6, opt(new_version))
        .BindInt64(7, static_cast<int64_t>(who.uid))
        .BindText(8, who.user)
        .BindText(9, InterfaceName(who.interface))
        // A pushed file's name may hold any byte; JSON holds UTF-8 only.
        .BindText(10, detail.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace));
    REGFS_TRY(s->Run());
    const auto seq = static_cast<uint64_t>(db->LastInsertRowId());
    t_unannounced_seq = std::max(t_unannounced_seq, seq);
    return seq;
  }

  // Creates or moves `alias` of `c` to `target` inside the caller's
  // transaction, with its history row. Moving to the same version records
  // nothing.
  Status WriteAlias(const Identity& who, const CollectionRow& c,
                    std::string_view alias, const Version& target) {
    auto existing = FindAlias(c.id, alias);
    if (!existing) return std::unexpected(existing.error());
    if (*existing && (*existing)->version_id == target.id) return {};
    const TimeMs now = NowMs();
    if (*existing) {
      auto seq =
          Append(who, EventType::kAliasMove, c.name, alias, (*existing)->number,
                 target.number, nlohmann::json::object(), now);
      if (!seq) return std::unexpected(seq.error());
      REGFS_STMT(s, *db,
                 "UPDATE aliases SET version_id = ?1, revision = ?2, "
                 "updated_ms = ?3, updated_uid = ?4, updated_by = ?5 "
                 "WHERE id = ?6");
      s->BindInt64(1, target.id)
          .BindInt64(2, static_cast<int64_t>(*seq))
          .BindInt64(3, now)
          .BindInt64(4, static_cast<int64_t>(who.uid))
          .BindText(5, who.user)
          .BindInt64(6, (*existing)->id);
      return s->Run();
    }
    REGFS_TRY(RequireNoAliasCaseTwin(c, alias));
    auto seq = Append(who, EventType::kAliasCreate, c.name, alias, std::nullopt,
                      target.number, nlohmann::json::object(), now);
    if (!seq) return std::unexpected(seq.error());
    REGFS_STMT(
        s, *db,
        "INSERT INTO aliases (collection_id, name, version_id, revision, "
        "updated_ms, updated_uid, updated_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    s->BindInt64(1, c.id)
        .BindText(2, alias)
        .BindInt64(3, target.id)
        .BindInt64(4, static_cast<int64_t>(*seq))
        .BindInt64(5, now)
        .BindInt64(6, static_cast<int64_t>(who.uid))
        .BindText(7, who.user);
    return s->Run();
  }

  // An alias change under way: its collection and its open transaction.
  struct AliasChange {
    CollectionRow c;
    Transaction tx;
  };

  // Begins the write transaction of a change to the aliases `names` of
  // `collection` (each with the verb for messages), after the checks every
  // alias change makes (CheckAliasName), taken inside the transaction.
  // `in_batch`: inside a group commit's transaction (a savepoint).
  Result<AliasChange> BeginAliasChange(
      const Identity& who, std::string_view collection,
      std::initializer_list<std::pair<std::string_view, std::string_view>>
          names,
      bool in_batch = false) {
    auto c = FindCollection(collection);
    if (!c) return std::unexpected(c.error());
    auto tx = in_batch ? Transaction::Nested(*db) : Transaction::Begin(*db);
    if (!tx) return std::unexpected(tx.error());
    for (const auto& [name, verb] : names) {
      REGFS_TRY(CheckAliasName(who, name, verb));
    }
    return AliasChange{std::move(*c), std::move(*tx)};
  }

  // The alias `name` of `c`, or NotFound.
  Result<AliasRow> RequireAlias(const CollectionRow& c, std::string_view name) {
    auto alias = FindAlias(c.id, name);
    if (!alias) return std::unexpected(alias.error());
    if (!*alias) {
      return Fail(Code::kNotFound,
                  fmt::format("{} has no alias {}", c.name, Quote(name)));
    }
    return std::move(**alias);
  }

  Status DeleteAliasRow(const Identity& who, const CollectionRow& c,
                        const AliasRow& alias) {
    auto seq = Append(who, EventType::kAliasRemove, c.name, alias.name,
                      alias.number, std::nullopt);
    if (!seq) return std::unexpected(seq.error());
    REGFS_STMT(s, *db, "DELETE FROM aliases WHERE id = ?1");
    s->BindInt64(1, alias.id);
    return s->Run();
  }

  // A collection re-created under a deleted one's name continues its
  // numbering, and no id is used twice (see DeleteCollection).
  Result<CollectionRow> InsertCollection(const Identity& who,
                                         std::string_view name) {
    auto next_version = DeletedNextVersion(name);
    if (!next_version) return std::unexpected(next_version.error());
    {
      // Collection names may not differ only by case either (as aliases).
      REGFS_STMT(twin, *db,
                 "SELECT name FROM collections WHERE name = ?1 COLLATE NOCASE "
                 "ORDER BY name LIMIT 1");
      twin->BindText(1, name);
      auto row = twin->Step();
      if (!row) return std::unexpected(row.error());
      if (*row) {
        return Fail(Code::kAlreadyExists,
                    fmt::format("collection {} already exists: collection "
                                "names may not differ only by case",
                                Quote(twin->ColumnText(0))));
      }
    }
    REGFS_STMT(s, *db,
               "INSERT INTO collections (id, name, next_version, created_ms, "
               "creator_uid, creator) VALUES (max((SELECT coalesce(max(id), 0) "
               "FROM collections), (SELECT coalesce(max(id), 0) FROM "
               "deleted_collections)) + 1, ?1, ?2, ?3, ?4, ?5)");
    s->BindText(1, name)
        .BindInt64(2, *next_version)
        .BindInt64(3, NowMs())
        .BindInt64(4, static_cast<int64_t>(who.uid))
        .BindText(5, who.user);
    REGFS_TRY(s->Run());
    const int64_t id = db->LastInsertRowId();
    REGFS_TRY(Append(who, EventType::kCollectionCreate, name, "", std::nullopt,
                     std::nullopt));
    return CollectionRow{id, std::string(name), Kind::kEmpty, *next_version};
  }

  // ---- Deleted collections (DeleteCollection, time travel) ----
  // Where the numbering of deleted collections named `name` got (0: none).
  Result<int64_t> DeletedNextVersion(std::string_view name);
  // The collection that held `name` right after event `seq`, as it is now
  // or, if deleted since, as it was deleted (no versions or aliases then);
  // nullopt if `name` named no collection then.
  Result<std::optional<Collection>> IncarnationAt(std::string_view name,
                                                  uint64_t seq);
  // Every collection that existed right after `seq`, by name.
  Result<std::vector<Collection>> IncarnationsAt(uint64_t seq);
  // Refuses, or removes with their history rows, what `c` holds.
  Status CheckDeletable(const CollectionRow& c, bool all, size_t versions,
                        const std::vector<AliasRow>& aliases);
  Result<std::vector<std::pair<int64_t, uint64_t>>> CollectionVersions(
      int64_t collection_id);
  Result<std::vector<AliasRow>> CollectionAliases(int64_t collection_id);
  Status RetireCollection(const Identity& who, const CollectionRow& c);

  Result<std::vector<std::string>> VersionAliases(const Version& v) {
    std::vector<std::string> names;
    auto latest = FindLatest(v.collection_id);
    if (!latest) return std::unexpected(latest.error());
    if (*latest && (*latest)->first.id == v.id) names.emplace_back(kLatest);
    REGFS_STMT(s, *db,
               "SELECT name FROM aliases WHERE version_id = ?1 ORDER BY name");
    s->BindInt64(1, v.id);
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      names.push_back(s->ColumnText(0));
    }
    return names;
  }

  Status FillDetails(Version& v) {
    {
      REGFS_STMT(s, *db,
                 "SELECT tag FROM tags WHERE version_id = ?1 ORDER BY tag");
      s->BindInt64(1, v.id);
      for (;;) {
        auto row = s->Step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        v.tags.push_back(s->ColumnText(0));
      }
    }
    {
      REGFS_STMT(s, *db,
                 "SELECT key, value FROM metadata WHERE version_id = ?1");
      s->BindInt64(1, v.id);
      for (;;) {
        auto row = s->Step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        v.metadata[s->ColumnText(0)] = s->ColumnText(1);
      }
    }
    auto aliases = VersionAliases(v);
    if (!aliases) return std::unexpected(aliases.error());
    v.aliases = std::move(*aliases);
    return {};
  }

  Result<Alias> AliasInfo(const CollectionRow& c, std::string_view name) {
    if (name == kLatest) {
      auto latest = FindLatest(c.id);
      if (!latest) return std::unexpected(latest.error());
      if (!*latest) {
        return Fail(Code::kNotFound, fmt::format("{} has no versions", c.name));
      }
      Alias a;
      a.collection = c.name;
      a.name = kLatest;
      a.version = (*latest)->first.number;
      a.version_id = (*latest)->first.id;
      a.revision = (*latest)->second;
      a.is_latest = true;
      a.updated = (*latest)->first.created;
      a.updated_uid = (*latest)->first.creator_uid;
      a.updated_by = (*latest)->first.creator;
      return a;
    }
    REGFS_STMT(s, *db,
               "SELECT a.id, a.name, v.number, a.version_id, a.revision, "
               "a.updated_ms, a.updated_uid, a.updated_by, "
               "EXISTS (SELECT 1 FROM protected_names p "
               "WHERE p.name = a.name COLLATE NOCASE) "
               "FROM aliases a JOIN versions v ON v.id = a.version_id "
               "WHERE a.collection_id = ?1 AND a.name = ?2");
    s->BindInt64(1, c.id).BindText(2, name);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) {
      if (auto v = ValidateName(name, "alias"); !v) {
        return std::unexpected(v.error());
      }
      return Fail(Code::kNotFound,
                  fmt::format("{} has no alias {}", c.name, Quote(name)));
    }
    return AliasFromRow(c, *s);
  }

  static Alias AliasFromRow(const CollectionRow& c, sqlite::Statement& s) {
    Alias a;
    a.id = s.ColumnInt64(0);
    a.collection = c.name;
    a.name = s.ColumnText(1);
    a.version = static_cast<uint64_t>(s.ColumnInt64(2));
    a.version_id = s.ColumnInt64(3);
    a.revision = static_cast<uint64_t>(s.ColumnInt64(4));
    a.updated = s.ColumnInt64(5);
    a.updated_uid = static_cast<uid_t>(s.ColumnInt64(6));
    a.updated_by = s.ColumnText(7);
    a.is_protected = s.ColumnInt64(8) != 0;
    return a;
  }

  Result<std::vector<Alias>> ListAliases(const CollectionRow& c) {
    std::vector<Alias> out;
    auto latest = AliasInfo(c, kLatest);
    if (latest) {
      out.push_back(std::move(*latest));
    } else if (!latest.error().IsNotFound()) {
      return std::unexpected(latest.error());
    }
    REGFS_STMT(s, *db,
               "SELECT a.id, a.name, v.number, a.version_id, a.revision, "
               "a.updated_ms, a.updated_uid, a.updated_by, "
               "EXISTS (SELECT 1 FROM protected_names p "
               "WHERE p.name = a.name COLLATE NOCASE) "
               "FROM aliases a JOIN versions v ON v.id = a.version_id "
               "WHERE a.collection_id = ?1 AND (?2 IS NULL OR a.name = ?2) "
               "ORDER BY a.name");
    s->BindInt64(1, c.id);
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(AliasFromRow(c, *s));
    }
    return out;
  }

  Result<TreeEntry> TreeEntryFromQuery(sqlite::Statement& s) {
    auto row = s.Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Fail(Code::kNotFound, "no such file in this version");
    return TreeEntryFromRow(s);
  }

  Status ChangeTag(const Identity& who, std::string_view collection,
                   uint64_t number, std::string_view tag, bool add) {
    REGFS_TRY(Require(who, kRoleToChange, "tag versions"));
    REGFS_TRY(ValidateTag(tag));
    auto tx = Transaction::Begin(*db);
    if (!tx) return std::unexpected(tx.error());
    auto c = FindCollection(collection);
    if (!c) return std::unexpected(c.error());
    auto v = FindVersion(c->id, number);
    if (!v) return std::unexpected(v.error());
    if (!*v) {
      return Fail(
          Code::kNotFound,
          fmt::format("{} has no version {}", collection, VersionName(number)));
    }
    {
      auto stmt =
          add ? db->Cached(
                    "INSERT OR IGNORE INTO tags (version_id, tag) "
                    "VALUES (?1, ?2)")
              : db->Cached(
                    "DELETE FROM tags WHERE version_id = ?1 AND tag = ?2");
      if (!stmt) return std::unexpected(stmt.error());
      (*stmt)->BindInt64(1, (*v)->id).BindText(2, tag);
      REGFS_TRY((*stmt)->Run());
    }
    if (db->Changes() == 0) {
      if (add) return {};  // already tagged: nothing happened
      return Fail(Code::kNotFound,
                  fmt::format("{}/{} has no tag {}", collection,
                              VersionName(number), Quote(tag)));
    }
    REGFS_TRY(Append(who, add ? EventType::kTagAdd : EventType::kTagRemove,
                     c->name, "", add ? std::nullopt : std::optional(number),
                     add ? std::optional(number) : std::nullopt,
                     nlohmann::json{{"tag", std::string(tag)}}));
    return tx->Commit();
  }

  static TreeEntry TreeEntryFromRow(sqlite::Statement& s) {
    TreeEntry e;
    e.id = s.ColumnInt64(0);
    e.version_id = s.ColumnInt64(1);
    e.parent_id = s.ColumnInt64(2);
    e.name = s.ColumnText(3);
    e.is_dir = s.ColumnInt64(4) != 0;
    e.executable = s.ColumnInt64(5) != 0;
    e.size = static_cast<uint64_t>(s.ColumnInt64(6));
    e.blob = s.ColumnText(7);
    return e;
  }
};

// ---------------------------------------------------------------------------

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

static Status Configure(Database& db, bool durable) {
  // WAL with synchronous=FULL: a commit is durable once it returns, even
  // across a power loss. The busy timeout makes concurrent writers wait.
  // A 16 MiB page cache (SQLite's default is 2 MiB) keeps the interior
  // pages of a store with a million versions in memory (tests/bench).
  return db.Exec(durable ? "PRAGMA busy_timeout = 60000;"
                           "PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = FULL;"
                           "PRAGMA cache_size = -16384;"
                           "PRAGMA foreign_keys = ON;"
                         : "PRAGMA busy_timeout = 60000;"
                           "PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = OFF;"
                           "PRAGMA foreign_keys = ON;");
}

Result<std::unique_ptr<Registry>> Registry::Init(
    const std::filesystem::path& store, const Identity& owner,
    OpenOptions options) {
  if (::mkdir(store.c_str(), 0700) != 0) {
    if (errno != EEXIST) {
      return std::unexpected(
          PosixError("cannot create store", store.string(), errno));
    }
    struct stat st;
    if (::stat((store / kDbName).c_str(), &st) == 0) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("{} already holds a registry", store.string()));
    }
    if (::chmod(store.c_str(), 0700) != 0) {
      return std::unexpected(PosixError("chmod", store.string(), errno));
    }
  }
  if (::chown(store.c_str(), owner.uid, owner.gid) != 0 && errno != EPERM) {
    return std::unexpected(PosixError("chown", store.string(), errno));
  }
  std::unique_ptr<Registry> reg(new Registry(store, std::move(options)));
  Impl& impl = *reg->impl_;
  if (auto s = impl.blobs.Create(); !s) return std::unexpected(s.error());
  auto db = Database::Open(store / kDbName, /*create=*/true);
  if (!db) return std::unexpected(db.error());
  impl.db = std::move(*db);
  if (auto s = Configure(*impl.db, impl.options.durable); !s)
    return std::unexpected(s.error());
  if (auto s = schema::Migrate(*impl.db); !s) return std::unexpected(s.error());
  auto put = impl.db->Prepare(
      "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)");
  if (!put) return std::unexpected(put.error());
  for (auto [k, v] : {std::pair<std::string, std::string>{
                          "owner_uid", std::to_string(owner.uid)},
                      {"owner", owner.user},
                      {"created", FormatTime(NowMs())}}) {
    put->Reset();
    put->BindText(1, k).BindText(2, v);
    if (auto s = put->Run(); !s) return std::unexpected(s.error());
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
static Status CheckSidecars(const std::filesystem::path& store) {
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
  std::unique_ptr<Registry> reg(new Registry(store, std::move(options)));
  Impl& impl = *reg->impl_;
  auto db = Database::Open(store / kDbName, /*create=*/false);
  if (!db) return std::unexpected(db.error());
  impl.db = std::move(*db);
  if (auto s = Configure(*impl.db, impl.options.durable); !s)
    return std::unexpected(s.error());
  if (auto s = schema::Migrate(*impl.db); !s) return std::unexpected(s.error());
  auto get =
      impl.db->Prepare("SELECT value FROM settings WHERE key = 'owner_uid'");
  if (!get) return std::unexpected(get.error());
  auto row = get->Step();
  if (!row) return std::unexpected(row.error());
  impl.owner_uid =
      *row ? static_cast<uid_t>(std::stoul(get->ColumnText(0))) : st.st_uid;
  return reg;
}

std::filesystem::path Registry::BlobPath(std::string_view key) const {
  return impl_->blobs.PathOf(key);
}

// ---- Reads ----------------------------------------------------------------

// Collections with their counts; `name` or `id` narrows to one.
static Result<std::vector<Collection>> QueryCollections(
    Database& db, std::optional<std::string_view> name,
    std::optional<int64_t> id) {
  // One statement per form, so that a lookup by name or id uses its index
  // (an "?1 IS NULL OR ..." condition would scan every collection).
  static const auto sql = [](std::string_view where) {
    return fmt::format(
        "SELECT c.id, c.name, c.kind, c.created_ms, c.creator_uid, "
        "c.creator, "
        "(SELECT count(*) FROM versions v WHERE v.collection_id = c.id), "
        "(SELECT count(*) FROM aliases a WHERE a.collection_id = c.id), "
        "(SELECT max(number) FROM versions v WHERE v.collection_id = c.id) "
        "FROM collections c WHERE {} ORDER BY c.name",
        where);
  };
  static const std::string by_name = sql("c.name = ?1");
  static const std::string by_id = sql("c.id = ?1");
  static const std::string all = sql("1");
  REGFS_STMT(s, db, name ? by_name.c_str() : id ? by_id.c_str() : all.c_str());
  if (name) {
    s->BindText(1, *name);
  } else if (id) {
    s->BindInt64(1, *id);
  }
  std::vector<Collection> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    Collection c;
    c.id = s->ColumnInt64(0);
    c.name = s->ColumnText(1);
    c.kind = static_cast<Kind>(s->ColumnInt64(2));
    c.created = s->ColumnInt64(3);
    c.creator_uid = static_cast<uid_t>(s->ColumnInt64(4));
    c.creator = s->ColumnText(5);
    c.version_count = static_cast<uint64_t>(s->ColumnInt64(6));
    c.alias_count = static_cast<uint64_t>(s->ColumnInt64(7));
    if (auto latest = s->ColumnOptionalInt64(8)) {
      c.latest = static_cast<uint64_t>(*latest);
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Collection>> Registry::ListCollections() {
  auto lock = impl_->Lock();
  return QueryCollections(*impl_->db, std::nullopt, std::nullopt);
}

Result<Collection> Registry::GetCollection(std::string_view name) {
  auto lock = impl_->Lock();
  auto found = QueryCollections(*impl_->db, name, std::nullopt);
  if (!found) return std::unexpected(found.error());
  if (!found->empty()) return std::move(found->front());
  if (auto v = ValidateName(name, "collection"); !v) {
    return std::unexpected(v.error());
  }
  return Fail(Code::kNotFound, fmt::format("no collection {}", Quote(name)));
}

Result<Collection> Registry::GetCollectionById(int64_t id) {
  auto lock = impl_->Lock();
  auto found = QueryCollections(*impl_->db, std::nullopt, id);
  if (!found) return std::unexpected(found.error());
  if (found->empty()) return Fail(Code::kNotFound, "no such collection");
  return std::move(found->front());
}

Result<Version> Registry::GetVersionById(int64_t id) {
  auto lock = impl_->Lock();
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.id = ?1",
      kVersionColumns);
  REGFS_STMT(s, *impl_->db, sql.c_str());
  s->BindInt64(1, id);
  auto row = s->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return Fail(Code::kNotFound, "no such version");
  return VersionFromRow(*s);
}

Result<Version> Registry::GetVersionByNumber(int64_t collection_id,
                                             uint64_t number) {
  auto lock = impl_->Lock();
  auto v = impl_->FindVersion(collection_id, number);
  if (!v) return std::unexpected(v.error());
  if (!*v) {
    return Fail(Code::kNotFound,
                fmt::format("no version {}", VersionName(number)));
  }
  return std::move(**v);
}

// The live versions of the collection `collection_id`, oldest first.
static Result<std::vector<Version>> QueryVersions(Database& db,
                                                  int64_t collection_id) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "ORDER BY v.number",
      kVersionColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, collection_id);
  std::vector<Version> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(VersionFromRow(*s));
  }
  return out;
}

Result<std::vector<Version>> Registry::ListVersions(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  return QueryVersions(*impl_->db, c->id);
}

Result<std::vector<Version>> Registry::ListVersionsInFull(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  auto versions = QueryVersions(*impl_->db, c->id);
  if (!versions) return versions;
  std::map<int64_t, Version*> by_id;
  for (auto& v : *versions) by_id[v.id] = &v;
  const auto find = [&](int64_t id) {
    const auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  };
  {
    REGFS_STMT(s, *impl_->db,
               "SELECT t.version_id, t.tag FROM tags t JOIN versions v ON "
               "v.id = t.version_id WHERE v.collection_id = ?1 "
               "ORDER BY t.version_id, t.tag");
    s->BindInt64(1, c->id);
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      if (Version* v = find(s->ColumnInt64(0))) {
        v->tags.push_back(s->ColumnText(1));
      }
    }
  }
  {
    REGFS_STMT(s, *impl_->db,
               "SELECT m.version_id, m.key, m.value FROM metadata m JOIN "
               "versions v ON v.id = m.version_id WHERE v.collection_id = ?1");
    s->BindInt64(1, c->id);
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      if (Version* v = find(s->ColumnInt64(0))) {
        v->metadata[s->ColumnText(1)] = s->ColumnText(2);
      }
    }
  }
  auto aliases = impl_->ListAliases(*c);
  if (!aliases) return std::unexpected(aliases.error());
  for (const auto& a : *aliases) {
    if (Version* v = find(a.version_id)) v->aliases.push_back(a.name);
  }
  return versions;
}

Result<Version> Registry::GetVersion(std::string_view collection,
                                     uint64_t number) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  auto v = impl_->FindVersion(c->id, number);
  if (!v) return std::unexpected(v.error());
  if (!*v) {
    return Fail(Code::kNotFound, fmt::format("{} has no version {}", collection,
                                             VersionName(number)));
  }
  if (auto s = impl_->FillDetails(**v); !s) return std::unexpected(s.error());
  return std::move(**v);
}

Result<std::vector<Alias>> Registry::ListAliases(std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  return impl_->ListAliases(*c);
}

Result<Alias> Registry::GetAlias(std::string_view collection,
                                 std::string_view name) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  return impl_->AliasInfo(*c, name);
}

Result<Version> Registry::Resolve(std::string_view collection,
                                  std::string_view name) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  auto v = impl_->ResolveIn(*c, name);
  if (!v) return v;
  if (auto s = impl_->FillDetails(*v); !s) return std::unexpected(s.error());
  return v;
}

Result<std::vector<TreeEntry>> Registry::ListTree(int64_t version_id,
                                                  int64_t parent_id) {
  auto lock = impl_->Lock();
  {
    REGFS_STMT(v, *impl_->db, "SELECT 1 FROM versions WHERE id = ?1");
    v->BindInt64(1, version_id);
    auto row = v->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Fail(Code::kNotFound, "no such version");
  }
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries "
             "WHERE version_id = ?1 AND parent_id = ?2 ORDER BY name");
  s->BindInt64(1, version_id).BindInt64(2, parent_id);
  std::vector<TreeEntry> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(Impl::TreeEntryFromRow(*s));
  }
  return out;
}

Result<TreeEntry> Registry::LookupTree(int64_t version_id, int64_t parent_id,
                                       std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries "
             "WHERE version_id = ?1 AND parent_id = ?2 AND name = ?3");
  s->BindInt64(1, version_id).BindInt64(2, parent_id).BindText(3, name);
  return impl_->TreeEntryFromQuery(*s);
}

Result<TreeEntry> Registry::GetTreeEntry(int64_t entry_id) {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries WHERE id = ?1");
  s->BindInt64(1, entry_id);
  return impl_->TreeEntryFromQuery(*s);
}

// Rows of "SELECT seq, time_ms, event, collection, alias, old_version,
// new_version, uid, user, interface, detail FROM history ...".
static Result<std::vector<Event>> ReadEvents(sqlite::Statement& s) {
  std::vector<Event> out;
  for (;;) {
    auto row = s.Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    Event e;
    e.seq = static_cast<uint64_t>(s.ColumnInt64(0));
    e.time = s.ColumnInt64(1);
    auto type = ParseEventType(s.ColumnText(2));
    if (!type) return Fail(Code::kCorruption, "unknown event type in history");
    e.type = *type;
    e.collection = s.ColumnText(3);
    e.alias = s.ColumnText(4);
    if (auto v = s.ColumnOptionalInt64(5))
      e.old_version = static_cast<uint64_t>(*v);
    if (auto v = s.ColumnOptionalInt64(6))
      e.new_version = static_cast<uint64_t>(*v);
    e.uid = static_cast<uid_t>(s.ColumnInt64(7));
    e.user = s.ColumnText(8);
    e.interface = s.ColumnText(9) == "fs" ? Interface::kFs : Interface::kCli;
    e.detail = nlohmann::json::parse(s.ColumnText(10), nullptr, false);
    if (!e.detail.is_object()) e.detail = nlohmann::json::object();
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<Event>> Registry::History(const HistoryFilter& filter) {
  auto lock = impl_->Lock();
  REGFS_STMT(
      s, *impl_->db,
      "SELECT seq, time_ms, event, collection, alias, old_version, "
      "new_version, uid, user, interface, detail FROM history "
      "WHERE seq > ?1 AND (?2 = '' OR collection = ?2) "
      "AND (?3 = '' OR alias = ?3 OR "
      "     (event = 'alias.rename' AND json_extract(detail, '$.to') = ?3)) "
      "AND time_ms >= ?4 AND seq <= ?6 ORDER BY seq LIMIT ?5");
  s->BindInt64(1, static_cast<int64_t>(filter.after_seq))
      .BindText(2, filter.collection)
      .BindText(3, filter.alias)
      .BindInt64(4, filter.since.value_or(INT64_MIN))
      .BindInt64(5,
                 filter.limit == 0 ? -1 : static_cast<int64_t>(filter.limit))
      .BindInt64(6, filter.until_seq
                        ? static_cast<int64_t>(std::min(
                              *filter.until_seq,
                              static_cast<uint64_t>(INT64_MAX)))
                        : INT64_MAX);
  return ReadEvents(*s);
}

Result<uint64_t> Registry::LastSeq() {
  auto lock = impl_->Lock();
  return impl_->LastSeq();
}


Result<uint64_t> Registry::SeqAt(std::string_view point,
                                 std::optional<uint64_t> view) {
  auto moment = ParseMoment(point);
  if (!moment) return std::unexpected(moment.error());
  auto last = LastSeq();
  if (!last) return last;
  const uint64_t newest = view ? std::min(*view, *last) : *last;
  // A view frozen at `newest` has no later events: they are its future.
  auto after_view = [&](uint64_t seq) {
    const std::string what =
        moment->kind == Moment::Kind::kEvent
            ? fmt::format("event {}", seq)
            : fmt::format("{} (event {})", point, seq);
    return Fail(Code::kNotFound,
                fmt::format("{} is after event {}, the moment this view is "
                            "frozen at",
                            what, newest));
  };
  switch (moment->kind) {
    case Moment::Kind::kNow:
      return newest;
    case Moment::Kind::kEvent:
      if (moment->value > *last) {
        return Fail(Code::kNotFound,
                    fmt::format("there is no event {}, it is in the future: "
                                "the newest is {}",
                                moment->value, *last));
      }
      if (moment->value > newest) return after_view(moment->value);
      return moment->value;
    case Moment::Kind::kTime:
      break;
  }
  const TimeMs time = static_cast<TimeMs>(moment->value);
  if (const TimeMs now = NowMs(); time > now) {
    return Fail(Code::kNotFound,
                fmt::format("{} is in the future (it is now {}): name a "
                            "moment that has passed, or now",
                            point, FormatTime(now)));
  }
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT coalesce(max(seq), 0) FROM history WHERE time_ms <= ?1");
  s->BindInt64(1, time);
  auto row = s->Step();
  if (!row) return std::unexpected(row.error());
  const auto seq = static_cast<uint64_t>(s->ColumnInt64(0));
  if (seq > newest) return after_view(seq);
  return seq;
}

Result<std::vector<Collection>> Registry::CollectionsAt(uint64_t seq) {
  auto lock = impl_->Lock();
  return impl_->IncarnationsAt(seq);
}

Result<Collection> Registry::GetCollectionAt(std::string_view name,
                                             uint64_t seq) {
  REGFS_TRY(ValidateName(name, "collection"));
  auto lock = impl_->Lock();
  auto c = impl_->IncarnationAt(name, seq);
  if (!c) return std::unexpected(c.error());
  if (!*c) {
    return Fail(Code::kNotFound,
                fmt::format("there was no collection '{}' after event {}",
                            name, seq));
  }
  return std::move(**c);
}

Result<std::vector<Version>> Registry::VersionsAt(std::string_view collection,
                                                  uint64_t seq) {
  auto lock = impl_->Lock();
  // The collection of that name then: a deleted one has no versions left.
  auto then = impl_->IncarnationAt(collection, seq);
  if (!then) return std::unexpected(then.error());
  auto c = *then ? Result<Impl::CollectionRow>(Impl::CollectionRow{
                     (*then)->id, (*then)->name, (*then)->kind, 0})
                 : impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  // A live version was never deleted, so it was live at every event since
  // its creation.
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "AND v.created_seq <= ?2 ORDER BY v.number",
      kVersionColumns);
  REGFS_STMT(s, *impl_->db, sql.c_str());
  s->BindInt64(1, c->id).BindInt64(2, static_cast<int64_t>(seq));
  std::vector<Version> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(VersionFromRow(*s));
  }
  return out;
}

Result<CollectionReplay> Registry::Impl::Replay(
    std::string_view collection, uint64_t seq,
    std::optional<std::string> watch) {
  // By name: a collection deleted since is replayed too.
  auto c = FindCollection(collection);
  if (!c && c.error().IsNotFound() && ValidateName(collection, "collection")) {
    c = CollectionRow{0, std::string(collection), Kind::kEmpty, 0};
  }
  if (!c) return std::unexpected(c.error());
  REGFS_STMT(s, *db,
             "SELECT seq, time_ms, event, collection, alias, old_version, "
             "new_version, uid, user, interface, detail FROM history "
             "WHERE seq <= ?2 AND (collection = ?1 OR event IN "
             "('name.protect', 'name.unprotect')) ORDER BY seq");
  s->BindText(1, c->name).BindInt64(2, static_cast<int64_t>(seq));
  auto events = ReadEvents(*s);
  if (!events) return std::unexpected(events.error());
  CollectionReplay replay(c->name, std::move(watch));
  for (const Event& e : *events) replay.Apply(e);
  if (!replay.exists()) {
    return Fail(Code::kNotFound,
                fmt::format("collection '{}' did not exist yet after event {}",
                            c->name, seq));
  }
  return replay;
}

Result<Alias> Registry::Impl::AliasFromState(std::string_view collection,
                                             std::string_view name,
                                             const AliasState& state,
                                             bool is_protected) {
  Alias a;
  a.collection = std::string(collection);
  a.name = std::string(name);
  a.version = state.version;
  a.revision = state.seq;
  a.is_latest = name == kLatest;
  a.is_protected = is_protected && !a.is_latest;
  a.updated = state.time;
  a.updated_uid = state.uid;
  a.updated_by = state.user;
  auto c = FindCollection(collection);
  if (!c && c.error().IsNotFound()) return a;  // deleted with its versions
  if (!c) return std::unexpected(c.error());
  auto v = FindVersion(c->id, state.version);
  if (!v) return std::unexpected(v.error());
  if (*v) a.version_id = (*v)->id;
  return a;
}

Result<std::vector<Alias>> Registry::AliasesAt(std::string_view collection,
                                               uint64_t seq) {
  auto lock = impl_->Lock();
  auto replay = impl_->Replay(collection, seq, std::nullopt);
  if (!replay) return std::unexpected(replay.error());
  std::vector<Alias> out;
  auto add = [&](std::string_view name, const AliasState& state) -> Status {
    auto a = impl_->AliasFromState(collection, name, state,
                                   replay->IsProtected(name));
    if (!a) return std::unexpected(a.error());
    out.push_back(std::move(*a));
    return {};
  };
  if (auto latest = replay->latest()) REGFS_TRY(add(kLatest, *latest));
  for (const auto& [name, state] : replay->aliases())
    REGFS_TRY(add(name, state));
  std::sort(out.begin(), out.end(),
            [](const Alias& a, const Alias& b) { return a.name < b.name; });
  return out;
}

Result<Alias> Registry::GetAliasAt(std::string_view collection,
                                   std::string_view name, uint64_t seq) {
  auto lock = impl_->Lock();
  if (ParseVersionName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a version, not an alias", name));
  }
  auto replay = impl_->Replay(collection, seq, std::nullopt);
  if (!replay) return std::unexpected(replay.error());
  auto state = replay->Find(name);
  if (!state) {
    return Fail(Code::kNotFound,
                fmt::format("{} had no alias '{}' after event {}", collection,
                            name, seq));
  }
  return impl_->AliasFromState(collection, name, *state,
                               replay->IsProtected(name));
}

Result<Alias> Registry::GetAliasBefore(std::string_view collection,
                                       std::string_view name, uint64_t back,
                                       std::optional<uint64_t> at) {
  auto lock = impl_->Lock();
  if (ParseVersionName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a version, not an alias", name));
  }
  auto last = impl_->LastSeq();
  if (!last) return std::unexpected(last.error());
  const uint64_t until = at ? std::min(*at, *last) : *last;
  auto replay = impl_->Replay(collection, until, std::string(name));
  if (!replay) return std::unexpected(replay.error());
  const auto& timeline = replay->timeline();
  if (back >= timeline.size()) {
    return Fail(Code::kNotFound,
                fmt::format("{}/{} has had {} target(s){}, not {}",
                            collection, name, timeline.size(),
                            at ? fmt::format(" by event {}", until) : "",
                            back + 1));
  }
  const auto& state = timeline[timeline.size() - 1 - back];
  if (!state) {
    return Fail(Code::kNotFound,
                fmt::format("{}/{}@{{{}}}: the alias did not exist then",
                            collection, name, back));
  }
  return impl_->AliasFromState(collection, name, *state,
                               replay->IsProtected(name));
}

Result<Role> Registry::RoleOf(const Identity& who) {
  auto lock = impl_->Lock();
  return impl_->RoleOf(who);
}

Result<std::vector<RoleGrant>> Registry::ListRoles() {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT principal, role FROM roles ORDER BY principal");
  std::vector<RoleGrant> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({s->ColumnText(0), static_cast<Role>(s->ColumnInt64(1))});
  }
  return out;
}

Result<Role> Registry::DefaultRole() {
  auto lock = impl_->Lock();
  auto role = impl_->GrantedRole(kDefaultPrincipal);
  if (!role) return std::unexpected(role.error());
  return role->value_or(Role::kViewer);
}

Result<std::vector<ProtectedName>> Registry::ListProtected() {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT name, created_ms, created_by FROM protected_names "
             "ORDER BY name");
  std::vector<ProtectedName> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({s->ColumnText(0), s->ColumnInt64(1), s->ColumnText(2)});
  }
  return out;
}

Result<bool> Registry::IsProtected(std::string_view name) {
  auto lock = impl_->Lock();
  return impl_->IsProtected(name);
}

// ---- Changes --------------------------------------------------------------

Result<Collection> Registry::CreateCollection(const Identity& who,
                                              std::string_view name) {
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, kRoleToChange, "create collections"));
    REGFS_TRY(ValidateCollectionName(name));
    auto tx = Transaction::Begin(*impl_->db);
    if (!tx) return std::unexpected(tx.error());
    auto existing = impl_->FindCollection(name);
    if (existing) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("collection {} already exists", Quote(name)));
    }
    if (!existing.error().IsNotFound())
      return std::unexpected(existing.error());
    REGFS_TRY(impl_->InsertCollection(who, name));
    REGFS_TRY(tx->Commit());
  }
  return GetCollection(name);
}

Result<Version> Registry::Push(const Identity& who,
                               const PushRequest& request) {
  // Cheap checks first, so that a refused push copies nothing.
  REGFS_TRY(ValidateCollectionName(request.collection));
  for (const auto& alias : request.aliases) {
    if (alias == kLatest) {
      return Fail(Code::kNotPermitted,
                  "'latest' is maintained by the registry: it always names the "
                  "newest version");
    }
    REGFS_TRY(ValidateAliasName(alias));
  }
  for (const auto& tag : request.tags) REGFS_TRY(ValidateTag(tag));
  for (const auto& [key, value] : request.metadata)
    REGFS_TRY(ValidateMetaKey(key));
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, kRoleToChange, "push versions"));
    for (const auto& alias : request.aliases) {
      REGFS_TRY(impl_->CheckAliasName(who, alias, "set"));
    }
  }
  bool is_tree = false;
  auto items = PlanPush(request, is_tree);
  if (!items) return std::unexpected(items.error());

  // Copy and hash every file, without the lock.
  uint64_t total = 0;
  for (const auto& item : *items) {
    if (item.is_dir) continue;
    struct stat st;
    if (::stat(item.source.c_str(), &st) == 0)
      total += static_cast<uint64_t>(st.st_size);
  }
  std::vector<StagedBlob> staged(items->size());
  uint64_t done_before = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].is_dir) continue;
    ProgressFn progress;
    if (request.progress) {
      progress = [&](uint64_t done, uint64_t) {
        request.progress(done_before + done,
                         std::max(total, done_before + done));
      };
    }
    auto blob = impl_->blobs.Stage((*items)[i].source, progress);
    if (!blob) return std::unexpected(blob.error());
    done_before += blob->size();
    staged[i] = std::move(*blob);
  }
  if (impl_->options.fail_point == BlobStore::FailPoint::kAfterStage) {
    return Fail(Code::kIoError, "injected failure after staging");
  }

  // The version's digest: the file's, or the hash of the tree's manifest.
  std::string tree_digest;
  uint64_t size = 0, files = 0;
  {
    std::string manifest;
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      manifest += item.path;
      manifest += '\0';
      if (item.is_dir) {
        manifest += "dir\n";
        continue;
      }
      manifest += item.executable ? "exec" : "file";
      manifest += '\0';
      manifest += std::to_string(staged[i].size());
      manifest += '\0';
      manifest += staged[i].digest();
      manifest += '\n';
      size += staged[i].size();
      ++files;
    }
    tree_digest = Xxh3Hex(manifest);
  }
  std::string filename;
  for (const auto& path : request.paths) {
    if (!filename.empty()) filename += ",";
    std::string name = path.lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") {
      name = std::filesystem::absolute(path)
                 .lexically_normal()
                 .filename()
                 .string();
    }
    filename += name;
  }

  auto lock = impl_->Lock();
  Database& db = *impl_->db;
  auto tx = Transaction::Begin(db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, kRoleToChange, "push versions"));
  auto c = impl_->FindCollection(request.collection);
  if (!c) {
    if (!c.error().IsNotFound()) return std::unexpected(c.error());
    c = impl_->InsertCollection(who, request.collection);
    if (!c) return std::unexpected(c.error());
  }
  // One file pushed to a tree collection is a tree of one file.
  if (c->kind == Kind::kTree) is_tree = true;
  const Kind kind = is_tree ? Kind::kTree : Kind::kFile;
  const std::string digest = is_tree ? tree_digest : staged[0].digest();
  if (c->kind == Kind::kFile && is_tree) {
    return Fail(Code::kConflict,
                fmt::format("collection {} holds single files: push one file, "
                            "or push the tree to a new collection",
                            Quote(c->name)));
  }

  std::vector<std::string> keys(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].is_dir) continue;
    auto key = impl_->blobs.Install(staged[i]);
    if (!key) return std::unexpected(key.error());
    keys[i] = std::move(*key);
  }
  if (impl_->options.fail_point == BlobStore::FailPoint::kAfterInstall) {
    return Fail(Code::kIoError, "injected failure after installing blobs");
  }

  const uint64_t number = static_cast<uint64_t>(c->next_version);
  auto seq = impl_->Append(
      who, EventType::kVersionCreate, c->name, "", std::nullopt, number,
      nlohmann::json{
          {"digest", digest}, {"size", size}, {"filename", filename}});
  if (!seq) return std::unexpected(seq.error());
  {
    REGFS_STMT(s, db,
               "INSERT INTO versions (collection_id, number, created_ms, "
               "creator_uid, creator, size, files, digest, blob, filename, "
               "description, created_seq) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    s->BindInt64(1, c->id)
        .BindInt64(2, static_cast<int64_t>(number))
        .BindInt64(3, NowMs())
        .BindInt64(4, static_cast<int64_t>(who.uid))
        .BindText(5, who.user)
        .BindInt64(6, static_cast<int64_t>(size))
        .BindInt64(7, static_cast<int64_t>(files))
        .BindText(8, digest);
    if (is_tree) {
      s->BindNull(9);
    } else {
      s->BindText(9, keys[0]);
    }
    s->BindText(10, filename)
        .BindText(11, request.description)
        .BindInt64(12, static_cast<int64_t>(*seq));
    REGFS_TRY(s->Run());
  }
  const int64_t version_id = db.LastInsertRowId();
  {
    REGFS_STMT(
        s, db,
        "UPDATE collections SET next_version = ?1, kind = ?2 WHERE id = ?3");
    s->BindInt64(1, static_cast<int64_t>(number + 1))
        .BindInt64(2, static_cast<int64_t>(kind))
        .BindInt64(3, c->id);
    REGFS_TRY(s->Run());
  }
  if (is_tree) {
    std::map<std::string, int64_t> dir_ids;  // relative path -> entry id
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      const size_t slash = item.path.rfind('/');
      const std::string parent =
          slash == std::string::npos ? "" : item.path.substr(0, slash);
      const std::string name =
          slash == std::string::npos ? item.path : item.path.substr(slash + 1);
      REGFS_STMT(s, db,
                 "INSERT INTO tree_entries (version_id, parent_id, name, "
                 "is_dir, executable, size, blob) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      s->BindInt64(1, version_id)
          .BindInt64(2, parent.empty() ? 0 : dir_ids.at(parent))
          .BindText(3, name)
          .BindInt64(4, int64_t{item.is_dir ? 1 : 0})
          .BindInt64(5, int64_t{item.executable ? 1 : 0})
          .BindInt64(6,
                     item.is_dir ? 0 : static_cast<int64_t>(staged[i].size()));
      if (item.is_dir) {
        s->BindNull(7);
      } else {
        s->BindText(7, keys[i]);
      }
      REGFS_TRY(s->Run());
      if (item.is_dir) dir_ids[item.path] = db.LastInsertRowId();
    }
  }
  for (const auto& tag : request.tags) {
    REGFS_STMT(s, db,
               "INSERT OR IGNORE INTO tags (version_id, tag) VALUES (?1, ?2)");
    s->BindInt64(1, version_id).BindText(2, tag);
    REGFS_TRY(s->Run());
  }
  for (const auto& [key, value] : request.metadata) {
    REGFS_STMT(s, db,
               "INSERT OR REPLACE INTO metadata (version_id, key, value) "
               "VALUES (?1, ?2, ?3)");
    s->BindInt64(1, version_id).BindText(2, key).BindText(3, value);
    REGFS_TRY(s->Run());
  }
  auto version = impl_->FindVersion(c->id, number);
  if (!version) return std::unexpected(version.error());
  for (const auto& alias : request.aliases) {
    REGFS_TRY(impl_->CheckAliasName(who, alias, "set"));
    REGFS_TRY(impl_->WriteAlias(who, *c, alias, **version));
  }
  REGFS_TRY(tx->Commit());
  Version result = std::move(**version);
  if (auto s = impl_->FillDetails(result); !s)
    return std::unexpected(s.error());
  return result;
}

Status Registry::DeleteVersion(const Identity& who, std::string_view collection,
                               uint64_t number) {
  auto lock = impl_->Lock();
  Database& db = *impl_->db;
  auto tx = Transaction::Begin(db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "delete versions"));
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  auto v = impl_->FindVersion(c->id, number);
  if (!v) return std::unexpected(v.error());
  if (!*v) {
    return Fail(Code::kNotFound, fmt::format("{} has no version {}", collection,
                                             VersionName(number)));
  }
  std::vector<Impl::AliasRow> aliases;
  {
    REGFS_STMT(s, db,
               "SELECT a.id, a.name, EXISTS (SELECT 1 FROM protected_names p "
               "WHERE p.name = a.name COLLATE NOCASE) FROM aliases a "
               "WHERE a.version_id = ?1 "
               "ORDER BY a.name");
    s->BindInt64(1, (*v)->id);
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      if (s->ColumnInt64(2) != 0) {
        return Fail(
            Code::kNotPermitted,
            fmt::format("{}/{} is named by protected alias '{}': move "
                        "the alias before deleting the version",
                        collection, VersionName(number), s->ColumnText(1)));
      }
      aliases.push_back(
          {s->ColumnInt64(0), s->ColumnText(1), (*v)->id, number});
    }
  }
  for (const auto& alias : aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, *c, alias));
  REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c->name, "", number,
                          std::nullopt));
  {
    REGFS_STMT(s, db, "DELETE FROM versions WHERE id = ?1");
    s->BindInt64(1, (*v)->id);
    REGFS_TRY(s->Run());
  }
  return tx->Commit();
}

// ---- Deleting collections -------------------------------------------------
//
// A collection's row is deleted, so that its name can be used again, and
// copied into deleted_collections (schema v3): its id is never given to
// another collection (inodes derive from ids, so a re-created collection
// gets a fresh directory inode), and a collection re-created under the
// name continues its numbering. A version number thus never names two
// contents under one name, in `regfs history COLL` and `.history` as in
// time travel, where the history's collection.delete and collection.create
// rows separate the two collections (CollectionReplay starts afresh at
// each).

Status Registry::DeleteCollection(const Identity& who, std::string_view name,
                                  bool all) {
  auto lock = impl_->Lock();
  auto tx = Transaction::Begin(*impl_->db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(
      who, all ? Role::kAdmin : kRoleToChange,
      all ? "delete a collection with its versions" : "delete collections"));
  auto c = impl_->FindCollection(name);
  if (!c) return std::unexpected(c.error());
  auto versions = impl_->CollectionVersions(c->id);
  if (!versions) return std::unexpected(versions.error());
  auto aliases = impl_->CollectionAliases(c->id);
  if (!aliases) return std::unexpected(aliases.error());
  REGFS_TRY(impl_->CheckDeletable(*c, all, versions->size(), *aliases));
  for (const auto& alias : *aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, *c, alias));
  for (const auto& [id, number] : *versions) {
    REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c->name, "",
                            number, std::nullopt));
    REGFS_STMT(s, *impl_->db, "DELETE FROM versions WHERE id = ?1");
    s->BindInt64(1, id);
    REGFS_TRY(s->Run());
  }
  REGFS_TRY(impl_->RetireCollection(who, *c));
  return tx->Commit();
}

Status Registry::Impl::CheckDeletable(const CollectionRow& c, bool all,
                                      size_t versions,
                                      const std::vector<AliasRow>& aliases) {
  if (!all && (versions > 0 || !aliases.empty())) {
    return Fail(Code::kConflict,
                fmt::format("collection '{}' is not empty: it has {} "
                            "version(s); an admin can delete it with them: "
                            "regfs rm {} --all",
                            c.name, versions, c.name));
  }
  // W&B's rule, as for one version: nothing a protected alias names goes.
  for (const AliasRow& alias : aliases) {
    auto prot = IsProtected(alias.name);
    if (!prot) return std::unexpected(prot.error());
    if (*prot) {
      return Fail(Code::kNotPermitted,
                  fmt::format("{}/{} is a protected alias (-> {}): remove it "
                              "before deleting the collection",
                              c.name, alias.name, VersionName(alias.number)));
    }
  }
  return {};
}

Result<std::vector<std::pair<int64_t, uint64_t>>>
Registry::Impl::CollectionVersions(int64_t collection_id) {
  REGFS_STMT(s, *db,
             "SELECT id, number FROM versions WHERE collection_id = ?1 "
             "ORDER BY number");
  s->BindInt64(1, collection_id);
  std::vector<std::pair<int64_t, uint64_t>> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.emplace_back(s->ColumnInt64(0),
                     static_cast<uint64_t>(s->ColumnInt64(1)));
  }
}

Result<std::vector<Registry::Impl::AliasRow>>
Registry::Impl::CollectionAliases(int64_t collection_id) {
  REGFS_STMT(s, *db,
             "SELECT a.id, a.name, a.version_id, v.number FROM aliases a "
             "JOIN versions v ON v.id = a.version_id "
             "WHERE a.collection_id = ?1 ORDER BY a.name");
  s->BindInt64(1, collection_id);
  std::vector<AliasRow> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back({s->ColumnInt64(0), s->ColumnText(1), s->ColumnInt64(2),
                   static_cast<uint64_t>(s->ColumnInt64(3))});
  }
}

// The collection.delete row, then the collection's row moves to
// deleted_collections.
Status Registry::Impl::RetireCollection(const Identity& who,
                                        const CollectionRow& c) {
  auto seq = Append(who, EventType::kCollectionDelete, c.name, "",
                    std::nullopt, std::nullopt);
  if (!seq) return std::unexpected(seq.error());
  {
    REGFS_STMT(s, *db,
               "INSERT INTO deleted_collections (id, name, kind, next_version, "
               "created_ms, creator_uid, creator, deleted_seq) SELECT id, "
               "name, kind, next_version, created_ms, creator_uid, creator, ?2 "
               "FROM collections WHERE id = ?1");
    s->BindInt64(1, c.id).BindInt64(2, static_cast<int64_t>(*seq));
    REGFS_TRY(s->Run());
  }
  REGFS_STMT(s, *db, "DELETE FROM collections WHERE id = ?1");
  s->BindInt64(1, c.id);
  return s->Run();
}

Result<int64_t> Registry::Impl::DeletedNextVersion(std::string_view name) {
  REGFS_STMT(s, *db,
             "SELECT coalesce(max(next_version), 0) FROM deleted_collections "
             "WHERE name = ?1");
  s->BindText(1, name);
  auto row = s->Step();
  if (!row) return std::unexpected(row.error());
  return *row ? s->ColumnInt64(0) : 0;
}

// A deleted collection as time travel shows it: no versions, no aliases.
static Collection DeletedCollectionFromRow(sqlite::Statement& s) {
  Collection c;
  c.id = s.ColumnInt64(0);
  c.name = s.ColumnText(1);
  c.kind = static_cast<Kind>(s.ColumnInt64(2));
  c.created = s.ColumnInt64(3);
  c.creator_uid = static_cast<uid_t>(s.ColumnInt64(4));
  c.creator = s.ColumnText(5);
  return c;
}

Result<std::optional<Collection>> Registry::Impl::IncarnationAt(
    std::string_view name, uint64_t seq) {
  using Found = std::optional<Collection>;
  {
    REGFS_STMT(s, *db,
               "SELECT event FROM history WHERE collection = ?1 AND seq <= ?2 "
               "AND event IN ('collection.create', 'collection.delete') "
               "ORDER BY seq DESC LIMIT 1");
    s->BindText(1, name).BindInt64(2, static_cast<int64_t>(seq));
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row || s->ColumnText(0) != EventTypeName(EventType::kCollectionCreate))
      return Found();
  }
  {
    REGFS_STMT(s, *db,
               "SELECT id, name, kind, created_ms, creator_uid, creator FROM "
               "deleted_collections WHERE name = ?1 AND deleted_seq > ?2 "
               "ORDER BY deleted_seq LIMIT 1");
    s->BindText(1, name).BindInt64(2, static_cast<int64_t>(seq));
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (*row) return Found(DeletedCollectionFromRow(*s));
  }
  auto now = QueryCollections(*db, name, std::nullopt);
  if (!now) return std::unexpected(now.error());
  if (now->empty()) return Found();
  return Found(std::move(now->front()));
}

Result<std::vector<Collection>> Registry::Impl::IncarnationsAt(uint64_t seq) {
  // Whether each name held a collection right after `seq`.
  std::map<std::string, bool> existed;
  {
    REGFS_STMT(s, *db,
               "SELECT collection, event FROM history WHERE seq <= ?1 AND "
               "event IN ('collection.create', 'collection.delete') "
               "ORDER BY seq");
    s->BindInt64(1, static_cast<int64_t>(seq));
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      existed[s->ColumnText(0)] =
          s->ColumnText(1) == EventTypeName(EventType::kCollectionCreate);
    }
  }
  // Of each name, the first collection deleted after `seq` was the one then.
  std::map<std::string, Collection> deleted;
  {
    REGFS_STMT(s, *db,
               "SELECT id, name, kind, created_ms, creator_uid, creator FROM "
               "deleted_collections WHERE deleted_seq > ?1 "
               "ORDER BY deleted_seq");
    s->BindInt64(1, static_cast<int64_t>(seq));
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      Collection c = DeletedCollectionFromRow(*s);
      deleted.try_emplace(c.name, std::move(c));
    }
  }
  auto now = QueryCollections(*db, std::nullopt, std::nullopt);
  if (!now) return std::unexpected(now.error());
  std::vector<Collection> out;
  for (Collection& c : *now) {
    if (deleted.contains(c.name)) continue;
    const auto it = existed.find(c.name);
    if (it != existed.end() && it->second) out.push_back(std::move(c));
  }
  for (auto& [name, c] : deleted) {
    const auto it = existed.find(name);
    if (it != existed.end() && it->second) out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Collection& a,
                                       const Collection& b) {
    return a.name < b.name;
  });
  return out;
}

Result<Version> Registry::CheckSetAlias(const Identity& who,
                                        std::string_view collection,
                                        std::string_view alias,
                                        std::string_view target) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  REGFS_TRY(impl_->CheckAliasName(who, alias, "move"));
  return impl_->ResolveTarget(*c, target);
}

Result<Version> Registry::CheckTarget(const Identity& who,
                                      std::string_view collection,
                                      std::string_view target) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  if (!c) return std::unexpected(c.error());
  REGFS_TRY(impl_->Require(who, kRoleToChange, "change aliases"));
  return impl_->ResolveTarget(*c, target);
}

Result<Alias> Registry::CreateAlias(const Identity& who,
                                    std::string_view collection,
                                    std::string_view alias,
                                    std::string_view target) {
  auto lock = impl_->Lock();
  auto change = impl_->BeginAliasChange(who, collection, {{alias, "create"}});
  if (!change) return std::unexpected(change.error());
  const Impl::CollectionRow& c = change->c;
  auto version = impl_->ResolveTarget(c, target);
  if (!version) return std::unexpected(version.error());
  auto existing = impl_->FindAlias(c.id, alias);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) {
    return Fail(Code::kAlreadyExists, fmt::format("{} already has an alias {}",
                                                  c.name, Quote(alias)));
  }
  REGFS_TRY(impl_->WriteAlias(who, c, alias, *version));
  REGFS_TRY(change->tx.Commit());
  return impl_->AliasInfo(c, alias);
}

Result<Alias> Registry::SetAlias(
    const Identity& who, std::string_view collection, std::string_view alias,
    std::string_view target, std::optional<std::optional<uint64_t>> expected) {
  auto ticket = impl_->JoinBatch();
  if (!ticket) return std::unexpected(ticket.error());
  // Inside the batch, the change's own transaction is a savepoint.
  auto move = [&]() -> Result<Alias> {
    auto change = impl_->BeginAliasChange(who, collection, {{alias, "move"}},
                                          /*in_batch=*/true);
    if (!change) return std::unexpected(change.error());
    const Impl::CollectionRow& c = change->c;
    auto version = impl_->ResolveTarget(c, target);
    if (!version) return std::unexpected(version.error());
    if (expected) {
      auto existing = impl_->FindAlias(c.id, alias);
      if (!existing) return std::unexpected(existing.error());
      std::optional<uint64_t> now;
      if (*existing) now = (*existing)->number;
      if (now != *expected) {
        auto show = [](const std::optional<uint64_t>& v) {
          return v ? VersionName(*v) : std::string("nothing");
        };
        return Fail(
            Code::kConflict,
            fmt::format("alias '{}' moved meanwhile: it names {}, not {}",
                        alias, show(now), show(*expected)));
      }
    }
    REGFS_TRY(impl_->WriteAlias(who, c, alias, *version));
    auto info = impl_->AliasInfo(c, alias);
    if (!info) return std::unexpected(info.error());
    REGFS_TRY(change->tx.Commit());
    return info;
  };
  Result<Alias> moved = [&]() -> Result<Alias> {
    try {
      return move();
    } catch (...) {
      // The batch must still end, or its members would wait for ever.
      (void)impl_->LeaveBatch(*ticket, false);
      throw;
    }
  }();
  REGFS_TRY(impl_->LeaveBatch(*ticket, moved.has_value()));
  return moved;
}

Result<std::unique_ptr<ChangeListener>> Registry::Listen(
    ChangeListener::OnChange on_change) {
  auto listener = ChangeListener::Start(store_, std::move(on_change));
  if (listener) impl_->announcer.Skip((*listener)->name());
  return listener;
}

Registry::BatchStats Registry::GetBatchStats() {
  auto lock = impl_->Lock();
  return impl_->batch_stats;
}

Status Registry::RemoveAlias(const Identity& who, std::string_view collection,
                             std::string_view alias) {
  auto lock = impl_->Lock();
  auto change = impl_->BeginAliasChange(who, collection, {{alias, "remove"}});
  if (!change) return std::unexpected(change.error());
  const Impl::CollectionRow& c = change->c;
  auto existing = impl_->RequireAlias(c, alias);
  if (!existing) return std::unexpected(existing.error());
  REGFS_TRY(impl_->DeleteAliasRow(who, c, *existing));
  return change->tx.Commit();
}

Status Registry::RenameAlias(const Identity& who, std::string_view collection,
                             std::string_view from, std::string_view to,
                             bool replace) {
  auto lock = impl_->Lock();
  auto change = impl_->BeginAliasChange(who, collection,
                                        {{from, "rename"}, {to, "replace"}});
  if (!change) return std::unexpected(change.error());
  const Impl::CollectionRow& c = change->c;
  auto source = impl_->RequireAlias(c, from);
  if (!source) return std::unexpected(source.error());
  if (from == to) return {};
  auto dest = impl_->FindAlias(c.id, to);
  if (!dest) return std::unexpected(dest.error());
  if (*dest) {
    if (!replace) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("{} already has an alias {}", c.name, Quote(to)));
    }
    REGFS_TRY(impl_->DeleteAliasRow(who, c, **dest));
  } else {
    // `mv a A` renames `a` itself; `mv a B` beside `b` is refused.
    REGFS_TRY(impl_->RequireNoAliasCaseTwin(c, to, source->id));
  }
  const TimeMs now = NowMs();
  auto seq = impl_->Append(who, EventType::kAliasRename, c.name, from,
                           source->number, source->number,
                           nlohmann::json{{"to", std::string(to)}}, now);
  if (!seq) return std::unexpected(seq.error());
  REGFS_STMT(s, *impl_->db,
             "UPDATE aliases SET name = ?1, revision = ?2, updated_ms = ?3, "
             "updated_uid = ?4, updated_by = ?5 WHERE id = ?6");
  s->BindText(1, to)
      .BindInt64(2, static_cast<int64_t>(*seq))
      .BindInt64(3, now)
      .BindInt64(4, static_cast<int64_t>(who.uid))
      .BindText(5, who.user)
      .BindInt64(6, source->id);
  REGFS_TRY(s->Run());
  return change->tx.Commit();
}

Status Registry::ExchangeAliases(const Identity& who,
                                 std::string_view collection,
                                 std::string_view a, std::string_view b) {
  auto lock = impl_->Lock();
  auto change =
      impl_->BeginAliasChange(who, collection, {{a, "move"}, {b, "move"}});
  if (!change) return std::unexpected(change.error());
  const Impl::CollectionRow& c = change->c;
  auto first = impl_->RequireAlias(c, a);
  if (!first) return std::unexpected(first.error());
  auto second = impl_->RequireAlias(c, b);
  if (!second) return std::unexpected(second.error());
  auto va = impl_->FindVersion(c.id, first->number);
  auto vb = impl_->FindVersion(c.id, second->number);
  if (!va) return std::unexpected(va.error());
  if (!vb) return std::unexpected(vb.error());
  REGFS_TRY(impl_->WriteAlias(who, c, a, **vb));
  REGFS_TRY(impl_->WriteAlias(who, c, b, **va));
  return change->tx.Commit();
}

Status Registry::AddTag(const Identity& who, std::string_view collection,
                        uint64_t number, std::string_view tag) {
  auto lock = impl_->Lock();
  return impl_->ChangeTag(who, collection, number, tag, true);
}

Status Registry::RemoveTag(const Identity& who, std::string_view collection,
                           uint64_t number, std::string_view tag) {
  auto lock = impl_->Lock();
  return impl_->ChangeTag(who, collection, number, tag, false);
}

Status Registry::Protect(const Identity& who, std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_TRY(ValidateAliasName(name));
  auto tx = Transaction::Begin(*impl_->db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "protect names"));
  auto prot = impl_->ProtectedSpelling(name);
  if (!prot) return std::unexpected(prot.error());
  if (*prot) {
    // Protection ignores case: `Production` is protected with `production`.
    const std::string as =
        **prot == name ? "" : fmt::format(" (as {})", Quote(**prot));
    return Fail(Code::kAlreadyExists,
                fmt::format("name {} is already protected{}", Quote(name), as));
  }
  REGFS_STMT(s, *impl_->db,
             "INSERT INTO protected_names (name, created_ms, created_by) "
             "VALUES (?1, ?2, ?3)");
  s->BindText(1, name).BindInt64(2, NowMs()).BindText(3, who.user);
  REGFS_TRY(s->Run());
  REGFS_TRY(impl_->Append(who, EventType::kProtect, "", name, std::nullopt,
                          std::nullopt));
  return tx->Commit();
}

Status Registry::Unprotect(const Identity& who, std::string_view name) {
  auto lock = impl_->Lock();
  auto tx = Transaction::Begin(*impl_->db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "unprotect names"));
  bool removed = false;
  // Protection ignores case: every spelling of `name` goes (a store from
  // before that rule may hold several), each with its own event.
  for (;;) {
    auto spelling = impl_->ProtectedSpelling(name);
    if (!spelling) return std::unexpected(spelling.error());
    if (!*spelling) break;
    REGFS_STMT(s, *impl_->db, "DELETE FROM protected_names WHERE name = ?1");
    s->BindText(1, **spelling);
    REGFS_TRY(s->Run());
    REGFS_TRY(impl_->Append(who, EventType::kUnprotect, "", **spelling,
                            std::nullopt, std::nullopt));
    removed = true;
  }
  if (!removed) {
    if (auto v = ValidateName(name, "alias"); !v) return v;
    return Fail(Code::kNotFound,
                fmt::format("name {} is not protected", Quote(name)));
  }
  return tx->Commit();
}

static Status ValidatePrincipal(std::string_view principal) {
  if (principal == kDefaultPrincipal) return {};
  std::string_view name = principal;
  if (name.starts_with("group:")) name.remove_prefix(6);
  if (name.empty() || name.size() > 256 ||
      std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == 0x7f;
      })) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a principal: give a user name, "
                            "group:NAME, or * for the default role",
                            principal.substr(0, 200)));
  }
  return {};
}

Status Registry::Grant(const Identity& who, std::string_view given, Role role) {
  REGFS_TRY(ValidatePrincipal(given));
  const std::string principal = CanonicalPrincipal(given);
  auto lock = impl_->Lock();
  auto tx = Transaction::Begin(*impl_->db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "grant roles"));
  auto old = impl_->GrantedRole(principal);
  if (!old) return std::unexpected(old.error());
  if (*old == role) return {};
  REGFS_STMT(s, *impl_->db,
             "INSERT OR REPLACE INTO roles (principal, role) VALUES (?1, ?2)");
  s->BindText(1, principal).BindInt64(2, static_cast<int64_t>(role));
  REGFS_TRY(s->Run());
  nlohmann::json detail{{"principal", std::string(principal)},
                        {"role", std::string(RoleName(role))}};
  if (*old) detail["previous"] = std::string(RoleName(**old));
  REGFS_TRY(impl_->Append(who, EventType::kRoleGrant, "", "", std::nullopt,
                          std::nullopt, detail));
  return tx->Commit();
}

Status Registry::Revoke(const Identity& who, std::string_view given) {
  REGFS_TRY(ValidatePrincipal(given));
  std::string principal = CanonicalPrincipal(given);
  auto lock = impl_->Lock();
  auto tx = Transaction::Begin(*impl_->db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "revoke roles"));
  auto old = impl_->GrantedRole(principal);
  if (!old) return std::unexpected(old.error());
  if (!*old && principal != given) {
    // A grant stored under the decimal uid before its user had a name.
    principal = std::string(given);
    old = impl_->GrantedRole(principal);
    if (!old) return std::unexpected(old.error());
  }
  if (!*old) {
    return Fail(Code::kNotFound,
                fmt::format("{} has no granted role", Quote(given)));
  }
  REGFS_STMT(s, *impl_->db, "DELETE FROM roles WHERE principal = ?1");
  s->BindText(1, principal);
  REGFS_TRY(s->Run());
  REGFS_TRY(impl_->Append(
      who, EventType::kRoleRevoke, "", "", std::nullopt, std::nullopt,
      nlohmann::json{{"principal", std::string(principal)},
                     {"role", std::string(RoleName(**old))}}));
  return tx->Commit();
}

// ---- Maintenance -----------------------------------------------------------

Result<FsckReport> Registry::Fsck(FsckOptions options) {
  FsckReport report;
  std::vector<std::pair<std::string, uint64_t>> blobs;  // key, size
  {
    auto lock = impl_->Lock();
    Database& db = *impl_->db;
    auto check = [&](const char* sql, std::string_view what) -> Status {
      auto s = db.Prepare(sql);
      if (!s) return std::unexpected(s.error());
      for (;;) {
        auto row = s->Step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return {};
        report.problems.push_back(
            fmt::format("{}: {}", what, s->ColumnText(0)));
      }
    };
    REGFS_TRY(
        check("SELECT integrity_check FROM pragma_integrity_check "
              "WHERE integrity_check <> 'ok'",
              "database"));
    REGFS_TRY(
        check("SELECT c.name || '/' || a.name FROM aliases a "
              "JOIN collections c ON c.id = a.collection_id "
              "WHERE a.version_id NOT IN (SELECT id FROM versions)",
              "alias names a missing version"));
    REGFS_TRY(
        check("SELECT c.name || '/v' || v.number FROM versions v "
              "JOIN collections c ON c.id = v.collection_id "
              "WHERE v.number >= c.next_version",
              "version number not below the collection's next number"));
    REGFS_TRY(
        check("SELECT 'v' || v.number || ' of collection ' || "
              "v.collection_id FROM versions v WHERE v.collection_id "
              "NOT IN (SELECT id FROM collections)",
              "version of a missing collection"));
    REGFS_TRY(
        check("SELECT c.name || '/v' || v.number FROM versions v "
              "JOIN collections c ON c.id = v.collection_id "
              "WHERE (c.kind = 1) <> (v.blob IS NOT NULL)",
              "version of the wrong kind"));
    REGFS_TRY(
        check("SELECT 'events ' || count(*) || ', last seq ' || "
              "coalesce(max(seq), 0) FROM history "
              "HAVING count(*) <> coalesce(max(seq), 0)",
              "history has gaps"));
    auto s = db.Prepare(
        "SELECT blob, size FROM versions WHERE blob IS NOT NULL "
        "UNION SELECT blob, size FROM tree_entries WHERE blob IS NOT NULL");
    if (!s) return std::unexpected(s.error());
    for (;;) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      blobs.emplace_back(s->ColumnText(0),
                         static_cast<uint64_t>(s->ColumnInt64(1)));
    }
    auto n = db.Prepare("SELECT count(*) FROM versions");
    if (!n) return std::unexpected(n.error());
    if (auto row = n->Step(); !row) return std::unexpected(row.error());
    report.versions = static_cast<uint64_t>(n->ColumnInt64(0));
  }
  // Hash every blob without the lock: blobs are immutable.
  std::sort(blobs.begin(), blobs.end());
  for (size_t i = 0; i < blobs.size(); ++i) {
    const auto& [key, size] = blobs[i];
    if (i > 0 && blobs[i - 1].first == key) {
      if (blobs[i - 1].second != size) {
        report.problems.push_back(
            fmt::format("blob {} is recorded with two sizes", key));
      }
      continue;
    }
    ++report.blobs;
    report.bytes += size;
    auto s = impl_->blobs.Verify(key, size);
    if (!s && !impl_->blobs.Exists(key)) {
      // Re-check under the lock: a concurrent delete + gc may have removed
      // a blob that is no longer referenced.
      auto lock = impl_->Lock();
      auto still = impl_->db->Prepare(
          "SELECT 1 FROM versions WHERE blob = ?1 "
          "UNION SELECT 1 FROM tree_entries WHERE blob = ?1");
      if (!still) return std::unexpected(still.error());
      still->BindText(1, key);
      auto row = still->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) continue;
    }
    if (!s) {
      auto files = impl_->FilesOfBlob(key);
      if (!files) return std::unexpected(files.error());
      report.problems.push_back(
          files->empty() ? s.error().message
                         : fmt::format("{} (in {})", s.error().message,
                                       fmt::join(*files, ", ")));
      report.affected.insert(report.affected.end(), files->begin(),
                             files->end());
      continue;
    }
    if (options.repair) REGFS_TRY(impl_->RepairVerity(key, report));
  }
  std::sort(report.affected.begin(), report.affected.end());
  report.affected.erase(
      std::unique(report.affected.begin(), report.affected.end()),
      report.affected.end());
  if (options.repair) report.verity_supported = impl_->blobs.verity_supported();
  return report;
}

Result<GcReport> Registry::Gc(const Identity& who) {
  auto lock = impl_->Lock();
  Database& db = *impl_->db;
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "collect garbage"));
  // The write lock keeps pushes from installing a blob between the query
  // and the removal; nothing is written, so the transaction rolls back.
  auto tx = Transaction::Begin(db);
  if (!tx) return std::unexpected(tx.error());
  std::vector<std::string> referenced;
  auto s = db.Prepare(
      "SELECT blob FROM versions WHERE blob IS NOT NULL "
      "UNION SELECT blob FROM tree_entries WHERE blob IS NOT NULL");
  if (!s) return std::unexpected(s.error());
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    referenced.push_back(s->ColumnText(0));
  }
  std::sort(referenced.begin(), referenced.end());
  auto collected = impl_->blobs.Collect(referenced);
  if (!collected) return std::unexpected(collected.error());
  return GcReport{*collected};
}

// ---- Integrity --------------------------------------------------------------

Result<std::vector<std::string>> Registry::Impl::FilesOfBlob(
    std::string_view key) {
  auto lock = Lock();
  // Tree entries are walked up to their version's root to name their path.
  auto s = db->Prepare(
      "WITH RECURSIVE up(entry, parent, path) AS ("
      "  SELECT id, parent_id, name FROM tree_entries WHERE blob = ?1"
      "  UNION ALL"
      "  SELECT up.entry, t.parent_id, t.name || '/' || up.path"
      "  FROM up JOIN tree_entries t ON t.id = up.parent) "
      "SELECT c.name || '/v' || v.number || '/' || up.path FROM up "
      "JOIN tree_entries e ON e.id = up.entry "
      "JOIN versions v ON v.id = e.version_id "
      "JOIN collections c ON c.id = v.collection_id WHERE up.parent = 0 "
      "UNION "
      "SELECT c.name || '/v' || v.number FROM versions v "
      "JOIN collections c ON c.id = v.collection_id WHERE v.blob = ?1 "
      "ORDER BY 1");
  if (!s) return std::unexpected(s.error());
  s->BindText(1, key);
  std::vector<std::string> files;
  for (;;) {
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return files;
    files.push_back(s->ColumnText(0));
  }
}

Status Registry::Impl::RepairVerity(const std::string& key,
                                    FsckReport& report) {
  auto verity = blobs.Protect(key);
  if (!verity) {
    report.problems.push_back(fmt::format(
        "blob {}: cannot enable fs-verity: {}", key, verity.error().message));
  } else if (*verity == VerityState::kEnabled) {
    ++report.verity_blobs;
  }
  return {};
}

Result<UniqueFd> Registry::OpenBlob(std::string_view key) {
  return impl_->blobs.OpenVerified(key);
}

Status Registry::VerifyVersion(std::string_view collection, uint64_t number) {
  struct File {
    std::string path;  // "models/v1" or "zoo/v0/sub/file.bin"
    std::string blob;
    uint64_t size;
  };
  std::vector<File> files;
  {
    auto lock = impl_->Lock();
    auto c = impl_->FindCollection(collection);
    if (!c) return std::unexpected(c.error());
    auto v = impl_->FindVersion(c->id, number);
    if (!v) return std::unexpected(v.error());
    if (!*v) {
      return Fail(Code::kNotFound, fmt::format("{} has no version {}",
                                               c->name, VersionName(number)));
    }
    const std::string name =
        fmt::format("{}/{}", c->name, VersionName(number));
    if ((*v)->kind == Kind::kFile) {
      files.push_back({name, (*v)->blob, (*v)->size});
    } else {
      auto s = impl_->db->Prepare(
          "WITH RECURSIVE down(id, path, blob, size) AS ("
          "  SELECT id, name, blob, size FROM tree_entries"
          "  WHERE version_id = ?1 AND parent_id = 0"
          "  UNION ALL"
          "  SELECT t.id, down.path || '/' || t.name, t.blob, t.size"
          "  FROM tree_entries t JOIN down ON t.parent_id = down.id) "
          "SELECT path, blob, size FROM down WHERE blob IS NOT NULL "
          "ORDER BY path");
      if (!s) return std::unexpected(s.error());
      s->BindInt64(1, (*v)->id);
      for (;;) {
        auto row = s->Step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        files.push_back({name + "/" + s->ColumnText(0), s->ColumnText(1),
                         static_cast<uint64_t>(s->ColumnInt64(2))});
      }
    }
  }
  // Blobs are immutable: hash them without the lock.
  for (const File& file : files) {
    auto s = impl_->blobs.Verify(file.blob, file.size);
    if (!s) {
      return Fail(s.error().code,
                  fmt::format("{}: {}", file.path, s.error().message));
    }
  }
  return {};
}

}  // namespace regfs::registry
