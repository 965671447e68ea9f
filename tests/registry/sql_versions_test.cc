// registry/sql/versions.h, called directly on a fresh store's database:
// versions by number, id and newest, their rows as inserted, tree entries,
// tags, metadata, deletion, and the aliases that name a version.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/sql/collections.h"
#include "registry/sql/rows.h"
#include "registry/sql/versions.h"
#include "tests/registry/sql_test_util.h"

namespace regfs::registry {
namespace {

using testing::Describe;
using testing::Owner;

// The Registry makes what needs its rules (SqlTest).
class SqlVersionsTest : public testing::SqlTest {
 protected:
  // Pushes "one" and "two" to `collection` (v0, v1); its id.
  int64_t PushTwo(std::string_view collection) {
    EXPECT_TRUE(PushContent(Owner(), collection, "one").has_value());
    EXPECT_TRUE(PushContent(Owner(), collection, "two").has_value());
    auto c = sql::FindCollection(db(), collection);
    EXPECT_TRUE(c.has_value() && c->has_value());
    return c.has_value() && c->has_value() ? (*c)->id : -1;
  }

  // A version row of a new collection `collection`, inserted directly.
  Version InsertedVersion(std::string_view collection, Kind kind) {
    auto cid = sql::InsertCollection(db(), collection, 0, Owner(), 1);
    EXPECT_TRUE(cid.has_value()) << Describe(cid);
    Version v;
    v.collection_id = cid.value_or(0);
    v.collection = std::string(collection);
    v.number = 5;
    v.kind = kind;
    v.created = 1700000000123;
    v.creator_uid = 4242;
    v.creator = "alice";
    v.size = 99;
    v.files = kind == Kind::kTree ? 3 : 1;
    v.digest = "0123456789abcdef0123456789abcdef";
    v.blob = kind == Kind::kTree ? "" : "ab/cdef";
    v.filename = "model.bin";
    v.description = "a description";
    v.created_seq = 17;
    REGFS_EXPECT_OK(sql::SetKindAndNextVersion(db(), v.collection_id, kind, 6));
    auto id = sql::InsertVersion(db(), v);
    EXPECT_TRUE(id.has_value()) << Describe(id);
    v.id = id.value_or(0);
    return v;
  }
};

void ExpectSameRow(const Version& got, const Version& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.collection_id, want.collection_id);
  EXPECT_EQ(got.collection, want.collection);
  EXPECT_EQ(got.number, want.number);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.created, want.created);
  EXPECT_EQ(got.creator_uid, want.creator_uid);
  EXPECT_EQ(got.creator, want.creator);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.files, want.files);
  EXPECT_EQ(got.digest, want.digest);
  EXPECT_EQ(got.blob, want.blob);
  EXPECT_EQ(got.filename, want.filename);
  EXPECT_EQ(got.description, want.description);
  EXPECT_EQ(got.created_seq, want.created_seq);
}

TEST_F(SqlVersionsTest, InsertedVersionReadsBackByIdAndNumber) {
  for (const Kind kind : {Kind::kFile, Kind::kTree}) {
    const Version want =
        InsertedVersion(kind == Kind::kFile ? "files" : "trees", kind);
    auto by_id = sql::FindVersionById(db(), want.id);
    REGFS_ASSERT_OK(by_id);
    ASSERT_TRUE(by_id->has_value());
    ExpectSameRow(**by_id, want);
    auto by_number = sql::FindVersion(db(), want.collection_id, 5);
    REGFS_ASSERT_OK(by_number);
    ASSERT_TRUE(by_number->has_value());
    ExpectSameRow(**by_number, want);
  }
}

TEST_F(SqlVersionsTest, FindByNumber) {
  const int64_t c = PushTwo("m");
  const struct {
    int64_t collection_id;
    uint64_t number;
    bool found;
  } cases[] = {{c, 0, true}, {c, 1, true}, {c, 2, false}, {c + 1, 0, false}};
  for (const auto& t : cases) {
    auto v = sql::FindVersion(db(), t.collection_id, t.number);
    REGFS_ASSERT_OK(v);
    EXPECT_EQ(v->has_value(), t.found) << t.collection_id << " " << t.number;
    if (t.found && v->has_value()) {
      EXPECT_EQ((*v)->number, t.number);
      EXPECT_EQ((*v)->collection, "m");
      EXPECT_EQ((*v)->kind, Kind::kFile);
    }
  }
  auto none = sql::FindVersionById(db(), 9999);
  REGFS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqlVersionsTest, LatestListAndKeys) {
  const int64_t c = PushTwo("m");
  auto latest = sql::FindLatestVersion(db(), c);
  REGFS_ASSERT_OK(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->number, 1u);

  auto list = sql::ListVersions(db(), c);
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].number, 0u);
  EXPECT_EQ((*list)[1].number, 1u);
  EXPECT_EQ((*list)[1].id, (*latest)->id);

  auto keys = sql::ListVersionKeys(db(), c);
  REGFS_ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 2u);
  for (size_t i = 0; i < keys->size(); ++i) {
    EXPECT_EQ((*keys)[i].id, (*list)[i].id);
    EXPECT_EQ((*keys)[i].number, (*list)[i].number);
  }

  auto empty = sql::InsertCollection(db(), "empty", 0, Owner(), 1);
  REGFS_ASSERT_OK(empty);
  auto no_latest = sql::FindLatestVersion(db(), *empty);
  REGFS_ASSERT_OK(no_latest);
  EXPECT_FALSE(no_latest->has_value());
  auto no_list = sql::ListVersions(db(), *empty);
  REGFS_ASSERT_OK(no_list);
  EXPECT_TRUE(no_list->empty());
}

