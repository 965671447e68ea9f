// Registry::Push: numbering, file and tree versions, what a version records,
// dedup, forced hash collisions and a failure between blob and commit.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "registry/names.h"
#include "registry/registry.h"
#include "registry/shared_store.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::ReadFile;
using testing::RegistryTest;
using testing::Root;
using testing::User;
using testing::WriteFile;

using PushTest = RegistryTest;

PushRequest Request(std::string collection, std::vector<fs::path> paths) {
  PushRequest r;
  r.collection = std::move(collection);
  r.paths = std::move(paths);
  return r;
}

std::vector<uint64_t> Numbers(const std::vector<Version>& versions) {
  std::vector<uint64_t> out;
  for (const Version& v : versions) out.push_back(v.number);
  return out;
}

std::vector<std::string> Names(const std::vector<TreeEntry>& entries) {
  std::vector<std::string> out;
  for (const TreeEntry& e : entries) out.push_back(e.name);
  return out;
}

TEST_F(PushTest, ThreePushesMakeV0V1V2AndLatestFollows) {
  for (uint64_t i = 0; i < 3; ++i) {
    auto v = PushContent(Owner(), "models", "weights " + std::to_string(i));
    REGFS_ASSERT_OK(v);
    EXPECT_EQ(v->number, i);
    EXPECT_EQ(v->collection, "models");
    EXPECT_EQ(v->kind, Kind::kFile);
    auto latest = reg().Resolve("models", "latest");
    REGFS_ASSERT_OK(latest);
    EXPECT_EQ(latest->number, i);
  }
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(Numbers(*versions), (std::vector<uint64_t>{0, 1, 2}));

  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->kind, Kind::kFile);
  EXPECT_EQ(coll->version_count, 3u);
  EXPECT_EQ(coll->latest, std::optional<uint64_t>(2));
  EXPECT_EQ(coll->alias_count, 0u) << "latest is not counted";

  auto aliases = reg().ListAliases("models");
  REGFS_ASSERT_OK(aliases);
  ASSERT_EQ(aliases->size(), 1u);
  EXPECT_EQ((*aliases)[0].name, "latest");
  EXPECT_TRUE((*aliases)[0].is_latest);
  EXPECT_EQ((*aliases)[0].version, 2u);

  auto v1 = reg().Resolve("models", "v1");
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(ReadFile(reg().BlobPath(v1->blob)), "weights 1");
}

TEST_F(PushTest, IdenticalContentStillMakesNewVersions) {
  for (uint64_t i = 0; i < 3; ++i) {
    auto v = PushContent(Owner(), "models", "same");
    REGFS_ASSERT_OK(v);
    EXPECT_EQ(v->number, i);
  }
}

TEST_F(PushTest, NumbersAreNeverReused) {
  for (int i = 0; i < 3; ++i) {
    REGFS_ASSERT_OK(PushContent(Owner(), "models", "c" + std::to_string(i)));
  }
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 2));
  auto latest = reg().Resolve("models", "latest");
  REGFS_ASSERT_OK(latest);
  EXPECT_EQ(latest->number, 1u) << "latest falls back to the newest live";

  auto v = PushContent(Owner(), "models", "c3");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 3u) << "v2 was deleted, but its number stays used";

  for (uint64_t n : {0, 1, 3}) {
    REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", n));
  }
  auto empty = reg().ListVersions("models");
  REGFS_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(CodeOf(reg().Resolve("models", "latest")), Code::kNotFound);
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->latest, std::nullopt);

  auto after = PushContent(Owner(), "models", "c4");
  REGFS_ASSERT_OK(after);
  EXPECT_EQ(after->number, 4u);
  EXPECT_EQ(CodeOf(reg().GetVersion("models", 2)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().Resolve("models", "v2")), Code::kNotFound);
}

TEST_F(PushTest, NumbersAreNeverReusedAcrossReopen) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "a"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "b"));
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 1));
  Reopen();
  auto v = PushContent(Owner(), "models", "c");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 2u);
}

