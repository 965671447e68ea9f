// The statements of maintenance (registry/sql/maintenance.h) on a fresh
// store: each consistency check of fsck finds the break it names, the
// referenced blobs are listed once with their sizes, and a blob leads to
// the files that hold it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "registry/sql/maintenance.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::sql {
namespace {

using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::WriteFile;

class SqlMaintenanceTest : public RegistryTest {
 protected:
  // A second connection to the store's database.
  std::unique_ptr<Connection> Open() {
    auto db = SqliteConnection::Open(store() / "registry.db", false);
    EXPECT_TRUE(db.has_value()) << Describe(db);
    if (!db) return nullptr;
    return std::move(*db);
  }

  Version Push(std::string_view collection, std::string_view content,
               std::vector<std::string> aliases = {}) {
    PushRequest r;
    r.collection = std::string(collection);
    r.paths = {Source("model.bin", content)};
    r.aliases = std::move(aliases);
    auto v = reg().Push(Owner(), r);
    EXPECT_TRUE(v.has_value()) << Describe(v);
    return v.value_or(Version{});
  }

  // zoo/v0: sub/deep.bin and top.bin.
  Version PushTree(std::string_view deep = "deep content") {
    WriteFile(src() / "t" / "sub" / "deep.bin", deep);
    WriteFile(src() / "t" / "top.bin", "top content!");
    PushRequest r;
    r.collection = "zoo";
    r.paths = {src() / "t"};
    auto v = reg().Push(Owner(), r);
    EXPECT_TRUE(v.has_value()) << Describe(v);
    return v.value_or(Version{});
  }
};

TEST_F(SqlMaintenanceTest, CleanStoreHasNoInconsistencies) {
  Push("models", "weights", {"prod"});
  PushTree();
  auto db = Open();
  ASSERT_TRUE(db);
  auto found = FindInconsistencies(*db);
  REGFS_ASSERT_OK(found);
  EXPECT_TRUE(found->empty())
      << found->front().check << ": " << found->front().detail;
}

struct BreakCase {
  const char* what;
  const char* breaking_sql;
  const char* check;
  const char* detail;
};

class SqlMaintenanceBreakTest
    : public SqlMaintenanceTest,
      public ::testing::WithParamInterface<BreakCase> {};

// models/v0 (alias prod) and models/v1 are pushed first; history then
// holds 3 events (collection.create, 2 version.create) plus the alias's.
TEST_P(SqlMaintenanceBreakTest, CheckFindsTheBreakItNames) {
  const BreakCase& c = GetParam();
  Push("models", "weights", {"prod"});
  Push("models", "better weights");
  auto db = Open();
  ASSERT_TRUE(db);
  REGFS_ASSERT_OK(db->Exec("PRAGMA foreign_keys = OFF"));
  REGFS_ASSERT_OK(db->Exec(c.breaking_sql));
  auto found = FindInconsistencies(*db);
  REGFS_ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u) << c.what;
  EXPECT_EQ(found->front().check, c.check) << c.what;
  EXPECT_EQ(found->front().detail, c.detail) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Checks, SqlMaintenanceBreakTest,
    ::testing::Values(
        BreakCase{"alias to a deleted version",
                  "UPDATE aliases SET version_id = 999 WHERE name = 'prod'",
                  "alias names a missing version", "models/prod"},
        BreakCase{"numbering behind its versions",
                  "UPDATE collections SET next_version = 1",
                  "version number not below the collection's next number",
                  "models/v1"},
        BreakCase{"orphaned version",
                  "UPDATE versions SET collection_id = 77 WHERE number = 1",
                  "version of a missing collection", "v1 of collection 77"},
        BreakCase{"file version without its blob",
                  "UPDATE versions SET blob = NULL WHERE number = 0",
                  "version of the wrong kind", "models/v0"},
        BreakCase{"history with a hole",
                  "INSERT INTO history (seq, time_ms, event, collection, "
                  "alias, uid, user, interface, detail) SELECT max(seq) + 2, "
                  "0, 'tag.add', 'models', '', 0, 'x', 'cli', '{}' "
                  "FROM history",
                  "history has gaps", "events 5, last seq 6"}),
    [](const ::testing::TestParamInfo<BreakCase>& info) {
      std::string name = info.param.what;
      std::replace(name.begin(), name.end(), ' ', '_');
      return name;
    });

