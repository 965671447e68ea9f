// Every statement of registry/sql/ runs on both engines with the same
// results: a small registry (collections, file and tree versions, aliases,
// tags, metadata, protected names, grants, history) is written and read
// back through the sql:: functions alone, on SQLite and on PostgreSQL.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "registry/sql/access.h"
#include "registry/sql/aliases.h"
#include "registry/sql/collections.h"
#include "registry/sql/history.h"
#include "registry/sql/maintenance.h"
#include "registry/sql/time_travel.h"
#include "registry/sql/versions.h"
#include "tests/registry/sql_engine_test_util.h"

namespace regfs::registry::testing {
namespace {

const std::string kBlobA = "xxh3-aaaa";
const std::string kBlobB = "xxh3-bbbb";

class SqlSharedStatementsTest : public SqlEngineTest {
 protected:
  void SetUp() override {
    SqlEngineTest::SetUp();
    if (HasFatalFailure()) return;
    Identity who;
    who.uid = 42;
    who.user = "alice";
    auto files = sql::InsertCollection(db(), "files", 0, who, 100);
    ASSERT_TRUE(files.has_value()) << Describe(files);
    files_ = *files;
    auto trees = sql::InsertCollection(db(), "trees", 0, who, 100);
    ASSERT_TRUE(trees.has_value()) << Describe(trees);
    trees_ = *trees;
    ASSERT_TRUE(sql::SetKindAndNextVersion(db(), files_, Kind::kFile, 2));
    ASSERT_TRUE(sql::SetKindAndNextVersion(db(), trees_, Kind::kTree, 1));
    v0_ = AddVersion(files_, 0, kBlobA, 1);
    v1_ = AddVersion(files_, 1, kBlobB, 2);
    tree_ = AddVersion(trees_, 0, "", 3);
    auto dir = sql::InsertTreeEntry(db(), Entry(0, "sub", true, ""));
    ASSERT_TRUE(dir.has_value()) << Describe(dir);
    dir_ = *dir;
    ASSERT_TRUE(sql::InsertTreeEntry(db(), Entry(0, "top.bin", false, kBlobA)));
    ASSERT_TRUE(sql::InsertTreeEntry(db(), Entry(dir_, "deep.bin", false,
                                                 kBlobB)));
  }

  int64_t AddVersion(int64_t collection, uint64_t number,
                     const std::string& blob, uint64_t seq) {
    Version v;
    v.collection_id = collection;
    v.number = number;
    v.kind = blob.empty() ? Kind::kTree : Kind::kFile;
    v.created = 1000 + static_cast<int64_t>(number);
    v.creator_uid = 42;
    v.creator = "alice";
    v.size = 10 + number;
    v.files = 1;
    v.digest = "d" + std::to_string(number);
    v.blob = blob;
    v.filename = "model.bin";
    v.description = "it's v" + std::to_string(number);
    v.created_seq = seq;
    auto id = sql::InsertVersion(db(), v);
    EXPECT_TRUE(id.has_value()) << Describe(id);
    return id.value_or(0);
  }

  TreeEntry Entry(int64_t parent, std::string name, bool is_dir,
                  std::string blob) {
    TreeEntry e;
    e.version_id = tree_;
    e.parent_id = parent;
    e.name = std::move(name);
    e.is_dir = is_dir;
    e.executable = !is_dir;
    e.size = is_dir ? 0 : 7;
    e.blob = std::move(blob);
    return e;
  }

  sql::CollectionRow Files() { return {files_, "files", Kind::kFile, 2}; }

  int64_t files_ = 0, trees_ = 0, v0_ = 0, v1_ = 0, tree_ = 0, dir_ = 0;
};

TEST_P(SqlSharedStatementsTest, CollectionsAreWrittenAndQueried) {
  EXPECT_EQ(trees_, files_ + 1) << "ids follow the highest one";
  auto all = sql::QueryCollections(db(), std::nullopt, std::nullopt);
  REGFS_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "files");
  EXPECT_EQ((*all)[0].version_count, 2u);
  EXPECT_EQ((*all)[0].latest, 1u);
  EXPECT_EQ((*all)[0].kind, Kind::kFile);
  auto by_id = sql::QueryCollections(db(), std::nullopt, trees_);
  REGFS_ASSERT_OK(by_id);
  ASSERT_EQ(by_id->size(), 1u);
  EXPECT_EQ((*by_id)[0].name, "trees");
  auto row = sql::FindCollection(db(), "files");
  REGFS_ASSERT_OK(row);
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->next_version, 2);
  EXPECT_EQ(sql::CollectionCaseTwin(db(), "FILES").value(), "files");
  EXPECT_EQ(sql::CollectionCaseTwin(db(), "other").value(), std::nullopt);

