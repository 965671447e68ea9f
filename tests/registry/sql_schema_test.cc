// Schema versions: a fresh store is at Registry::kSchemaVersion, a version 1
// store (built with sql::schema::Migrate(db, 1), as registry/sql/schema.h offers)
// opens, upgrades and keeps its data, and a store newer than the program is
// refused.
#include "registry/sql/schema.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include "registry/blob_store.h"
#include "registry/registry.h"
#include "registry/sql/history.h"
#include "registry/sql/postgres.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/sql_engine_test_util.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::ReadFile;
using testing::TempDir;
using testing::User;
using testing::WriteFile;

int SchemaVersionOf(const fs::path& store) {
  auto db = sql::SqliteConnection::Open(store / "registry.db", /*create=*/false);
  EXPECT_TRUE(db.has_value()) << Describe(db);
  if (!db) return -1;
  auto v = sql::schema::Version(**db);
  EXPECT_TRUE(v.has_value()) << Describe(v);
  return v.value_or(-1);
}

TEST(SchemaTest, CurrentVersionIsSeven) {
  EXPECT_EQ(Registry::kSchemaVersion, 7);
}

TEST(SchemaTest, NewStoreIsAtTheCurrentVersion) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  REGFS_ASSERT_OK(Registry::Init(store, Owner()));
  EXPECT_EQ(SchemaVersionOf(store), Registry::kSchemaVersion);
}

// A version 1 store with one file version (v0 deleted, v1 live), a tree
// version, an alias, a protected name, a grant and their history, written
// the way a version 1 regfs wrote them.
class SchemaUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = tmp_.path() / "store";
    ASSERT_EQ(::mkdir(store_.c_str(), 0700), 0);
    BlobStore blobs(store_ / "blobs", NewXxh3Hasher);
    REGFS_ASSERT_OK(blobs.Create());
    file_key_ = Install(blobs, "weights of v1");
    tree_key_ = Install(blobs, "labels");

    auto db = sql::SqliteConnection::Open(store_ / "registry.db", /*create=*/true);
    REGFS_ASSERT_OK(db);
    REGFS_ASSERT_OK(sql::schema::Migrate(**db, 1));
    auto version = sql::schema::Version(**db);
    REGFS_ASSERT_OK(version);
    ASSERT_EQ(*version, 1);

    const std::string sql = fmt::format(
        R"sql(
INSERT INTO settings (key, value) VALUES ('owner_uid', '{owner}'),
  ('owner', '{owner}'), ('created', '2024-01-01T00:00:00.000Z');
INSERT INTO collections (id, name, kind, next_version, created_ms,
  creator_uid, creator) VALUES
  (1, 'models', 1, 2, 1704067200000, {owner}, '{owner}'),
  (2, 'zoo', 2, 1, 1704067200000, {owner}, '{owner}');
INSERT INTO versions (id, collection_id, number, created_ms, creator_uid,
  creator, size, files, digest, blob, filename, created_seq) VALUES
  (2, 1, 1, 1704067201000, {owner}, '{owner}', 13, 1, '{file}', '{file}',
   'model.pt', 3),
  (3, 2, 0, 1704067202000, {owner}, '{owner}', 6, 1,
   '00000000000000000000000000000000', NULL, 'labels.txt', 5);
INSERT INTO tree_entries (id, version_id, parent_id, name, is_dir,
  executable, size, blob) VALUES (1, 3, 0, 'labels.txt', 0, 0, 6, '{tree}');
INSERT INTO aliases (id, collection_id, name, version_id, revision,
  updated_ms, updated_uid, updated_by) VALUES
  (1, 1, 'production', 2, 6, 1704067203000, {owner}, '{owner}');
INSERT INTO protected_names (name, created_ms, created_by) VALUES
  ('production', 1704067203000, '{owner}');
INSERT INTO roles (principal, role) VALUES ('20002', 2);
INSERT INTO history (seq, time_ms, event, collection, alias, old_version,
  new_version, uid, user, interface, detail) VALUES
  (1, 1704067200000, '{version_create}', 'models', '', NULL, 0, {owner},
   '{owner}', 'cli', '{{}}'),
  (2, 1704067200500, '{version_delete}', 'models', '', 0, NULL, {owner},
   '{owner}', 'cli', '{{}}'),
  (3, 1704067201000, '{version_create}', 'models', '', NULL, 1, {owner},
   '{owner}', 'cli', '{{}}'),
  (4, 1704067201500, '{protect}', '', 'production', NULL, NULL, {owner},
   '{owner}', 'cli', '{{}}'),
  (5, 1704067202000, '{version_create}', 'zoo', '', NULL, 0, {owner},
   '{owner}', 'cli', '{{}}'),
  (6, 1704067203000, '{alias_create}', 'models', 'production', NULL, 1,
   {owner}, '{owner}', 'fs', '{{}}'),
  (7, 1704067204000, '{role_grant}', '', '', NULL, NULL, {owner}, '{owner}',
   'cli', '{{"principal":"20002","role":"member"}}');
)sql",
        fmt::arg("owner", testing::kOwnerUid), fmt::arg("file", file_key_),
        fmt::arg("tree", tree_key_),
        fmt::arg("version_create", EventTypeName(EventType::kVersionCreate)),
        fmt::arg("version_delete", EventTypeName(EventType::kVersionDelete)),
        fmt::arg("protect", EventTypeName(EventType::kProtect)),
        fmt::arg("alias_create", EventTypeName(EventType::kAliasCreate)),
        fmt::arg("role_grant", EventTypeName(EventType::kRoleGrant)));
    REGFS_ASSERT_OK((*db)->Exec(sql));
  }

  std::string Install(BlobStore& blobs, std::string_view content) {
    const fs::path src = tmp_.path() / "src" / std::string(content);
    WriteFile(src, content);
    auto staged = blobs.Stage(src, nullptr);
    EXPECT_TRUE(staged.has_value()) << Describe(staged);
    if (!staged) return "";
    auto key = blobs.Install(*staged);
    EXPECT_TRUE(key.has_value()) << Describe(key);
    return key.value_or("");
  }

  TempDir tmp_;
  fs::path store_;
  std::string file_key_;
  std::string tree_key_;
};

