#include "registry/sql/schema.h"

#include <fmt/format.h>

#include <string>

namespace regfs::registry::sql::schema {
namespace {

// The migration steps, written once for both engines. Each is a fmt
// template; its fields name what the engines spell differently:
//   {int}        a 64-bit integer: SQLite's INTEGER, PostgreSQL's BIGINT;
//   {row_id}     a row id the engine assigns: SQLite's INTEGER PRIMARY KEY
//                (the rowid), a PostgreSQL identity;
//   {no_rowid}   SQLite's WITHOUT ROWID for a table keyed by text;
//   {version_table}, {append_only}: step 1's engine-specific parts (the
//                PostgreSQL schema version's table; history's triggers).
// Collections take their id explicitly (sql::InsertCollection) and
// history.seq is taken by sql::AppendEvent (the counters row on
// PostgreSQL, the history itself on SQLite), never from a rowid or a
// sequence.
constexpr const char* kVersion1 = R"sql({version_table}
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
){no_rowid};

CREATE TABLE collections (
  id {int} PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind {int} NOT NULL DEFAULT 0,
  next_version {int} NOT NULL DEFAULT 0,
  created_ms {int} NOT NULL,
  creator_uid {int} NOT NULL,
  creator TEXT NOT NULL
);

CREATE TABLE versions (
  id {row_id},
  collection_id {int} NOT NULL REFERENCES collections(id),
  number {int} NOT NULL,
  created_ms {int} NOT NULL,
  creator_uid {int} NOT NULL,
  creator TEXT NOT NULL,
  size {int} NOT NULL,
  files {int} NOT NULL,
  digest TEXT NOT NULL,
  blob TEXT,
  filename TEXT NOT NULL,
  created_seq {int} NOT NULL,
  UNIQUE (collection_id, number)
);

CREATE TABLE tree_entries (
  id {row_id},
  version_id {int} NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  parent_id {int} NOT NULL,
  name TEXT NOT NULL,
  is_dir {int} NOT NULL,
  executable {int} NOT NULL,
  size {int} NOT NULL,
  blob TEXT,
  UNIQUE (version_id, parent_id, name)
);
CREATE INDEX tree_entries_blob ON tree_entries(blob);
CREATE INDEX versions_blob ON versions(blob);

CREATE TABLE aliases (
  id {row_id},
  collection_id {int} NOT NULL REFERENCES collections(id),
  name TEXT NOT NULL,
  version_id {int} NOT NULL REFERENCES versions(id),
  revision {int} NOT NULL,
  updated_ms {int} NOT NULL,
  updated_uid {int} NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (collection_id, name)
);
CREATE INDEX aliases_version ON aliases(version_id);

CREATE TABLE protected_names (
  name TEXT PRIMARY KEY,
  created_ms {int} NOT NULL,
  created_by TEXT NOT NULL
){no_rowid};

CREATE TABLE roles (
  principal TEXT PRIMARY KEY,
  role {int} NOT NULL
){no_rowid};

CREATE TABLE history (
  seq {int} PRIMARY KEY,
  time_ms {int} NOT NULL,
  event TEXT NOT NULL,
  collection TEXT NOT NULL,
  alias TEXT NOT NULL,
  old_version {int},
  new_version {int},
  uid {int} NOT NULL,
  "user" TEXT NOT NULL,
  interface TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX history_collection ON history(collection, seq);
CREATE INDEX history_time ON history(time_ms);
{append_only}
)sql";

constexpr const char* kVersion2 = R"sql(
ALTER TABLE versions ADD COLUMN description TEXT NOT NULL DEFAULT '';

CREATE TABLE tags (
  version_id {int} NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (version_id, tag)
){no_rowid};
CREATE INDEX tags_tag ON tags(tag);

CREATE TABLE metadata (
  version_id {int} NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (version_id, key)
){no_rowid};
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
  id {int} PRIMARY KEY,
  name TEXT NOT NULL,
  kind {int} NOT NULL,
  next_version {int} NOT NULL,
  created_ms {int} NOT NULL,
  creator_uid {int} NOT NULL,
  creator TEXT NOT NULL,
  deleted_seq {int} NOT NULL
);
CREATE INDEX deleted_collections_name ON deleted_collections(name, deleted_seq);
)sql";

