#include "registry/sql/schema.h"

#include <fmt/format.h>

#include "registry/sql/schema_postgres.h"

namespace regfs::registry::sql::schema {
namespace {

constexpr const char* kVersion1 = R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE collections (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind INTEGER NOT NULL DEFAULT 0,
  next_version INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  creator_uid INTEGER NOT NULL,
  creator TEXT NOT NULL
);

CREATE TABLE versions (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  number INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  creator_uid INTEGER NOT NULL,
  creator TEXT NOT NULL,
  size INTEGER NOT NULL,
  files INTEGER NOT NULL,
  digest TEXT NOT NULL,
  blob TEXT,
  filename TEXT NOT NULL,
  created_seq INTEGER NOT NULL,
  UNIQUE (collection_id, number)
);

CREATE TABLE tree_entries (
  id INTEGER PRIMARY KEY,
  version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  parent_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  is_dir INTEGER NOT NULL,
  executable INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blob TEXT,
  UNIQUE (version_id, parent_id, name)
);
CREATE INDEX tree_entries_blob ON tree_entries(blob);
CREATE INDEX versions_blob ON versions(blob);

CREATE TABLE aliases (
  id INTEGER PRIMARY KEY,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  name TEXT NOT NULL,
  version_id INTEGER NOT NULL REFERENCES versions(id),
  revision INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  updated_uid INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (collection_id, name)
);
CREATE INDEX aliases_version ON aliases(version_id);

CREATE TABLE protected_names (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE roles (
  principal TEXT PRIMARY KEY,
  role INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE history (
  seq INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  collection TEXT NOT NULL,
  alias TEXT NOT NULL,
  old_version INTEGER,
  new_version INTEGER,
  uid INTEGER NOT NULL,
  user TEXT NOT NULL,
  interface TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX history_collection ON history(collection, seq);
CREATE INDEX history_time ON history(time_ms);

CREATE TRIGGER history_append_only_update BEFORE UPDATE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_append_only_delete BEFORE DELETE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
)sql";

constexpr const char* kVersion2 = R"sql(
ALTER TABLE versions ADD COLUMN description TEXT NOT NULL DEFAULT '';

CREATE TABLE tags (
  version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (version_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);

CREATE TABLE metadata (
  version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (version_id, key)
) WITHOUT ROWID;
)sql";

// Deleted collections (Registry::DeleteCollection). The collection's row
// goes, so that its name can be used again; this row keeps what must
// outlive it: its id, so that no later collection gets the same id (inodes
// derive from ids), and how far its numbering got, so that a collection
// re-created under the name continues it (a version number never names two
// contents). `deleted_seq` is its collection.delete event: time travel
// shows this incarnation at events before it.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE deleted_collections (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  next_version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  creator_uid INTEGER NOT NULL,
  creator TEXT NOT NULL,
  deleted_seq INTEGER NOT NULL
);
CREATE INDEX deleted_collections_name ON deleted_collections(name, deleted_seq);
)sql";

// History sequence numbers come from this counter row, bumped inside the
// appending transaction (sql::AppendEvent): gap-free and in commit order
// on both engines, unlike a rowid, a sequence or a serial.
constexpr const char* kVersion4 = R"sql(
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value)
  SELECT 'history', coalesce(max(seq), 0) FROM history;
)sql";

// Automations (issue 16): each with its position in the history, the log
// of their deliveries, and the lease that lets one deliverer at a time
// work on a store.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE automations (
  name TEXT PRIMARY KEY,
  events TEXT NOT NULL,
  collection TEXT NOT NULL,
  alias TEXT NOT NULL,
  url TEXT NOT NULL,
  secret_file TEXT NOT NULL,
  format TEXT NOT NULL,
  exec TEXT NOT NULL,
  exec_uid INTEGER NOT NULL,
  exec_gid INTEGER NOT NULL,
  exec_user TEXT NOT NULL,
  position INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL
);

CREATE TABLE deliveries (
  automation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  time_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  status INTEGER,
  latency_ms INTEGER NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (automation, seq, attempt)
);
CREATE INDEX deliveries_time ON deliveries(time_ms);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
);
)sql";

// The machine each change was made on (Event::host), which a shared
// store's history names: its nodes share one history. Rows from before,
// and every row of an embedded store (one machine), keep the empty host.
// Adding a column rewrites no row, so the append-only triggers stay as
// they are and do not fire.
constexpr const char* kVersion6 = R"sql(
ALTER TABLE history ADD COLUMN host TEXT NOT NULL DEFAULT '';
)sql";

constexpr const char* kSteps[] = {kVersion1, kVersion2, kVersion3,
                                  kVersion4, kVersion5, kVersion6};
static_assert(std::size(kSteps) == Registry::kSchemaVersion);
static_assert(std::size(kSteps) == std::size(kPostgresSteps));

// engine-specific: the statements of migration step `index` (0-based).
const char* Step(Engine engine, int index) {
  return engine == Engine::kSqlite ? kSteps[index] : kPostgresSteps[index];
}

// engine-specific: records schema version `version` inside the open
// transaction (SQLite: PRAGMA user_version; PostgreSQL: the row of
// schema_version, a table of its step 1).
Status SetVersion(Connection& db, int version) {
  if (db.engine() == Engine::kSqlite) {
    return db.Exec(fmt::format("PRAGMA user_version = {}", version));
  }
  return db.Exec(
      fmt::format("UPDATE schema_version SET version = {}", version));
}

Result<int> PostgresVersion(Connection& db) {
  {
    REGFS_STMT(s, db,
               "SELECT CAST(to_regclass('schema_version') IS NOT NULL AS "
               "INTEGER)");
    auto exists =
        OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
    REGFS_TRY(exists);
    if (!*exists || **exists == 0) return 0;
  }
  REGFS_STMT(s, db, "SELECT version FROM schema_version");
  auto row = OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(row);
  return static_cast<int>(row->value_or(0));
}

}  // namespace

Result<int> Version(Connection& db) {
  if (db.engine() == Engine::kPostgres) return PostgresVersion(db);
  REGFS_STMT(s, db, "PRAGMA user_version");
  auto row = s->Step();
  REGFS_TRY(row);
  return *row ? static_cast<int>(s->ColumnInt64(0)) : 0;
}

Status Migrate(Connection& db, int target) {
  for (;;) {
    auto tx = Transaction::Begin(db);
    REGFS_TRY(tx);
    auto version = Version(db);  // re-read under the write lock
    REGFS_TRY(version);
    if (*version > Registry::kSchemaVersion) {
      return Fail(Code::kCorruption,
                  fmt::format("the store has schema version {}, newer than "
                              "this regfs ({}): upgrade regfs",
                              *version, Registry::kSchemaVersion));
    }
    if (*version >= target) return {};
    if (auto s = db.Exec(Step(db.engine(), *version)); !s) return s;
    if (auto s = SetVersion(db, *version + 1); !s) return s;
    if (auto s = tx->Commit(); !s) return s;
  }
}

}  // namespace regfs::registry::sql::schema
