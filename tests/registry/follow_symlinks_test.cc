// PushRequest::follow_symlinks (regfs push -L): a Hugging Face snapshot
// folder, whose files are relative links into ../../blobs/, pushes as the
// files the links point to; dangling links and loops are refused; without
// the flag any link is refused with a message that names it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::Describe;
using testing::Owner;
using testing::ReadFile;
using testing::RegistryTest;
using testing::WriteFile;

class FollowSymlinksTest : public RegistryTest {
 protected:
  // models--org--bert/{blobs/<hash>, snapshots/abc/<name> -> ../../blobs/..}
  fs::path Snapshot() {
    const fs::path repo = src() / "models--org--bert";
    WriteFile(repo / "blobs" / "123", R"({"hidden": 768})");
    WriteFile(repo / "blobs" / "456", "weights");
    WriteFile(repo / "blobs" / "789", "vocab");
    const fs::path snap = repo / "snapshots" / "abc";
    fs::create_directories(snap / "tokenizer");
    fs::create_symlink("../../blobs/123", snap / "config.json");
    fs::create_symlink("../../blobs/456", snap / "model.safetensors");
    fs::create_symlink("../../../blobs/789", snap / "tokenizer" / "vocab.txt");
    return snap;
  }

  Result<Version> Push(const fs::path& path, bool follow) {
    PushRequest r;
    r.collection = "bert";
    r.paths = {path};
    r.follow_symlinks = follow;
    return reg().Push(Owner(), r);
  }

  // path -> content of every file of a tree version.
  std::map<std::string, std::string> Files(const Version& v, int64_t parent = 0,
                                           const std::string& prefix = "") {
    std::map<std::string, std::string> out;
    auto entries = reg().ListTree(v.id, parent);
    EXPECT_TRUE(entries.has_value());
    for (const TreeEntry& e : entries.value_or(std::vector<TreeEntry>{})) {
      if (e.is_dir) {
        out.merge(Files(v, e.id, prefix + e.name + "/"));
      } else {
        out[prefix + e.name] = ReadFile(reg().BlobPath(e.blob));
      }
    }
    return out;
  }

  void ExpectRefused(const fs::path& path, bool follow,
                     const std::string& part) {
    auto v = Push(path, follow);
    ASSERT_FALSE(v.has_value()) << "pushed v" << v->number;
    EXPECT_EQ(v.error().code, Code::kInvalidArgument) << Describe(v);
    EXPECT_NE(v.error().message.find(part), std::string::npos)
        << v.error().message;
    EXPECT_EQ(testing::CodeOf(reg().GetCollection("bert")), Code::kNotFound);
  }
};

TEST_F(FollowSymlinksTest, HuggingFaceSnapshotPushesTheLinkedFiles) {
  const fs::path snap = Snapshot();
  auto v = Push(snap, /*follow=*/true);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->kind, Kind::kTree);
  EXPECT_EQ(v->files, 3u);
  EXPECT_EQ(Files(*v), (std::map<std::string, std::string>{
                           {"config.json", R"({"hidden": 768})"},
                           {"model.safetensors", "weights"},
                           {"tokenizer/vocab.txt", "vocab"}}));
}

TEST_F(FollowSymlinksTest, WithoutTheFlagALinkIsRefusedNamingTheFlag) {
  const fs::path snap = Snapshot();
  ExpectRefused(snap, /*follow=*/false, "--follow-symlinks");
  ExpectRefused(snap / "config.json", /*follow=*/false, "-L");
}

TEST_F(FollowSymlinksTest, ALinkToOneFileMakesAFileVersion) {
  const fs::path snap = Snapshot();
  auto v = Push(snap / "config.json", /*follow=*/true);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->kind, Kind::kFile);
  EXPECT_EQ(v->filename, "config.json") << "the link's name, as cp -L";
  EXPECT_EQ(ReadFile(reg().BlobPath(v->blob)), R"({"hidden": 768})");
}

TEST_F(FollowSymlinksTest, ALinkToADirectoryIsWalked) {
  const fs::path dir = src() / "ds";
  WriteFile(src() / "shared" / "a.bin", "a");
  fs::create_directories(dir);
  fs::create_symlink("../shared", dir / "linked");
  auto v = Push(dir, /*follow=*/true);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(Files(*v),
            (std::map<std::string, std::string>{{"linked/a.bin", "a"}}));
}

TEST_F(FollowSymlinksTest, DanglingLinkIsRefused) {
  const fs::path snap = Snapshot();
  fs::create_symlink("../../blobs/missing", snap / "gone.bin");
  ExpectRefused(snap, /*follow=*/true, "gone.bin is a dangling symbolic link");
}

TEST_F(FollowSymlinksTest, LinkLoopsAreRefused) {
  const struct {
    const char* what;
    std::vector<std::pair<std::string, std::string>> links;  // name, target
    std::string part;
  } cases[] = {
      {"a link to an ancestor", {{"sub/up", ".."}}, "loop"},
      {"a link to itself", {{"self", "self"}}, "loop of symbolic links"},
      {"two links to each other", {{"a", "b"}, {"b", "a"}}, "loop"},
  };
  for (const auto& c : cases) {
    const fs::path dir = src() / "loop";
    fs::remove_all(dir);
    WriteFile(dir / "sub" / "f.bin", "f");
    for (const auto& [name, target] : c.links) {
      fs::create_symlink(target, dir / name);
    }
    SCOPED_TRACE(c.what);
    ExpectRefused(dir, /*follow=*/true, c.part);
  }
}

}  // namespace
}  // namespace regfs::registry
