// fs/xattrs.h: the extended attributes `getfattr -d` shows on versions and
// on files inside trees (DESIGN.md), and listxattr's text.
#include "fs/xattrs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/model.h"
#include "tests/fs/temp_store.h"

namespace regfs::fs {
namespace {

using registry::Alias;
using registry::Kind;
using registry::Version;
using Attributes = std::map<std::string, std::string>;

constexpr registry::TimeMs kCreated = 1700000000123;
constexpr registry::TimeMs kMoved = 1700000999456;

Attributes AsMap(const XattrList& list) {
  Attributes out;
  for (const auto& [name, value] : list) {
    EXPECT_TRUE(out.emplace(name, value).second) << name << " listed twice";
  }
  return out;
}

Version FileVersion() {
  Version v;
  v.id = 11;
  v.collection_id = 7;
  v.collection = "models";
  v.number = 3;
  v.kind = Kind::kFile;
  v.created = kCreated;
  v.creator_uid = 20001;
  v.creator = "alice";
  v.size = 1234;
  v.files = 1;
  v.digest = "0123456789abcdef0123456789abcdef";
  v.blob = "0123456789abcdef0123456789abcdef";
  v.filename = "model.pt";
  v.description = "resnet, fine-tuned";
  v.metadata = {{"accuracy", "0.93"}, {"framework", "torch"}};
  v.tags = {"best", "reviewed"};
  v.aliases = {"latest", "production"};
  return v;
}

Alias AliasOf(const Version& v, std::string name, bool is_protected) {
  Alias a;
  a.collection = v.collection;
  a.name = std::move(name);
  a.version = v.number;
  a.version_id = v.id;
  a.is_protected = is_protected;
  a.updated = kMoved;
  a.updated_uid = 0;
  a.updated_by = "root";
  return a;
}

TEST(XattrsTest, AFileVersionShowsWhatItRecords) {
  const Version v = FileVersion();
  const Attributes expected = {
      {"user.regfs.collection", "models"},
      {"user.regfs.version", "v3"},
      {"user.regfs.kind", "file"},
      {"user.regfs.digest", "0123456789abcdef0123456789abcdef"},
      {"user.regfs.created", registry::FormatTime(kCreated)},
      {"user.regfs.creator", "alice"},
      {"user.regfs.filename", "model.pt"},
      {"user.regfs.size", "1234"},
      {"user.regfs.description", "resnet, fine-tuned"},
      {"user.regfs.tags", "best,reviewed"},
      {"user.regfs.aliases", "latest,production"},
      {"user.regfs.meta.accuracy", "0.93"},
      {"user.regfs.meta.framework", "torch"},
  };
  EXPECT_EQ(AsMap(VersionXattrs(v, {})), expected);
  EXPECT_FALSE(registry::FormatTime(kCreated).empty());
}

TEST(XattrsTest, ATreeVersionAlsoCountsItsFiles) {
  Version v = FileVersion();
  v.kind = Kind::kTree;
  v.files = 42;
  v.blob.clear();
  const Attributes got = AsMap(VersionXattrs(v, {}));
  EXPECT_EQ(got.at("user.regfs.kind"), "tree");
  EXPECT_EQ(got.at("user.regfs.files"), "42");
  EXPECT_EQ(got.count("user.regfs.files"), 1u);
  EXPECT_EQ(AsMap(VersionXattrs(FileVersion(), {})).count("user.regfs.files"),
            0u)
      << "a file version has no files attribute";
}

TEST(XattrsTest, EmptyValuesAreLeftOut) {
  Version v = FileVersion();
  v.description.clear();
  v.tags.clear();
  v.aliases.clear();
  v.creator.clear();
  v.metadata = {{"empty", ""}, {"kept", "x"}};
  const Attributes got = AsMap(VersionXattrs(v, {}));
  for (const char* name :
       {"user.regfs.description", "user.regfs.tags", "user.regfs.aliases",
        "user.regfs.creator", "user.regfs.meta.empty"}) {
    EXPECT_EQ(got.count(name), 0u) << name;
  }
  EXPECT_EQ(got.at("user.regfs.meta.kept"), "x");
  // A size of 0 is a value, not an empty one.
  v.size = 0;
  EXPECT_EQ(AsMap(VersionXattrs(v, {})).at("user.regfs.size"), "0");
}

// Linux refuses user.* on symlinks, so each alias naming the version shows
// its own attributes on the version; aliases of other versions do not.
TEST(XattrsTest, AliasesNamingTheVersionShowTheirAttributesOnIt) {
  const Version v = FileVersion();
  Alias other = AliasOf(v, "candidate", false);
  other.version_id = v.id + 1;
  other.version = v.number + 1;
  const std::vector<Alias> aliases = {AliasOf(v, "production", true), other,
                                      AliasOf(v, "staging", false)};
  const Attributes got = AsMap(VersionXattrs(v, aliases));
  EXPECT_EQ(got.at("user.regfs.alias.production.protected"), "true");
  EXPECT_EQ(got.at("user.regfs.alias.production.updated"),
            registry::FormatTime(kMoved));
  EXPECT_EQ(got.at("user.regfs.alias.production.updated_by"), "root");
  EXPECT_EQ(got.at("user.regfs.alias.staging.protected"), "false");
  for (const auto& [name, value] : got) {
    EXPECT_EQ(name.find("candidate"), std::string::npos) << name;
  }
  EXPECT_EQ(got.size(), AsMap(VersionXattrs(v, {})).size() + 6);
}

TEST(XattrsTest, EveryNameHasTheMountsPrefix) {
  const Version v = FileVersion();
  for (const auto& [name, value] :
       VersionXattrs(v, {AliasOf(v, "production", true)})) {
    EXPECT_TRUE(name.starts_with(kXattrPrefix)) << name;
    EXPECT_FALSE(value.empty()) << name;
  }
}

TEST(XattrsTest, ADirectoryInsideATreeHasNone) {
  registry::TreeEntry dir;
  dir.id = 5;
  dir.name = "weights";
  dir.is_dir = true;
  EXPECT_TRUE(TreeEntryXattrs(dir).empty());
}

// A file inside a tree shows the digest and size it would have as a file
// version of its own.
TEST(XattrsTest, AFileInsideATreeShowsItsDigestAndSize) {
  testing::TempStore store;
  ASSERT_TRUE(store.ok());
  const std::string content = "tensor bytes of a shard";
  const Version alone = store.PushFile("single", "shard.bin", content);
  ASSERT_FALSE(alone.digest.empty());

  const std::filesystem::path tree = store.src() / "tree";
  std::filesystem::create_directories(tree / "sub");
  std::ofstream(tree / "shard.bin", std::ios::binary) << content;
  std::ofstream(tree / "sub" / "other.bin", std::ios::binary) << "other";
  registry::PushRequest request;
  request.collection = "sharded";
  request.paths = {tree};
  auto version = store.reg().Push(testing::Admin(), request);
  ASSERT_TRUE(version.has_value()) << version.error().message;
  auto root = store.reg().ListTree(version->id, 0);
  ASSERT_TRUE(root.has_value()) << root.error().message;
  std::optional<registry::TreeEntry> shard;
  for (const auto& entry : *root) {
    if (entry.name == "shard.bin") shard = entry;
    if (entry.name == "sub") {
      EXPECT_TRUE(TreeEntryXattrs(entry).empty());
    }
  }
  ASSERT_TRUE(shard.has_value());
  const Attributes expected = {
      {"user.regfs.digest", alone.digest},
      {"user.regfs.size", std::to_string(content.size())},
  };
  EXPECT_EQ(AsMap(TreeEntryXattrs(*shard)), expected);
}

TEST(XattrsTest, XattrNamesIsEachNameFollowedByNul) {
  EXPECT_EQ(XattrNames({}), "");
  const XattrList list = {{"user.regfs.a", "1"}, {"user.regfs.bc", "22"}};
  EXPECT_EQ(XattrNames(list), std::string("user.regfs.a\0user.regfs.bc\0", 27));
  const XattrList versions = VersionXattrs(FileVersion(), {});
  const std::string names = XattrNames(versions);
  size_t count = 0;
  for (char c : names) count += c == '\0';
  EXPECT_EQ(count, versions.size());
  EXPECT_EQ(names.back(), '\0');
}

TEST(XattrsTest, FindXattrMatchesWholeNamesOnly) {
  const XattrList list = VersionXattrs(FileVersion(), {});
  EXPECT_EQ(FindXattr(list, "user.regfs.creator"), "alice");
  EXPECT_EQ(FindXattr(list, "user.regfs.meta.accuracy"), "0.93");
  EXPECT_EQ(FindXattr(list, "user.regfs.creat"), std::nullopt);
  EXPECT_EQ(FindXattr(list, "user.regfs.creator2"), std::nullopt);
  EXPECT_EQ(FindXattr(list, "creator"), std::nullopt);
  EXPECT_EQ(FindXattr(list, "user.regfs.description"), "resnet, fine-tuned");
  EXPECT_EQ(FindXattr({}, "user.regfs.digest"), std::nullopt);
}

}  // namespace
}  // namespace regfs::fs