TEST_F(PushTest, FileVersionRecordsWhatAUserNeeds) {
  const TimeMs before = NowMs();
  PushRequest r = Request("models", {Source("resnet.pt", "tensor bytes")});
  r.tags = {"gold", "nightly"};
  r.metadata = {{"accuracy", "0.93"}, {"lr", "3e-4"}};
  r.description = "ResNet trained on the zoo";
  auto pushed = reg().Push(Owner(Interface::kFs), r);
  REGFS_ASSERT_OK(pushed);
  const TimeMs after = NowMs();

  auto v = reg().GetVersion("models", pushed->number);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->id, pushed->id);
  EXPECT_EQ(v->kind, Kind::kFile);
  EXPECT_EQ(v->size, 12u);
  EXPECT_EQ(v->files, 1u);
  EXPECT_EQ(v->filename, "resnet.pt");
  EXPECT_EQ(v->digest, Xxh3Hex("tensor bytes"));
  EXPECT_EQ(v->blob, Xxh3Hex("tensor bytes"));
  EXPECT_EQ(ReadFile(reg().BlobPath(v->blob)), "tensor bytes");
  EXPECT_EQ(v->creator_uid, testing::kOwnerUid);
  EXPECT_EQ(v->creator, "10000");
  EXPECT_GE(v->created, before);
  EXPECT_LE(v->created, after);
  EXPECT_EQ(v->description, "ResNet trained on the zoo");
  EXPECT_EQ(v->metadata, (std::map<std::string, std::string>{
                             {"accuracy", "0.93"}, {"lr", "3e-4"}}));
  std::vector<std::string> tags = v->tags;
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{"gold", "nightly"}));
  EXPECT_NE(std::find(v->aliases.begin(), v->aliases.end(), "latest"),
            v->aliases.end());
}

TEST_F(PushTest, CreatorIsTheCaller) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  auto by_member = PushContent(User(20002), "models", "x");
  REGFS_ASSERT_OK(by_member);
  EXPECT_EQ(by_member->creator_uid, 20002u);
  EXPECT_EQ(by_member->creator, "20002");
  auto by_root = PushContent(Root(), "models", "y");
  REGFS_ASSERT_OK(by_root);
  EXPECT_EQ(by_root->creator_uid, 0u);
  EXPECT_EQ(by_root->creator, "root");
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->creator_uid, 20002u) << "the first push made it";
}

TEST_F(PushTest, PushIntoAnEmptyCollectionFixesItsKind) {
  auto made = reg().CreateCollection(Owner(), "models");
  REGFS_ASSERT_OK(made);
  EXPECT_EQ(made->kind, Kind::kEmpty);
  EXPECT_EQ(made->version_count, 0u);
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "x"));
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->kind, Kind::kFile);
}

