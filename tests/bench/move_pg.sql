-- One alias move's transaction on a shared store, bare: the statements the
-- registry runs for `ln -sfn` on PostgreSQL, without its reads and checks
-- (the floor a move pays there). Run by tests/bench/run.sh (section
-- shared) as `pgbench -n -M prepared -f move_pg.sql -D alias0=ID
-- -D version0=ID`, on a database that holds the registry's own schema; each
-- pgbench client moves an alias row of its own (alias0 + client_id)
-- between two versions.
--
-- PostgresConnection::BeginWrite (registry/sql/postgres.cc): BEGIN and the
-- store's write lock (kWriteLockKey in registry/sql/postgres.h);
-- AppendEvent (registry/sql/history.cc): the next seq from the counter
-- row, the history row, the NOTIFY; MoveAlias (registry/sql/aliases.cc):
-- the alias row; Commit.
\set alias :alias0 + :client_id
\set version :version0 + random(0, 1)
BEGIN;
SELECT pg_advisory_xact_lock(491327546995);
UPDATE counters SET value = value + 1 WHERE name = 'history' RETURNING value AS seq \gset
INSERT INTO history (seq, time_ms, event, collection, alias, old_version, new_version, uid, "user", interface, detail) VALUES (:seq, 0, 'alias.move', 'moves', 'm', 1, 2, 0, 'root', 'fs', '{}');
SELECT pg_notify('regfs_history', CAST(:seq AS TEXT));
UPDATE aliases SET version_id = :version, revision = :seq, updated_ms = 0, updated_uid = 0, updated_by = 'root' WHERE id = :alias;
COMMIT;
