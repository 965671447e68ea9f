// The registry's SQLite schema and its migrations (the SQLite engine's:
// a shared store's engine has its own). The version lives in
// PRAGMA user_version; Migrate() brings any older store up to
// Registry::kSchemaVersion, one step per transaction.
#ifndef REGFS_REGISTRY_SQL_SCHEMA_H_
#define REGFS_REGISTRY_SQL_SCHEMA_H_

#include "registry/error.h"
#include "registry/registry.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql::schema {

// Version 1: collections, versions, tree entries, aliases, protected
// names, roles, settings, history.
// Version 2: version descriptions, tags, user metadata.
// Version 3: deleted collections.
// Version 4: counters (history's sequence numbers).
// Version 5: automations, their deliveries' log, leases.
// Version 6: the history's host column (a shared store's node).
//
// A PostgreSQL store has the same tables and steps (schema_postgres.h);
// its version is the row of its schema_version table.

// The schema version of `db` (0 for an empty database).
Result<int> Version(Connection& db);

// Applies every missing step up to `target` (tests build an older store
// with Migrate(db, 1) and then open it); Corruption for a store newer
// than this program.
Status Migrate(Connection& db, int target = Registry::kSchemaVersion);

}  // namespace regfs::registry::sql::schema

#endif  // REGFS_REGISTRY_SQL_SCHEMA_H_