// The W&B example: two files make one tree version.
TEST_F(PushTest, TwoFilesMakeATreeVersion) {
  const std::string dataset(1000, 'd');
  const std::string labels = "0123456789";
  PushRequest r = Request("zoo-dataset", {Source("zoo_dataset.pt", dataset),
                                          Source("zoo_labels.pt", labels)});
  r.aliases = {"production-us", "production-eu"};
  auto v = reg().Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 0u);
  EXPECT_EQ(v->kind, Kind::kTree);
  EXPECT_EQ(v->size, 1010u);
  EXPECT_EQ(v->files, 2u);
  EXPECT_TRUE(v->blob.empty());
  EXPECT_EQ(v->digest.size(), 32u);
  EXPECT_NE(v->filename.find("zoo_dataset.pt"), std::string::npos);
  EXPECT_NE(v->filename.find("zoo_labels.pt"), std::string::npos);

  auto root = reg().ListTree(v->id, 0);
  REGFS_ASSERT_OK(root);
  ASSERT_EQ(Names(*root),
            (std::vector<std::string>{"zoo_dataset.pt", "zoo_labels.pt"}));
  EXPECT_FALSE((*root)[0].is_dir);
  EXPECT_EQ((*root)[0].size, 1000u);
  EXPECT_EQ((*root)[1].size, 10u);
  EXPECT_EQ((*root)[0].version_id, v->id);
  EXPECT_EQ((*root)[0].parent_id, 0);
  EXPECT_EQ(ReadFile(reg().BlobPath((*root)[0].blob)), dataset);
  EXPECT_EQ(ReadFile(reg().BlobPath((*root)[1].blob)), labels);

  auto looked = reg().LookupTree(v->id, 0, "zoo_labels.pt");
  REGFS_ASSERT_OK(looked);
  EXPECT_EQ(looked->id, (*root)[1].id);
  auto by_id = reg().GetTreeEntry((*root)[0].id);
  REGFS_ASSERT_OK(by_id);
  EXPECT_EQ(by_id->name, "zoo_dataset.pt");
  EXPECT_EQ(CodeOf(reg().LookupTree(v->id, 0, "nope")), Code::kNotFound);

  for (const char* alias : {"production-us", "production-eu", "latest"}) {
    auto a = reg().Resolve("zoo-dataset", alias);
    REGFS_ASSERT_OK(a);
    EXPECT_EQ(a->number, 0u) << alias;
  }
  auto coll = reg().GetCollection("zoo-dataset");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->kind, Kind::kTree);
  EXPECT_EQ(coll->alias_count, 2u);
}

TEST_F(PushTest, DirectoryWithNestedFoldersAndEmptyFiles) {
  const fs::path dir = src() / "bert";
  WriteFile(dir / "config.json", "{\"layers\": 12}");
  WriteFile(dir / "empty.txt", "");
  WriteFile(dir / "weights" / "a.bin", "AAAA");
  WriteFile(dir / "weights" / "deep" / "b.bin", "BBBBBBBB");
  WriteFile(dir / "weights" / "deep" / "zero", "");
  WriteFile(dir / "run.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((dir / "run.sh").c_str(), 0755), 0);

  auto v = reg().Push(Owner(), Request("bert", {dir}));
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->kind, Kind::kTree);
  EXPECT_EQ(v->files, 6u);
  EXPECT_EQ(v->size, 14u + 0 + 4 + 8 + 0 + 10);

  // A single directory's contents sit at the root.
  auto root = reg().ListTree(v->id, 0);
  REGFS_ASSERT_OK(root);
  ASSERT_EQ(Names(*root), (std::vector<std::string>{"config.json", "empty.txt",
                                                    "run.sh", "weights"}));
  const TreeEntry& empty = (*root)[1];
  EXPECT_FALSE(empty.is_dir);
  EXPECT_EQ(empty.size, 0u);
  if (!empty.blob.empty()) {
    EXPECT_EQ(fs::file_size(reg().BlobPath(empty.blob)), 0u);
  }
  EXPECT_TRUE((*root)[2].executable) << "run.sh keeps its x bit";
  EXPECT_FALSE((*root)[0].executable);
  const TreeEntry& weights = (*root)[3];
  EXPECT_TRUE(weights.is_dir);

  auto in_weights = reg().ListTree(v->id, weights.id);
  REGFS_ASSERT_OK(in_weights);
  ASSERT_EQ(Names(*in_weights), (std::vector<std::string>{"a.bin", "deep"}));
  EXPECT_EQ(ReadFile(reg().BlobPath((*in_weights)[0].blob)), "AAAA");
  ASSERT_TRUE((*in_weights)[1].is_dir);

  auto deep = reg().LookupTree(v->id, (*in_weights)[1].id, "b.bin");
  REGFS_ASSERT_OK(deep);
  EXPECT_EQ(deep->size, 8u);
  EXPECT_EQ(deep->parent_id, (*in_weights)[1].id);
  EXPECT_EQ(ReadFile(reg().BlobPath(deep->blob)), "BBBBBBBB");
  auto zero = reg().LookupTree(v->id, (*in_weights)[1].id, "zero");
  REGFS_ASSERT_OK(zero);
  EXPECT_EQ(zero->size, 0u);

  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

TEST_F(PushTest, SeveralDirectoriesAndFilesAreKeptByBaseName) {
  WriteFile(src() / "train" / "x.bin", "train");
  WriteFile(src() / "test" / "y.bin", "test");
  WriteFile(src() / "README", "readme");
  auto v = reg().Push(
      Owner(),
      Request("splits", {src() / "train", src() / "test", src() / "README"}));
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->kind, Kind::kTree);
  auto root = reg().ListTree(v->id, 0);
  REGFS_ASSERT_OK(root);
  EXPECT_EQ(Names(*root),
            (std::vector<std::string>{"README", "test", "train"}));
  auto train = reg().LookupTree(v->id, 0, "train");
  REGFS_ASSERT_OK(train);
  auto x = reg().LookupTree(v->id, train->id, "x.bin");
  REGFS_ASSERT_OK(x);
  EXPECT_EQ(ReadFile(reg().BlobPath(x->blob)), "train");
}