TEST_F(SchemaUpgradeTest, OpensAndUpgrades) {
  ASSERT_EQ(SchemaVersionOf(store_), 1);
  auto reg = Registry::Open(store_);
  REGFS_ASSERT_OK(reg);
  EXPECT_EQ(SchemaVersionOf(store_), Registry::kSchemaVersion);

  // Everything version 1 held is still there.
  auto v1 = (*reg)->GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->filename, "model.pt");
  EXPECT_EQ(v1->size, 13u);
  EXPECT_EQ(v1->description, "");
  EXPECT_TRUE(v1->tags.empty());
  EXPECT_TRUE(v1->metadata.empty());
  EXPECT_EQ(ReadFile((*reg)->BlobPath(v1->blob)), "weights of v1");
  auto prod = (*reg)->GetAlias("models", "production");
  REGFS_ASSERT_OK(prod);
  EXPECT_EQ(prod->version, 1u);
  EXPECT_TRUE(prod->is_protected);
  auto latest = (*reg)->Resolve("models", "latest");
  REGFS_ASSERT_OK(latest);
  EXPECT_EQ(latest->number, 1u);
  auto zoo = (*reg)->Resolve("zoo", "latest");
  REGFS_ASSERT_OK(zoo);
  EXPECT_EQ(zoo->kind, Kind::kTree);
  auto entries = (*reg)->ListTree(zoo->id, 0);
  REGFS_ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(ReadFile((*reg)->BlobPath((*entries)[0].blob)), "labels");
  auto role = (*reg)->RoleOf(User(20002));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember);
  auto owner = (*reg)->RoleOf(Owner());
  REGFS_ASSERT_OK(owner);
  EXPECT_EQ(*owner, Role::kAdmin);
  auto history = (*reg)->History(HistoryFilter{});
  REGFS_ASSERT_OK(history);
  ASSERT_EQ(history->size(), 7u);
  EXPECT_EQ((*history)[5].type, EventType::kAliasCreate);
  EXPECT_EQ((*history)[5].interface, Interface::kFs);
  EXPECT_EQ((*history)[6].detail.value("principal", ""), "20002");
  // Version 6's host: no row from before names one.
  for (const Event& e : *history) EXPECT_EQ(e.host, "") << e.seq;
}