  // A retired collection keeps its id and numbering.
  auto empty = sql::InsertCollection(db(), "gone", 5, Identity{}, 1);
  REGFS_ASSERT_OK(empty);
  REGFS_ASSERT_OK(sql::RetireCollection(db(), *empty, 9));
  EXPECT_EQ(sql::DeletedNextVersion(db(), "gone").value_or(-1), 5);
  auto again = sql::InsertCollection(db(), "gone", 5, Identity{}, 1);
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(*again, *empty + 1) << "a retired id is never reused";
  auto deleted = sql::DeletedAfter(db(), 8);
  REGFS_ASSERT_OK(deleted);
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].id, *empty);
  EXPECT_TRUE(sql::FirstDeletedAfter(db(), "gone", 8).value().has_value());
  EXPECT_FALSE(sql::FirstDeletedAfter(db(), "gone", 9).value().has_value());
}

TEST_P(SqlSharedStatementsTest, VersionsTagsAndMetadata) {
  auto v = sql::FindVersion(db(), files_, 1);
  REGFS_ASSERT_OK(v);
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ((*v)->id, v1_);
  EXPECT_EQ((*v)->collection, "files");
  EXPECT_EQ((*v)->blob, kBlobB);
  EXPECT_EQ((*v)->description, "it's v1");
  EXPECT_EQ(sql::FindVersionById(db(), tree_).value()->blob, "")
      << "a tree version has no blob";
  EXPECT_EQ(sql::FindLatestVersion(db(), files_).value()->number, 1u);
  EXPECT_EQ(sql::ListVersions(db(), files_).value().size(), 2u);
  EXPECT_EQ(sql::ListVersionKeys(db(), files_).value().at(1).id, v1_);
  EXPECT_TRUE(sql::VersionExists(db(), v0_).value());
  auto created = sql::VersionsCreatedBy(db(), files_, 1);
  REGFS_ASSERT_OK(created);
  ASSERT_EQ(created->size(), 1u);
  EXPECT_EQ((*created)[0].number, 0u);

  EXPECT_TRUE(sql::AddTag(db(), v0_, "gold").value());
  EXPECT_FALSE(sql::AddTag(db(), v0_, "gold").value()) << "once";
  EXPECT_EQ(sql::VersionTags(db(), v0_).value(),
            std::vector<std::string>{"gold"});
  EXPECT_EQ(sql::CollectionDetails(db(), files_).value().size(), 1u);
  EXPECT_TRUE(sql::RemoveTag(db(), v0_, "gold").value());
  EXPECT_FALSE(sql::RemoveTag(db(), v0_, "gold").value());

  REGFS_ASSERT_OK(sql::PutMetadata(db(), v0_, "acc", "0.8"));
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v0_, "acc", "0.9"));
  EXPECT_EQ(sql::VersionMetadata(db(), v0_).value(),
            (std::map<std::string, std::string>{{"acc", "0.9"}}));
  EXPECT_EQ(sql::CollectionDetails(db(), files_).value().size(), 1u)
      << "the metadata entry (the tag is gone)";

  REGFS_ASSERT_OK(sql::DeleteVersion(db(), v0_));
  EXPECT_FALSE(sql::VersionExists(db(), v0_).value());
  EXPECT_TRUE(sql::VersionMetadata(db(), v0_).value().empty())
      << "metadata goes with its version";
}

TEST_P(SqlSharedStatementsTest, TreesAndBlobs) {
  auto top = sql::ListTreeEntries(db(), tree_, 0);
  REGFS_ASSERT_OK(top);
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].name, "sub");
  EXPECT_TRUE((*top)[0].is_dir);
  EXPECT_TRUE((*top)[1].executable);
  auto deep = sql::LookupTreeEntry(db(), tree_, dir_, "deep.bin");
  REGFS_ASSERT_OK(deep);
  ASSERT_TRUE(deep->has_value());
  EXPECT_EQ((*deep)->blob, kBlobB);
  EXPECT_EQ(sql::FindTreeEntry(db(), dir_).value()->name, "sub");

  auto files = sql::TreeFiles(db(), tree_);
  REGFS_ASSERT_OK(files);
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, "sub/deep.bin");
  EXPECT_EQ((*files)[1].path, "top.bin");
  EXPECT_EQ(sql::FilesOfBlob(db(), kBlobB).value(),
            (std::vector<std::string>{"files/v1", "trees/v0/sub/deep.bin"}));
  auto refs = sql::ReferencedBlobs(db());
  REGFS_ASSERT_OK(refs);
  ASSERT_EQ(refs->size(), 4u) << "each blob with each recorded size";
  EXPECT_EQ((*refs)[0].key, kBlobA);
  EXPECT_TRUE(sql::IsBlobReferenced(db(), kBlobA).value());
  EXPECT_FALSE(sql::IsBlobReferenced(db(), "xxh3-none").value());
  EXPECT_EQ(sql::CountVersions(db()).value(), 3u);
}