TEST_F(PushTest, TreeDigestDependsOnContentAndNames) {
  WriteFile(src() / "a" / "f", "one");
  WriteFile(src() / "b" / "f", "one");
  WriteFile(src() / "c" / "f", "two");
  WriteFile(src() / "d" / "g", "one");
  auto a = reg().Push(Owner(), Request("t", {src() / "a"}));
  auto b = reg().Push(Owner(), Request("t", {src() / "b"}));
  auto c = reg().Push(Owner(), Request("t", {src() / "c"}));
  auto d = reg().Push(Owner(), Request("t", {src() / "d"}));
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(b);
  REGFS_ASSERT_OK(c);
  REGFS_ASSERT_OK(d);
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_NE(a->digest, c->digest);
  EXPECT_NE(a->digest, d->digest);
}

class RefusedTreeTest : public RegistryTest {
 protected:
  void ExpectRefused(const fs::path& dir, std::string_view bad_name) {
    const uint64_t seq = Seq();
    const size_t blobs = BlobCount();
    auto v = reg().Push(Owner(), Request("data", {dir}));
    ASSERT_FALSE(v.has_value()) << "pushed v" << v->number;
    EXPECT_EQ(v.error().code, Code::kInvalidArgument) << Describe(v);
    EXPECT_NE(v.error().message.find(bad_name), std::string::npos)
        << "the message names the offending entry: " << v.error().message;
    EXPECT_EQ(CodeOf(reg().GetCollection("data")), Code::kNotFound)
        << "no collection created";
    EXPECT_EQ(Seq(), seq) << "no history row";
    EXPECT_EQ(BlobCount(), blobs) << "no blob stored";
    auto fsck = reg().Fsck();
    REGFS_ASSERT_OK(fsck);
    EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
  }
};

TEST_F(RefusedTreeTest, SymlinkInsideATree) {
  const fs::path dir = src() / "ds";
  WriteFile(dir / "a.bin", "a");
  WriteFile(dir / "sub" / "b.bin", "b");
  fs::create_symlink("../a.bin", dir / "sub" / "sneaky-link");
  ExpectRefused(dir, "sneaky-link");
}

TEST_F(RefusedTreeTest, DanglingSymlinkInsideATree) {
  const fs::path dir = src() / "ds";
  WriteFile(dir / "a.bin", "a");
  fs::create_symlink("/nonexistent/target", dir / "dangling-link");
  ExpectRefused(dir, "dangling-link");
}

TEST_F(RefusedTreeTest, SymlinkToDirectoryInsideATree) {
  const fs::path dir = src() / "ds";
  WriteFile(dir / "a.bin", "a");
  fs::create_symlink("/etc", dir / "etc-link");
  ExpectRefused(dir, "etc-link");
}