TEST_F(SchemaUpgradeTest, UpgradedStoreTakesVersion2Features) {
  auto reg = Registry::Open(store_);
  REGFS_ASSERT_OK(reg);
  const fs::path f = tmp_.path() / "new.pt";
  WriteFile(f, "new weights");
  PushRequest r;
  r.collection = "models";
  r.paths = {f};
  r.tags = {"gold"};
  r.metadata = {{"accuracy", "0.9"}};
  r.description = "after the upgrade";
  auto v = (*reg)->Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 2u) << "numbering continues; v0 is never reused";
  auto full = (*reg)->GetVersion("models", 2);
  REGFS_ASSERT_OK(full);
  EXPECT_EQ(full->tags, std::vector<std::string>{"gold"});
  EXPECT_EQ(full->metadata.at("accuracy"), "0.9");
  EXPECT_EQ(full->description, "after the upgrade");
  REGFS_ASSERT_OK((*reg)->AddTag(Owner(), "models", 1, "legacy"));
  auto last = (*reg)->LastSeq();
  REGFS_ASSERT_OK(last);
  EXPECT_GE(*last, 9u) << "history continues after seq 7";
  auto fsck = (*reg)->Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

TEST_F(SchemaUpgradeTest, UpgradeIsDurableAndIdempotent) {
  { REGFS_ASSERT_OK(Registry::Open(store_)); }
  { REGFS_ASSERT_OK(Registry::Open(store_)); }
  EXPECT_EQ(SchemaVersionOf(store_), Registry::kSchemaVersion);
  auto reg = Registry::Open(store_);
  REGFS_ASSERT_OK(reg);
  auto history = (*reg)->History(HistoryFilter{});
  REGFS_ASSERT_OK(history);
  EXPECT_EQ(history->size(), 7u) << "the upgrade itself is not an event";
}

// Version 3 keeps deleted collections (deleted_collections): an upgraded
// store can delete a collection, whose id is never reused (even though it
// was the newest) and whose numbering a re-created one continues.
TEST_F(SchemaUpgradeTest, UpgradedStoreDeletesAndRecreatesCollections) {
  auto reg = Registry::Open(store_);
  REGFS_ASSERT_OK(reg);
  EXPECT_EQ(SchemaVersionOf(store_), Registry::kSchemaVersion);
  REGFS_ASSERT_OK((*reg)->DeleteCollection(Owner(), "zoo", /*all=*/true));
  EXPECT_EQ(CodeOf((*reg)->GetCollection("zoo")), Code::kNotFound);
  auto zoo = (*reg)->CreateCollection(Owner(), "zoo");
  REGFS_ASSERT_OK(zoo);
  EXPECT_EQ(zoo->id, 3) << "ids 1 and 2 were taken";
  WriteFile(tmp_.path() / "src2" / "labels.txt", "new labels");
  PushRequest push;
  push.collection = "zoo";
  push.paths = {tmp_.path() / "src2" / "labels.txt"};
  auto v = (*reg)->Push(Owner(), push);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 1u) << "v0 was the deleted collection's";
  auto last = (*reg)->LastSeq();
  REGFS_ASSERT_OK(last);
  auto now = (*reg)->GetCollectionAt("zoo", *last);
  REGFS_ASSERT_OK(now);
  EXPECT_EQ(now->id, 3);
  auto fsck = (*reg)->Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

TEST(SchemaTest, NewerStoreIsRefused) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  REGFS_ASSERT_OK(Registry::Init(store, Owner()));
  {
    auto db = sql::SqliteConnection::Open(store / "registry.db", false);
    REGFS_ASSERT_OK(db);
    REGFS_ASSERT_OK((*db)->Exec(
        fmt::format("PRAGMA user_version = {}", Registry::kSchemaVersion + 1)));
  }
  auto reg = Registry::Open(store);
  ASSERT_FALSE(reg.has_value()) << "opened a store from the future";
  EXPECT_EQ(reg.error().code, Code::kCorruption) << Describe(reg);
  EXPECT_NE(reg.error().message.find("upgrade"), std::string::npos)
      << reg.error().message;
  EXPECT_EQ(SchemaVersionOf(store), Registry::kSchemaVersion + 1)
      << "left untouched";
}