// History sequence numbers come from this counter row, bumped inside the
// appending transaction (sql::AppendEvent): gap-free and in commit order
// on both engines, unlike a rowid, a sequence or a serial. Since step 7,
// on PostgreSQL only.
constexpr const char* kVersion4 = R"sql(
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value {int} NOT NULL
){no_rowid};
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
  exec_uid {int} NOT NULL,
  exec_gid {int} NOT NULL,
  exec_user TEXT NOT NULL,
  position {int} NOT NULL,
  created_ms {int} NOT NULL,
  created_by TEXT NOT NULL
);

CREATE TABLE deliveries (
  automation TEXT NOT NULL,
  seq {int} NOT NULL,
  attempt {int} NOT NULL,
  time_ms {int} NOT NULL,
  outcome TEXT NOT NULL,
  status {int},
  latency_ms {int} NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (automation, seq, attempt)
);
CREATE INDEX deliveries_time ON deliveries(time_ms);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_ms {int} NOT NULL
);
)sql";

// The machine each change was made on (Event::host), which a shared
// store's history names: its nodes share one history. Rows from before,
// and every row of an embedded store (one machine), keep the empty host.
// Adding a column with a constant default rewrites no row (on either
// engine), so the append-only triggers do not fire.
constexpr const char* kVersion6 = R"sql(
ALTER TABLE history ADD COLUMN host TEXT NOT NULL DEFAULT '';
)sql";

// SQLite takes history's seqs from the history itself (sql::NextSeq):
// one writer at a time and an append-only table make max(seq) + 1
// gap-free and in commit order, without a counter row to write, a page of
// the log, at every change. The row goes, so that no stale counter is
// left for a program of version 6, which this version's number turns
// away. PostgreSQL keeps its counter.
constexpr const char* kVersion7 = R"sql({drop_history_counter})sql";

constexpr const char* kSteps[] = {kVersion1, kVersion2, kVersion3, kVersion4,
                                  kVersion5, kVersion6, kVersion7};
static_assert(std::size(kSteps) == Registry::kSchemaVersion);

// engine-specific: step 1's history triggers. PostgreSQL's also refuses
// TRUNCATE.
constexpr const char* kSqliteAppendOnly = R"sql(
CREATE TRIGGER history_append_only_update BEFORE UPDATE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_append_only_delete BEFORE DELETE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;)sql";
constexpr const char* kPostgresAppendOnly = R"sql(
CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'history is append-only'; END $$;
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
ON history FOR EACH STATEMENT EXECUTE FUNCTION history_append_only();)sql";

// engine-specific: the statements of migration step `index` (0-based).
std::string Step(Engine engine, int index) {
  const bool sqlite = engine == Engine::kSqlite;
  return fmt::format(
      fmt::runtime(kSteps[index]),
      fmt::arg("int", sqlite ? "INTEGER" : "BIGINT"),
      fmt::arg("row_id", sqlite ? "INTEGER PRIMARY KEY"
                                : "BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                  "PRIMARY KEY"),
      fmt::arg("no_rowid", sqlite ? " WITHOUT ROWID" : ""),
      fmt::arg("version_table",
               sqlite ? ""
                      : "\nCREATE TABLE schema_version (version BIGINT NOT "
                        "NULL);\nINSERT INTO schema_version (version) VALUES "
                        "(0);\n"),
      fmt::arg("append_only", sqlite ? kSqliteAppendOnly : kPostgresAppendOnly),
      fmt::arg("drop_history_counter",
               sqlite ? "DELETE FROM counters WHERE name = 'history';"
                      : "SELECT 1;"));
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