TEST_F(RefusedTreeTest, FifoInsideATree) {
  const fs::path dir = src() / "ds";
  WriteFile(dir / "a.bin", "a");
  const fs::path fifo = dir / "a-fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  // If the registry wrongly opens the FIFO to read it, it would block
  // forever: a writer that comes and goes lets the test finish and fail.
  std::atomic<bool> done = false;
  std::thread unblocker([&] {
    while (!done) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  ExpectRefused(dir, "a-fifo");
  done = true;
  unblocker.join();
}

TEST_F(RefusedTreeTest, SocketInsideATree) {
  const fs::path dir = src() / "ds";
  WriteFile(dir / "a.bin", "a");
  // A socket node made with mknod (no need to bind one).
  const fs::path sock = dir / "a-socket";
  if (::mknod(sock.c_str(), S_IFSOCK | 0644, 0) != 0) {
    GTEST_SKIP() << "mknod S_IFSOCK not possible here";
  }
  ExpectRefused(dir, "a-socket");
}

TEST_F(PushTest, SymlinkGivenAsTheFileItselfIsRefusedWithoutFollow) {
  // Not a tree entry: the user named it. Without -L (follow_symlinks) the
  // link is refused, never stored as its target path; follow_symlinks_test
  // covers pushing what it points to.
  const fs::path target = Source("real.bin", "real content");
  fs::create_symlink(target, src() / "link.bin");
  const uint64_t seq = Seq();
  auto v = reg().Push(Owner(), Request("data", {src() / "link.bin"}));
  ASSERT_FALSE(v.has_value()) << "a symbolic link pushed without -L";
  EXPECT_EQ(v.error().code, Code::kInvalidArgument) << Describe(v);
  EXPECT_EQ(CodeOf(reg().GetCollection("data")), Code::kNotFound);
  EXPECT_EQ(Seq(), seq);
}

TEST_F(PushTest, MissingPathIsRefusedAndNothingCreated) {
  const uint64_t seq = Seq();
  auto v = reg().Push(Owner(), Request("data", {src() / "does-not-exist"}));
  EXPECT_FALSE(v.has_value());
  EXPECT_EQ(CodeOf(reg().GetCollection("data")), Code::kNotFound);
  EXPECT_EQ(Seq(), seq);
}

TEST_F(PushTest, NoPathsIsInvalid) {
  auto v = reg().Push(Owner(), Request("data", {}));
  EXPECT_EQ(CodeOf(v), Code::kInvalidArgument) << Describe(v);
}

TEST_F(PushTest, DuplicateBaseNamesInATreeAreRefused) {
  WriteFile(src() / "a" / "same.bin", "1");
  WriteFile(src() / "b" / "same.bin", "2");
  const uint64_t seq = Seq();
  auto v = reg().Push(Owner(), Request("data", {src() / "a" / "same.bin",
                                                src() / "b" / "same.bin"}));
  ASSERT_FALSE(v.has_value()) << "one of them would be lost";
  EXPECT_TRUE(v.error().code == Code::kInvalidArgument ||
              v.error().code == Code::kAlreadyExists)
      << Describe(v);
  EXPECT_EQ(Seq(), seq);
}

TEST_F(PushTest, BadCollectionNameIsInvalid) {
  for (const char* name : {"", ".hidden", "a/b", "latest", "v1", "sp ace"}) {
    auto v = PushContent(Owner(), name, "x");
    EXPECT_FALSE(v.has_value()) << "collection \"" << name << "\"";
    if (!v) {
      EXPECT_TRUE(v.error().code == Code::kInvalidArgument ||
                  v.error().code == Code::kNotPermitted)
          << name << ": " << Describe(v);
    }
  }
  auto all = reg().ListCollections();
  REGFS_ASSERT_OK(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(PushTest, KindIsFixedByTheFirstVersion) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "a file"));
  WriteFile(src() / "tree" / "x", "x");
  const uint64_t seq = Seq();
  auto tree = reg().Push(Owner(), Request("models", {src() / "tree"}));
  ASSERT_FALSE(tree.has_value()) << "a tree version in a file collection";
  EXPECT_TRUE(tree.error().code == Code::kConflict ||
              tree.error().code == Code::kInvalidArgument)
      << Describe(tree);
  EXPECT_EQ(Seq(), seq);
  auto two = reg().Push(
      Owner(), Request("models", {Source("p", "p"), Source("q", "q")}));
  EXPECT_FALSE(two.has_value()) << "two files make a tree";
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(versions->size(), 1u);
}

TEST_F(PushTest, TreeCollectionNeverGetsAFileVersion) {
  WriteFile(src() / "tree" / "x", "x");
  REGFS_ASSERT_OK(reg().Push(Owner(), Request("data", {src() / "tree"})));
  // One file pushed to a tree collection becomes a tree holding that file.
  auto one = reg().Push(Owner(), Request("data", {Source("single", "1")}));
  REGFS_ASSERT_OK(one);
  EXPECT_EQ(one->kind, Kind::kTree);
  EXPECT_EQ(one->files, 1u);
  auto root = reg().ListTree(one->id, 0);
  REGFS_ASSERT_OK(root);
  EXPECT_EQ(Names(*root), (std::vector<std::string>{"single"}));
  auto coll = reg().GetCollection("data");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->kind, Kind::kTree);
}