TEST_P(SqlSharedStatementsTest, AliasesGrantsAndProtection) {
  const sql::AliasStamp stamp{1, 5, 42, "alice"};
  REGFS_ASSERT_OK(sql::InsertAlias(db(), files_, "prod", v0_, stamp));
  REGFS_ASSERT_OK(sql::InsertAlias(db(), files_, "staging", v1_, stamp));
  REGFS_ASSERT_OK(sql::InsertProtectedName(db(), "PROD", 7, "root"));
  auto prod = sql::FindAlias(db(), files_, "prod");
  REGFS_ASSERT_OK(prod);
  ASSERT_TRUE(prod->has_value());
  REGFS_ASSERT_OK(
      sql::MoveAlias(db(), (*prod)->id, v1_, {2, 6, 43, "bob"}));
  auto alias = sql::GetAlias(db(), Files(), "prod");
  REGFS_ASSERT_OK(alias);
  ASSERT_TRUE(alias->has_value());
  EXPECT_EQ((*alias)->version, 1u);
  EXPECT_EQ((*alias)->revision, 2u);
  EXPECT_EQ((*alias)->updated_by, "bob");
  EXPECT_TRUE((*alias)->is_protected) << "protection ignores case";
  auto list = sql::ListAliases(db(), Files());
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_FALSE((*list)[1].is_protected);
  EXPECT_EQ(sql::AliasCaseTwin(db(), files_, "PROD", 0).value(), "prod");
  EXPECT_EQ(sql::AliasCaseTwin(db(), files_, "PROD", (*prod)->id).value(),
            std::nullopt);
  auto rows = sql::VersionAliasRows(db(), v1_);
  REGFS_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE((*rows)[0].is_protected);
  EXPECT_EQ(sql::VersionAliasNames(db(), v1_).value().size(), 2u);
  EXPECT_EQ(sql::ListAliasRows(db(), files_).value().size(), 2u);
  REGFS_ASSERT_OK(sql::RenameAlias(db(), (*prod)->id, "live", stamp));
  REGFS_ASSERT_OK(sql::DeleteAlias(db(), (*prod)->id));
  EXPECT_EQ(sql::ListAliases(db(), Files()).value().size(), 1u);

  EXPECT_EQ(sql::ProtectedSpelling(db(), "prod").value(), "PROD");
  EXPECT_EQ(sql::ListProtectedNames(db()).value().size(), 1u);
  REGFS_ASSERT_OK(sql::DeleteProtectedName(db(), "PROD"));
  EXPECT_EQ(sql::ProtectedSpelling(db(), "prod").value(), std::nullopt);

  REGFS_ASSERT_OK(sql::PutGrant(db(), "group:ml", Role::kViewer));
  REGFS_ASSERT_OK(sql::PutGrant(db(), "group:ml", Role::kMember));
  EXPECT_EQ(sql::GrantedRole(db(), "group:ml").value(), Role::kMember);
  auto grants = sql::ListGrants(db());
  REGFS_ASSERT_OK(grants);
  bool listed = false;
  for (const RoleGrant& g : *grants) {
    listed |= g.principal == "group:ml";
  }
  EXPECT_TRUE(listed);
  REGFS_ASSERT_OK(sql::DeleteGrant(db(), "group:ml"));
  EXPECT_EQ(sql::GrantedRole(db(), "group:ml").value(), std::nullopt);
}

TEST_P(SqlSharedStatementsTest, HistoryForTimeTravelAndFsck) {
  const uint64_t base = sql::LastSeq(db()).value_or(0);
  auto add = [&](EventType type, std::string collection, TimeMs time) {
    Event e;
    e.type = type;
    e.collection = std::move(collection);
    e.time = time;
    e.user = "alice";
    auto seq = sql::AppendEvent(db(), e);
    EXPECT_TRUE(seq.has_value()) << Describe(seq);
    return seq.value_or(0);
  };
  const uint64_t created = add(EventType::kCollectionCreate, "files", 10);
  add(EventType::kTagAdd, "files", 20);
  add(EventType::kProtect, "", 30);
  const uint64_t deleted = add(EventType::kCollectionDelete, "files", 40);
  EXPECT_EQ(sql::LastSeqAt(db(), 25).value(), created + 1);
  EXPECT_EQ(sql::LastLifeEvent(db(), "files", deleted).value(),
            EventType::kCollectionDelete);
  EXPECT_EQ(sql::LastLifeEvent(db(), "files", created).value(),
            EventType::kCollectionCreate);
  EXPECT_EQ(sql::LifeEventsUntil(db(), deleted).value().size(), 2u);
  auto replay = sql::ReplayEvents(db(), "files", deleted);
  REGFS_ASSERT_OK(replay);
  EXPECT_EQ(replay->size(), deleted - base);

  auto problems = sql::FindInconsistencies(db());
  REGFS_ASSERT_OK(problems);
  EXPECT_TRUE(problems->empty()) << problems->front().check << ": "
                                 << problems->front().detail;
}

TEST_P(SqlSharedStatementsTest, FsckNamesABrokenRule) {
  REGFS_ASSERT_OK(db().Exec("UPDATE collections SET next_version = 1"));
  auto problems = sql::FindInconsistencies(db());
  REGFS_ASSERT_OK(problems);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].check,
            "version number not below the collection's next number");
  EXPECT_EQ((*problems)[0].detail, "files/v1");
}

REGFS_SQL_ENGINES(SqlSharedStatementsTest);

}  // namespace
}  // namespace regfs::registry::testing
