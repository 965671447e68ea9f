// The registry's schema and its migrations, for both engines. The version
// lives in SQLite's PRAGMA user_version and in PostgreSQL's schema_version
// table; Migrate() brings any older store up to Registry::kSchemaVersion,
// one step per transaction.
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
// Version 7: SQLite's history seqs from the history, not a counter.
//
// A PostgreSQL store has the same tables and steps, each written once
// (schema.cc) with the few words the engines spell differently filled in.

// The schema version of `db` (0 for an empty database).
Result<int> Version(Connection& db);

// Applies every missing step up to `target` (tests build an older store
// with Migrate(db, 1) and then open it); Corruption for a store newer
// than this program.
Status Migrate(Connection& db, int target = Registry::kSchemaVersion);

}  // namespace regfs::registry::sql::schema

#endif  // REGFS_REGISTRY_SQL_SCHEMA_H_