TEST_F(PushTest, KindSurvivesDeletingEveryVersion) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "a file"));
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  WriteFile(src() / "tree" / "x", "x");
  auto tree = reg().Push(Owner(), Request("models", {src() / "tree"}));
  EXPECT_FALSE(tree.has_value())
      << "the first version fixed the kind, even once deleted";
}

TEST_F(PushTest, AliasesGivenToPushPointAtTheNewVersion) {
  PushRequest first = Request("models", {Source("a", "a")});
  first.aliases = {"best"};
  REGFS_ASSERT_OK(reg().Push(Owner(), first));
  PushRequest second = Request("models", {Source("b", "b")});
  second.aliases = {"best", "candidate"};
  auto v1 = reg().Push(Owner(), second);
  REGFS_ASSERT_OK(v1);
  for (const char* alias : {"best", "candidate"}) {
    auto a = reg().GetAlias("models", alias);
    REGFS_ASSERT_OK(a);
    EXPECT_EQ(a->version, 1u) << alias;
  }
}

TEST_F(PushTest, PushWithABadAliasCreatesNothing) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "v0"));
  for (const char* bad : {"latest", "v7", ".x", "a/b"}) {
    const uint64_t seq = Seq();
    PushRequest r = Request("models", {Source("new", "new")});
    r.aliases = {"fine", bad};
    auto v = reg().Push(Owner(), r);
    EXPECT_FALSE(v.has_value()) << "alias \"" << bad << "\"";
    EXPECT_EQ(Seq(), seq) << bad;
    auto versions = reg().ListVersions("models");
    REGFS_ASSERT_OK(versions);
    EXPECT_EQ(versions->size(), 1u) << bad;
    EXPECT_EQ(CodeOf(reg().GetAlias("models", "fine")), Code::kNotFound) << bad;
  }
}

TEST_F(PushTest, PushWithBadTagOrMetaKeyCreatesNothing) {
  PushRequest r = Request("models", {Source("f", "f")});
  r.tags = {""};
  EXPECT_EQ(CodeOf(reg().Push(Owner(), r)), Code::kInvalidArgument);
  r.tags = {};
  r.metadata = {{"", "value"}};
  EXPECT_EQ(CodeOf(reg().Push(Owner(), r)), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().GetCollection("models")), Code::kNotFound);
  EXPECT_EQ(Seq(), 0u);
}

TEST_F(PushTest, ProgressIsReported) {
  const std::string big(3 * 1024 * 1024 + 11, 'z');
  PushRequest r = Request("models", {Source("big.bin", big)});
  uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  r.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  };
  auto v = reg().Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  EXPECT_GT(calls, 0);
  EXPECT_EQ(last_done, big.size());
  EXPECT_EQ(last_total, big.size());
  EXPECT_EQ(v->size, big.size());
}

// ---- Dedup and forced collisions ----