TEST_F(SqlMaintenanceTest, CountVersionsCountsLiveVersions) {
  auto db = Open();
  ASSERT_TRUE(db);
  auto none = CountVersions(*db);
  REGFS_ASSERT_OK(none);
  EXPECT_EQ(*none, 0u);
  Push("models", "a");
  Push("models", "b");
  PushTree();
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  auto n = CountVersions(*db);
  REGFS_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);
}

TEST_F(SqlMaintenanceTest, ReferencedBlobsListsEachBlobOnceSorted) {
  const Version file = Push("models", "weights");
  Push("copies", "weights");  // the same blob again
  const Version tree = PushTree();
  auto db = Open();
  ASSERT_TRUE(db);
  auto blobs = ReferencedBlobs(*db);
  REGFS_ASSERT_OK(blobs);
  std::vector<std::string> keys;
  for (const BlobRef& b : *blobs) keys.push_back(b.key);
  std::vector<std::string> want = {
      file.blob, reg().LookupTree(tree.id, 0, "top.bin")->blob,
      reg()
          .LookupTree(tree.id, reg().LookupTree(tree.id, 0, "sub")->id,
                      "deep.bin")
          ->blob};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(keys, want);
  for (const BlobRef& b : *blobs) {
    EXPECT_EQ(b.size, b.key == file.blob ? 7u : 12u) << b.key;
  }
}

TEST_F(SqlMaintenanceTest, ReferencedBlobsShowsEachRecordedSize) {
  const Version v = Push("models", "weights");
  Push("copies", "weights");
  auto db = Open();
  ASSERT_TRUE(db);
  REGFS_ASSERT_OK(
      db->Exec("UPDATE versions SET size = 8 WHERE collection_id = "
               "(SELECT id FROM collections WHERE name = 'copies')"));
  auto blobs = ReferencedBlobs(*db);
  REGFS_ASSERT_OK(blobs);
  ASSERT_EQ(blobs->size(), 2u);
  EXPECT_EQ((*blobs)[0].key, v.blob);
  EXPECT_EQ((*blobs)[0].size, 7u);
  EXPECT_EQ((*blobs)[1].key, v.blob);
  EXPECT_EQ((*blobs)[1].size, 8u);
}

TEST_F(SqlMaintenanceTest, IsBlobReferencedByVersionsAndTreeEntries) {
  const Version file = Push("models", "weights");
  const Version tree = PushTree();
  const std::string top = reg().LookupTree(tree.id, 0, "top.bin")->blob;
  auto db = Open();
  ASSERT_TRUE(db);
  for (const auto& [key, want] : std::vector<std::pair<std::string, bool>>{
           {file.blob, true}, {top, true}, {"0123abcd", false}, {"", false}}) {
    auto referenced = IsBlobReferenced(*db, key);
    REGFS_ASSERT_OK(referenced);
    EXPECT_EQ(*referenced, want) << "'" << key << "'";
  }
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  auto gone = IsBlobReferenced(*db, file.blob);
  REGFS_ASSERT_OK(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(SqlMaintenanceTest, FilesOfBlobNamesVersionsAndTreeFiles) {
  const Version file = Push("models", "deep content");
  Push("models", "other");
  PushTree("deep content");  // zoo/v0/sub/deep.bin holds the same blob
  auto db = Open();
  ASSERT_TRUE(db);
  auto files = FilesOfBlob(*db, file.blob);
  REGFS_ASSERT_OK(files);
  EXPECT_EQ(*files,
            (std::vector<std::string>{"models/v0", "zoo/v0/sub/deep.bin"}));
  auto none = FilesOfBlob(*db, "0123abcd");
  REGFS_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(SqlMaintenanceTest, TreeFilesWalksTheTreeByPath) {
  const Version tree = PushTree();
  auto db = Open();
  ASSERT_TRUE(db);
  auto files = TreeFiles(*db, tree.id);
  REGFS_ASSERT_OK(files);
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].path, "sub/deep.bin");
  EXPECT_EQ((*files)[0].size, 12u);
  EXPECT_EQ((*files)[0].blob,
            reg()
                .LookupTree(tree.id, reg().LookupTree(tree.id, 0, "sub")->id,
                            "deep.bin")
                ->blob);
  EXPECT_EQ((*files)[1].path, "top.bin");
  EXPECT_EQ((*files)[1].size, 12u);
  auto none = TreeFiles(*db, tree.id + 100);
  REGFS_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace regfs::registry::sql