TEST(SchemaTest, HistoryIsAppendOnlyInTheDatabase) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  {
    auto reg = Registry::Init(store, Owner());
    REGFS_ASSERT_OK(reg);
    REGFS_ASSERT_OK((*reg)->Protect(Owner(), "production"));
  }
  auto db = sql::SqliteConnection::Open(store / "registry.db", false);
  REGFS_ASSERT_OK(db);
  EXPECT_FALSE((*db)->Exec("UPDATE history SET user = 'mallory'").has_value());
  EXPECT_FALSE((*db)->Exec("DELETE FROM history").has_value());
}

// Version 6 (the history's host) on each engine: a version 5 database's
// rows get the empty host, new rows keep theirs, and the history stays
// append-only (SQLite's triggers; PostgreSQL's statement trigger).
class SchemaHostTest : public ::testing::TestWithParam<sql::Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == sql::Engine::kSqlite) {
      auto db = sql::SqliteConnection::Open(tmp_.path() / "r.db", true);
      ASSERT_TRUE(db.has_value()) << Describe(db);
      db_ = std::move(*db);
      return;
    }
    auto server = testing::PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: " << Describe(server);
    auto conninfo =
        (*server)->CreateDatabase(testing::PgServer::Schema::kEmpty);
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    auto db = sql::PostgresConnection::Open(*conninfo);
    ASSERT_TRUE(db.has_value()) << Describe(db);
    db_ = std::move(*db);
  }

  TempDir tmp_;
  std::unique_ptr<sql::Connection> db_;
};

TEST_P(SchemaHostTest, OldRowsHaveNoHostAndHistoryStaysAppendOnly) {
  sql::Connection& db = *db_;
  REGFS_ASSERT_OK(sql::schema::Migrate(db, 5));
  Event e;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.user = "root";
  REGFS_ASSERT_OK(db.Exec(
      "INSERT INTO history (seq, time_ms, event, collection, alias, uid, "
      "\"user\", interface, detail) VALUES (1, 0, 'tag.add', 'm', '', 0, "
      "'root', 'cli', '{}'); UPDATE counters SET value = 1"));
  REGFS_ASSERT_OK(sql::schema::Migrate(db));
  EXPECT_EQ(sql::schema::Version(db).value_or(-1), Registry::kSchemaVersion);
  e.host = "node-b";
  auto seq = sql::AppendEvent(db, e);
  REGFS_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 2u);
  auto events = sql::QueryHistory(db, HistoryFilter{});
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].host, "");
  EXPECT_EQ((*events)[0].user, "root");
  EXPECT_EQ((*events)[1].host, "node-b");
  for (const char* edit :
       {"UPDATE history SET host = 'mallory-box'", "DELETE FROM history"}) {
    auto refused = db.Exec(edit);
    ASSERT_FALSE(refused.has_value()) << edit;
    EXPECT_NE(refused.error().message.find("append-only"), std::string::npos)
        << refused.error().message;
  }
}

// Step 7: SQLite takes seqs from the history and drops its counter row;
// PostgreSQL keeps taking them from the counter. Either way the history
// goes on from its newest seq.
TEST_P(SchemaHostTest, SeqsGoOnAcrossStepSevenAndOnlySqliteDropsTheCounter) {
  sql::Connection& db = *db_;
  REGFS_ASSERT_OK(sql::schema::Migrate(db, 6));
  REGFS_ASSERT_OK(db.Exec(
      "INSERT INTO history (seq, time_ms, event, collection, alias, uid, "
      "\"user\", interface, detail) VALUES (1, 0, 'tag.add', 'm', '', 0, "
      "'root', 'cli', '{}'); UPDATE counters SET value = 1"));
  REGFS_ASSERT_OK(sql::schema::Migrate(db));
  Event e;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.user = "root";
  for (const uint64_t expected : {2u, 3u}) {
    auto seq = sql::AppendEvent(db, e);
    REGFS_ASSERT_OK(seq);
    EXPECT_EQ(*seq, expected);
  }
  auto counter =
      db.Prepare("SELECT value FROM counters WHERE name = 'history'");
  REGFS_ASSERT_OK(counter);
  auto row = (*counter)->Step();
  REGFS_ASSERT_OK(row);
  if (GetParam() == sql::Engine::kSqlite) {
    EXPECT_FALSE(*row) << "SQLite's counter row is left";
  } else {
    ASSERT_TRUE(*row);
    EXPECT_EQ((*counter)->ColumnInt64(0), 3);
  }
}

REGFS_SQL_ENGINES(SchemaHostTest);

}  // namespace
}  // namespace regfs::registry