TEST_F(PushTest, SameContentSharesOneBlob) {
  auto a = PushContent(Owner(), "models", "shared weights", "a.pt");
  auto b = PushContent(Owner(), "models", "shared weights", "b.pt");
  auto c = PushContent(Owner(), "other", "shared weights", "c.pt");
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(b);
  REGFS_ASSERT_OK(c);
  EXPECT_EQ(a->blob, b->blob);
  EXPECT_EQ(a->blob, c->blob);
  EXPECT_EQ(b->filename, "b.pt") << "names are per version, not per blob";
  EXPECT_EQ(BlobCount(), 1u);

  // A tree sharing the same content shares the blob too.
  WriteFile(src() / "tree" / "w", "shared weights");
  REGFS_ASSERT_OK(reg().Push(Owner(), Request("tree", {src() / "tree"})));
  EXPECT_EQ(BlobCount(), 1u);

  // Deleting one version keeps the blob the others need.
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.blobs_removed, 0u);
  EXPECT_EQ(ReadFile(reg().BlobPath(b->blob)), "shared weights");
}

class ConstantHasher final : public Hasher {
 public:
  void Update(std::span<const std::byte>) override {}
  std::string Final() override { return "0123456789abcdef0123456789abcdef"; }
};

class CollisionTest : public RegistryTest {
 protected:
  void SetUp() override {
    init_options_.hasher = [] { return std::make_unique<ConstantHasher>(); };
    RegistryTest::SetUp();
  }
};

TEST_F(CollisionTest, CollidingContentsGetTwoBlobs) {
  auto a = PushContent(Owner(), "models", "content A");
  auto b = PushContent(Owner(), "models", "content B, longer");
  auto c = PushContent(Owner(), "models", "content C");  // same size as A
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(b);
  REGFS_ASSERT_OK(c);
  EXPECT_NE(a->blob, b->blob);
  EXPECT_NE(a->blob, c->blob);
  EXPECT_NE(b->blob, c->blob);
  EXPECT_EQ(ReadFile(reg().BlobPath(a->blob)), "content A");
  EXPECT_EQ(ReadFile(reg().BlobPath(b->blob)), "content B, longer");
  EXPECT_EQ(ReadFile(reg().BlobPath(c->blob)), "content C");
  EXPECT_EQ(BlobCount(), 3u);

  // A content seen before finds its own blob, not the first with the hash.
  auto b2 = PushContent(Owner(), "models", "content B, longer");
  REGFS_ASSERT_OK(b2);
  EXPECT_EQ(b2->blob, b->blob);
  EXPECT_EQ(BlobCount(), 3u);

  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

TEST_F(CollisionTest, CollidingFilesInsideOneTree) {
  WriteFile(src() / "t" / "x", "xxxx");
  WriteFile(src() / "t" / "y", "yyyy");
  auto v = reg().Push(Owner(), Request("data", {src() / "t"}));
  REGFS_ASSERT_OK(v);
  auto x = reg().LookupTree(v->id, 0, "x");
  auto y = reg().LookupTree(v->id, 0, "y");
  REGFS_ASSERT_OK(x);
  REGFS_ASSERT_OK(y);
  EXPECT_NE(x->blob, y->blob);
  EXPECT_EQ(ReadFile(reg().BlobPath(x->blob)), "xxxx");
  EXPECT_EQ(ReadFile(reg().BlobPath(y->blob)), "yyyy");
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

// ---- A failure between the blob and the commit ----

TEST_F(PushTest, FailureAfterBlobInstallLeavesTheStoreConsistent) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "v0 content"));
  const uint64_t seq = Seq();
  Reopen(OpenOptions{.fail_point = BlobStore::FailPoint::kAfterInstall});
  auto failed = PushContent(Owner(), "models", "never committed");
  ASSERT_FALSE(failed.has_value()) << "the fail point must fail the push";
  auto fresh = PushContent(Owner(), "fresh", "never committed either");
  ASSERT_FALSE(fresh.has_value());

  Reopen();
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(Numbers(*versions), std::vector<uint64_t>{0}) << "no version row";
  EXPECT_EQ(CodeOf(reg().GetVersion("models", 1)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetCollection("fresh")), Code::kNotFound);
  EXPECT_EQ(Seq(), seq) << "no history row";
  auto latest = reg().Resolve("models", "latest");
  REGFS_ASSERT_OK(latest);
  EXPECT_EQ(latest->number, 0u);

  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);

  // The orphan blob is gc's to remove.
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(BlobCount(), 1u);
  EXPECT_FALSE(fs::exists(reg().BlobPath(Xxh3Hex("never committed"))));

  // The next push still gets the next number.
  auto next = PushContent(Owner(), "models", "v1 content");
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(next->number, 1u);
}