TEST_F(SqlVersionsTest, SelectVersionsIsTheSharedShape) {
  const int64_t c = PushTwo("m");
  auto s = db().Prepare(
      sql::SelectVersions("WHERE v.collection_id = ?1 ORDER BY v.number DESC"));
  REGFS_ASSERT_OK(s);
  (*s)->BindInt64(1, c);
  auto rows = sql::AllRows(**s, sql::VersionFromRow);
  REGFS_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].number, 1u);
  EXPECT_EQ((*rows)[0].collection, "m");
}

TEST_F(SqlVersionsTest, TreeEntries) {
  const Version v = InsertedVersion("trees", Kind::kTree);
  const auto insert = [&](int64_t parent, std::string name, bool is_dir,
                          uint64_t size, std::string blob) {
    TreeEntry e;
    e.version_id = v.id;
    e.parent_id = parent;
    e.name = std::move(name);
    e.is_dir = is_dir;
    e.executable = !is_dir && size == 1;
    e.size = size;
    e.blob = std::move(blob);
    auto id = sql::InsertTreeEntry(db(), e);
    EXPECT_TRUE(id.has_value()) << Describe(id);
    return id.value_or(-1);
  };
  const int64_t dir = insert(0, "weights", true, 0, "");
  const int64_t readme = insert(0, "README", false, 10, "aa/readme");
  const int64_t run = insert(dir, "run.sh", false, 1, "bb/run");

  auto root = sql::ListTreeEntries(db(), v.id, 0);
  REGFS_ASSERT_OK(root);
  ASSERT_EQ(root->size(), 2u);
  EXPECT_EQ((*root)[0].name, "README");
  EXPECT_EQ((*root)[0].id, readme);
  EXPECT_EQ((*root)[0].blob, "aa/readme");
  EXPECT_EQ((*root)[1].name, "weights");
  EXPECT_TRUE((*root)[1].is_dir);
  EXPECT_EQ((*root)[1].blob, "");

  const struct {
    int64_t parent;
    const char* name;
    std::optional<int64_t> id;
  } lookups[] = {{dir, "run.sh", run},
                 {0, "README", readme},
                 {0, "run.sh", std::nullopt},
                 {dir, "README", std::nullopt}};
  for (const auto& t : lookups) {
    auto e = sql::LookupTreeEntry(db(), v.id, t.parent, t.name);
    REGFS_ASSERT_OK(e);
    EXPECT_EQ(e->has_value() ? std::optional((*e)->id) : std::nullopt, t.id)
        << t.parent << "/" << t.name;
  }

  auto entry = sql::FindTreeEntry(db(), run);
  REGFS_ASSERT_OK(entry);
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->version_id, v.id);
  EXPECT_EQ((*entry)->parent_id, dir);
  EXPECT_TRUE((*entry)->executable);
  EXPECT_EQ((*entry)->size, 1u);
  EXPECT_EQ((*entry)->blob, "bb/run");
  auto missing = sql::FindTreeEntry(db(), run + 100);
  REGFS_ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqlVersionsTest, TagsAddAndRemoveOnce) {
  const int64_t c = PushTwo("m");
  auto versions = sql::ListVersions(db(), c);
  REGFS_ASSERT_OK(versions);
  const int64_t v0 = (*versions)[0].id;
  const int64_t v1 = (*versions)[1].id;
  const struct {
    bool add;
    int64_t version_id;
    const char* tag;
    bool changed;
  } steps[] = {
      {true, v0, "gold", true},      {true, v0, "gold", false},
      {true, v0, "alpha", true},     {true, v1, "gold", true},
      {false, v0, "gold", true},     {false, v0, "gold", false},
      {false, v1, "missing", false},
  };
  for (const auto& t : steps) {
    auto changed = t.add ? sql::AddTag(db(), t.version_id, t.tag)
                         : sql::RemoveTag(db(), t.version_id, t.tag);
    REGFS_ASSERT_OK(changed);
    EXPECT_EQ(*changed, t.changed)
        << (t.add ? "add " : "remove ") << t.tag << " on " << t.version_id;
  }
  auto tags = sql::VersionTags(db(), v0);
  REGFS_ASSERT_OK(tags);
  EXPECT_EQ(*tags, std::vector<std::string>{"alpha"});
  REGFS_ASSERT_OK(sql::AddTag(db(), v1, "beta"));
  auto all = sql::CollectionDetails(db(), c);
  REGFS_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].version_id, v0);
  EXPECT_TRUE((*all)[0].is_tag);
  EXPECT_EQ((*all)[0].key, "alpha");
  EXPECT_EQ((*all)[1].version_id, v1);
  EXPECT_EQ((*all)[1].key, "beta");
  EXPECT_EQ((*all)[2].key, "gold");
}