TEST_F(PushTest, FailureAfterInstallOfATreeLeavesTheStoreConsistent) {
  WriteFile(src() / "t" / "a", "tree a");
  WriteFile(src() / "t" / "sub" / "b", "tree b");
  Reopen(OpenOptions{.fail_point = BlobStore::FailPoint::kAfterInstall});
  PushRequest r = Request("data", {src() / "t"});
  r.aliases = {"best"};
  ASSERT_FALSE(reg().Push(Owner(), r).has_value());
  Reopen();
  EXPECT_EQ(CodeOf(reg().GetCollection("data")), Code::kNotFound);
  EXPECT_EQ(Seq(), 0u);
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
  REGFS_ASSERT_OK(reg().Gc(Owner()));
  EXPECT_EQ(BlobCount(), 0u);
}

TEST_F(PushTest, PushKilledMidStreamLeavesTheStoreConsistent) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "v0 content"));
  const fs::path big = Source("big.bin", std::string(4 * 1024 * 1024, 'k'));
  registry_.reset();  // no SQLite connection crosses a fork
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto reg = Registry::Open(store());
    if (!reg) ::_exit(2);
    PushRequest r = Request("models", {big});
    r.progress = [](uint64_t done, uint64_t total) {
      if (done * 2 >= total) ::kill(::getpid(), SIGKILL);
    };
    (void)(*reg)->Push(Owner(), r);
    ::_exit(3);  // not reached: killed half-way
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  Reopen();
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(Numbers(*versions), std::vector<uint64_t>{0});
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.temps_removed, 1u) << "the dead push's temporary file";
  EXPECT_TRUE(fs::is_empty(BlobsDirOf(store()) / "tmp"));
  auto next = PushContent(Owner(), "models", "v1 content");
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(next->number, 1u);
}

TEST_F(PushTest, DeletedTreeVersionIsGoneWithItsEntries) {
  WriteFile(src() / "t" / "sub" / "f", "only here");
  auto v = reg().Push(Owner(), Request("data", {src() / "t"}));
  REGFS_ASSERT_OK(v);
  auto sub = reg().LookupTree(v->id, 0, "sub");
  REGFS_ASSERT_OK(sub);
  auto f = reg().LookupTree(v->id, sub->id, "f");
  REGFS_ASSERT_OK(f);
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "data", 0));
  EXPECT_EQ(CodeOf(reg().GetTreeEntry(f->id)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().LookupTree(v->id, sub->id, "f")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().ListTree(v->id, 0)), Code::kNotFound)
      << "listing a deleted version is an error, not an empty directory";
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.blobs_removed, 1u);
  EXPECT_EQ(BlobCount(), 0u);
}

TEST_F(PushTest, FailureAfterStageLeavesNoTrace) {
  Reopen(OpenOptions{.fail_point = BlobStore::FailPoint::kAfterStage});
  auto failed = PushContent(Owner(), "models", "staged only");
  ASSERT_FALSE(failed.has_value());
  Reopen();
  EXPECT_EQ(CodeOf(reg().GetCollection("models")), Code::kNotFound);
  EXPECT_EQ(Seq(), 0u);
  EXPECT_EQ(BlobCount(), 0u);
  EXPECT_TRUE(fs::is_empty(BlobsDirOf(store()) / "tmp"))
      << "the staged temporary file is removed";
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
}

}  // namespace
}  // namespace regfs::registry