TEST_F(SqlVersionsTest, MetadataIsReplaced) {
  const int64_t c = PushTwo("m");
  auto versions = sql::ListVersions(db(), c);
  REGFS_ASSERT_OK(versions);
  const int64_t v0 = (*versions)[0].id;
  const int64_t v1 = (*versions)[1].id;
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v0, "lr", "0.1"));
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v0, "epochs", "3"));
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v0, "lr", "0.2"));
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v1, "lr", "0.3"));
  auto meta = sql::VersionMetadata(db(), v0);
  REGFS_ASSERT_OK(meta);
  EXPECT_EQ(*meta, (std::map<std::string, std::string>{{"epochs", "3"},
                                                       {"lr", "0.2"}}));
  auto all = sql::CollectionDetails(db(), c);
  REGFS_ASSERT_OK(all);
  std::map<std::pair<int64_t, std::string>, std::string> got;
  for (const auto& m : *all) {
    EXPECT_FALSE(m.is_tag);
    got[{m.version_id, m.key}] = m.value;
  }
  EXPECT_EQ(
      got,
      (std::map<std::pair<int64_t, std::string>, std::string>{
          {{v0, "epochs"}, "3"}, {{v0, "lr"}, "0.2"}, {{v1, "lr"}, "0.3"}}));
}

TEST_F(SqlVersionsTest, DeleteTakesTagsMetadataAndTree) {
  const Version v = InsertedVersion("trees", Kind::kTree);
  TreeEntry e;
  e.version_id = v.id;
  e.name = "f";
  e.size = 1;
  e.blob = "cc/f";
  auto entry = sql::InsertTreeEntry(db(), e);
  REGFS_ASSERT_OK(entry);
  REGFS_ASSERT_OK(sql::AddTag(db(), v.id, "t"));
  REGFS_ASSERT_OK(sql::PutMetadata(db(), v.id, "k", "v"));

  auto exists = sql::VersionExists(db(), v.id);
  REGFS_ASSERT_OK(exists);
  EXPECT_TRUE(*exists);
  REGFS_ASSERT_OK(sql::DeleteVersion(db(), v.id));
  exists = sql::VersionExists(db(), v.id);
  REGFS_ASSERT_OK(exists);
  EXPECT_FALSE(*exists);

  auto gone = sql::FindTreeEntry(db(), *entry);
  REGFS_ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  auto tags = sql::VersionTags(db(), v.id);
  REGFS_ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  auto meta = sql::VersionMetadata(db(), v.id);
  REGFS_ASSERT_OK(meta);
  EXPECT_TRUE(meta->empty());
}

TEST_F(SqlVersionsTest, AliasesOfAVersionWithProtection) {
  const int64_t c = PushTwo("m");
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "m", "staging", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "m", "prod", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "m", "old", "v0"));
  // Protection ignores case.
  REGFS_ASSERT_OK(reg().Protect(Owner(), "PROD"));
  auto v1 = sql::FindVersion(db(), c, 1);
  REGFS_ASSERT_OK(v1);
  ASSERT_TRUE(v1->has_value());

  auto names = sql::VersionAliasNames(db(), (*v1)->id);
  REGFS_ASSERT_OK(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"prod", "staging"}));

  auto rows = sql::VersionAliasRows(db(), (*v1)->id);
  REGFS_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "prod");
  EXPECT_TRUE((*rows)[0].is_protected);
  EXPECT_EQ((*rows)[1].name, "staging");
  EXPECT_FALSE((*rows)[1].is_protected);
}

}  // namespace
}  // namespace regfs::registry
