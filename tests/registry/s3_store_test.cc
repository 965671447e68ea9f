// A shared store whose blobs live in S3 (issue 17), against a throwaway
// s3rver (s3_test_server.h) and the test PostgreSQL server: pushes upload
// before they commit, another node reads through an empty cache, the
// cache's bound and pins, outages, corrupt objects, fsck and gc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "registry/registry.h"
#include "registry/shared_store.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/s3_test_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A hasher under which every content collides.
class ConstantHasher final : public Hasher {
 public:
  void Update(std::span<const std::byte>) override {}
  std::string Final() override { return "00112233445566778899aabbccddeeff"; }
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return out;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("AWS_ACCESS_KEY_ID", S3TestServer::kAccessKeyId, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3TestServer::kSecretAccessKey, 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL");
    auto s3 = S3TestServer::Start();
    ASSERT_TRUE(s3.has_value()) << Describe(s3);
    s3_ = std::move(*s3);
    auto pg = PgServer::Get();
    ASSERT_TRUE(pg.has_value()) << "no test PostgreSQL: " << Describe(pg);
    auto conninfo = (*pg)->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    config_.metadata = *conninfo;
    config_.timeout = std::chrono::seconds(2);
    config_.gc_grace = std::chrono::seconds(0);
    S3StoreSettings settings;
    settings.bucket = s3_->bucket();
    settings.prefix = "team/registry";
    settings.endpoint = s3_->endpoint();
    settings.region = S3TestServer::kRegion;
    config_.s3 = settings;
  }

  // A node: its own store directory (and cache), on the one registry.
  std::unique_ptr<Registry> Node(const std::string& name,
                                 SharedStoreConfig config) {
    bool joined = false;
    auto reg = InitSharedStore(tmp_.path() / name, Owner(), config, &joined);
    EXPECT_TRUE(reg.has_value()) << Describe(reg);
    return reg ? std::move(*reg) : nullptr;
  }
  std::unique_ptr<Registry> Node(const std::string& name) {
    return Node(name, config_);
  }

  fs::path Source(const std::string& name, const std::string& content) {
    const fs::path path = tmp_.path() / "src" / name;
    WriteFile(path, content);
    return path;
  }

  Result<Version> PushFile(Registry& reg, const std::string& collection,
                           const std::string& content) {
    PushRequest request;
    request.collection = collection;
    request.paths = {
        Source(collection + "-" + std::to_string(++pushed_), content)};
    return reg.Push(Owner(), request);
  }

  std::string ObjectKey(const std::string& key) const {
    return "team/registry/blobs/" + key;
  }

  TempDir tmp_;
  std::unique_ptr<S3TestServer> s3_;
  SharedStoreConfig config_;
  int pushed_ = 0;
};

TEST_F(S3StoreTest, APushOnOneNodeIsReadOnAnotherThroughAnEmptyCache) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->HasRemoteBlobs());
  const std::string content(3 << 20, 'x');
  auto v = PushFile(*a, "models", content);
  REGFS_ASSERT_OK(v);
  // In the bucket before the commit returned, under the prefix.
  EXPECT_TRUE(fs::exists(s3_->ObjectFile(ObjectKey(v->blob))));
  // Node a cached what it pushed; node b has nothing yet.
  EXPECT_TRUE(fs::exists(a->BlobPath(v->blob)));
  EXPECT_FALSE(fs::exists(b->BlobPath(v->blob)));
  auto fd = b->OpenBlob(v->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), content);
  EXPECT_TRUE(fs::exists(b->BlobPath(v->blob)));
  auto listed = b->CacheList();
  REGFS_ASSERT_OK(listed);
  ASSERT_EQ(listed->blobs.size(), 1u);
  EXPECT_TRUE(listed->blobs[0].open);
  EXPECT_EQ(listed->url, "s3://" + s3_->bucket() + "/team/registry");
  // The same content pushed again is the same object.
  auto again = PushFile(*b, "copies", content);
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(again->blob, v->blob);
}

TEST_F(S3StoreTest, ATreeIsWarmedIntoTheCacheAndDropped) {
  // The default grace: a push installs what it just uploaded without
  // asking the bucket again.
  config_.gc_grace = std::chrono::seconds(3600);
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a && b);
  const fs::path dir = tmp_.path() / "tree";
  WriteFile(dir / "one.bin", "one");
  WriteFile(dir / "sub" / "two.bin", "two");
  WriteFile(dir / "sub" / "same.bin", "one");
  PushRequest request;
  request.collection = "zoo";
  request.paths = {dir};
  request.aliases = {"production"};
  REGFS_ASSERT_OK(a->Push(Owner(), request));
  auto warmed = b->CacheWarm(Owner(), "zoo", "production");
  REGFS_ASSERT_OK(warmed);
  EXPECT_EQ(warmed->blobs, 2u);  // "one" twice is one blob
  EXPECT_EQ(warmed->fetched, 2u);
  auto again = b->CacheWarm(Owner(), "zoo", "v0");
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(again->fetched, 0u);
  EXPECT_EQ(CodeOf(b->CacheWarm(User(20001), "zoo", "nosuch")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(b->CacheDrop(User(20001))), Code::kPermissionDenied);
  auto dropped = b->CacheDrop(Owner());
  REGFS_ASSERT_OK(dropped);
  EXPECT_EQ(dropped->blobs, 2u);
  auto listed = b->CacheList();
  REGFS_ASSERT_OK(listed);
  EXPECT_TRUE(listed->blobs.empty());
  // Verifying reads the objects themselves.
  REGFS_EXPECT_OK(b->VerifyVersion("zoo", 0));
}

TEST_F(S3StoreTest, TheCacheStaysWithinItsBoundAndOpenBlobsSurvive) {
  auto a = Node("a");
  SharedStoreConfig small = config_;
  small.cache_size = (5 << 20) / 2;  // 2.5 MiB: two 1 MiB blobs
  auto b = Node("b", small);
  ASSERT_TRUE(a && b);
  std::vector<Version> versions;
  for (int i = 0; i < 5; ++i) {
    auto v =
        PushFile(*a, "data", std::string(1 << 20, static_cast<char>('a' + i)));
    REGFS_ASSERT_OK(v);
    versions.push_back(*v);
  }
  auto first = b->OpenBlob(versions[0].blob);  // held open throughout
  REGFS_ASSERT_OK(first);
  for (int i = 1; i < 5; ++i) {
    auto fd = b->OpenBlob(versions[i].blob);
    REGFS_ASSERT_OK(fd);
    EXPECT_EQ(ReadAll(fd->get()),
              std::string(1 << 20, static_cast<char>('a' + i)));
  }
  auto listed = b->CacheList();
  REGFS_ASSERT_OK(listed);
  uint64_t closed = 0;
  bool first_cached = false;
  for (const CachedBlob& blob : listed->blobs) {
    if (blob.key == versions[0].blob) {
      first_cached = true;
      EXPECT_TRUE(blob.open);
    } else {
      closed += blob.size;
    }
  }
  EXPECT_TRUE(first_cached) << "an open blob was evicted";
  EXPECT_LE(closed, small.cache_size);
  EXPECT_LT(listed->blobs.size(), 5u);
  EXPECT_EQ(ReadAll(first->get()), std::string(1 << 20, 'a'));
}

TEST_F(S3StoreTest, AnOutageKeepsCachedReadsAndFailsTheRestWithinTheBound) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a && b);
  auto cached = PushFile(*a, "models", "cached on b");
  auto uncached = PushFile(*a, "models", "not on b");
  REGFS_ASSERT_OK(cached);
  REGFS_ASSERT_OK(uncached);
  REGFS_ASSERT_OK(b->OpenBlob(cached->blob));
  s3_->Kill();
  auto fd = b->OpenBlob(cached->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), "cached on b");
  const auto start = Clock::now();
  auto failed = b->OpenBlob(uncached->blob);
  EXPECT_EQ(CodeOf(failed), Code::kIoError);
  // Bounded (timeout = 2 s): never a hung read. Generous for a slow CI.
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(fs::exists(b->BlobPath(uncached->blob)));
  // A push fails cleanly: nothing committed.
  EXPECT_EQ(CodeOf(PushFile(*a, "models", "during the outage")),
            Code::kIoError);
  auto versions = a->ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(versions->size(), 2u);
  // Everything recovers by itself.
  REGFS_ASSERT_OK(s3_->Restart());
  auto later = b->OpenBlob(uncached->blob);
  REGFS_ASSERT_OK(later);
  EXPECT_EQ(ReadAll(later->get()), "not on b");
  REGFS_EXPECT_OK(PushFile(*a, "models", "after the outage"));
}

TEST_F(S3StoreTest, ACorruptObjectIsRefusedNotCached) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a && b);
  auto v = PushFile(*a, "models", "the true bytes");
  REGFS_ASSERT_OK(v);
  {
    std::ofstream out(s3_->ObjectFile(ObjectKey(v->blob)),
                      std::ios::binary | std::ios::trunc);
    out << "the false bytes";
  }
  EXPECT_EQ(CodeOf(b->OpenBlob(v->blob)), Code::kCorruption);
  EXPECT_FALSE(fs::exists(b->BlobPath(v->blob)));
  // fsck: the size alone shows it; --contents reads it.
  auto quick = b->Fsck();
  REGFS_ASSERT_OK(quick);
  EXPECT_FALSE(quick->clean());
  auto deep = b->Fsck({.contents = true});
  REGFS_ASSERT_OK(deep);
  ASSERT_FALSE(deep->clean());
  EXPECT_NE(deep->problems[0].find(v->blob), std::string::npos);
}

TEST_F(S3StoreTest, FsckFindsAMissingObjectAndGcRemovesOnlyUnreferenced) {
  auto a = Node("a");
  ASSERT_TRUE(a);
  auto kept = PushFile(*a, "models", "kept");
  auto dropped = PushFile(*a, "models", "dropped");
  REGFS_ASSERT_OK(kept);
  REGFS_ASSERT_OK(dropped);
  auto clean = a->Fsck();
  REGFS_ASSERT_OK(clean);
  EXPECT_TRUE(clean->clean());
  REGFS_ASSERT_OK(a->DeleteVersion(Owner(), "models", 1));
  auto gc = a->Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.blobs_removed, 1u);
  EXPECT_EQ(gc->blobs.cached_removed, 1u);
  EXPECT_TRUE(gc->blobs.uploads_unlisted);  // s3rver does not list them
  EXPECT_FALSE(fs::exists(s3_->ObjectFile(ObjectKey(dropped->blob))));
  EXPECT_TRUE(fs::exists(s3_->ObjectFile(ObjectKey(kept->blob))));
  fs::remove(s3_->ObjectFile(ObjectKey(kept->blob)));
  auto missing = a->Fsck();
  REGFS_ASSERT_OK(missing);
  ASSERT_EQ(missing->problems.size(), 1u);
  EXPECT_NE(missing->problems[0].find("missing"), std::string::npos);
}

TEST_F(S3StoreTest,
       APushKilledAfterItsUploadLeavesNoVersionAndGcTakesTheObject) {
  auto a = Node("a");
  ASSERT_TRUE(a);
  a.reset();
  OpenOptions failing;
  failing.fail_point = BlobStore::FailPoint::kAfterStage;
  auto crashing = Registry::Open(tmp_.path() / "a", failing);
  REGFS_ASSERT_OK(crashing);
  const std::string content(7 << 20, 'm');
  EXPECT_FALSE(PushFile(**crashing, "models", content).has_value());
  crashing->reset();
  auto reopened = Registry::Open(tmp_.path() / "a");
  REGFS_ASSERT_OK(reopened);
  auto none = (*reopened)->ListVersions("models");
  EXPECT_TRUE(!none || none->empty());
  auto gc = (*reopened)->Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.blobs_removed, 1u);
  const fs::path objects =
      s3_->data_dir() / s3_->bucket() / "team" / "registry" / "blobs";
  EXPECT_TRUE(!fs::exists(objects) || fs::is_empty(objects));
}

TEST_F(S3StoreTest, AWrongSecretIsRefusedAtInitAndNothingIsMade) {
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
  bool joined = false;
  auto refused = InitSharedStore(tmp_.path() / "x", Owner(), config_, &joined);
  EXPECT_EQ(CodeOf(refused), Code::kPermissionDenied) << Describe(refused);
  if (!refused) {
    EXPECT_EQ(refused.error().message.find("not-the-secret"),
              std::string::npos);
  }
  EXPECT_FALSE(fs::exists(tmp_.path() / "x"));
}

TEST_F(S3StoreTest, TheConfigurationRoundTrips) {
  const fs::path store = tmp_.path() / "conf";
  fs::create_directories(store);
  SharedStoreConfig config = config_;
  config.cache_size = uint64_t{200} << 30;
  REGFS_ASSERT_OK(WriteSharedStoreConfig(store, config));
  auto read = ReadSharedStoreConfig(store);
  REGFS_ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  ASSERT_TRUE((*read)->s3.has_value());
  EXPECT_EQ((*read)->s3->bucket, s3_->bucket());
  EXPECT_EQ((*read)->s3->prefix, "team/registry");
  EXPECT_EQ((*read)->s3->endpoint, s3_->endpoint());
  EXPECT_EQ((*read)->cache_size, uint64_t{200} << 30);
  EXPECT_EQ(BlobsDirOf(store), store / "blobs");
  EXPECT_EQ(DraftsDirOf(store), store / "drafts");
  EXPECT_EQ(*ParseByteSize("512M"), uint64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(CodeOf(ParseByteSize("12X")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(ParseByteSize("G")), Code::kInvalidArgument);
}

TEST_F(S3StoreTest, AMovedPrefetchedAliasIsFetchedBeforeAnyOpen) {
  auto a = Node("a");
  SharedStoreConfig prefetching = config_;
  prefetching.prefetch = {"production"};
  auto b = Node("b", prefetching);
  ASSERT_TRUE(a && b);
  b->EnableReadCache();
  auto v0 = PushFile(*a, "models", "first");
  auto v1 = PushFile(*a, "models", "second");
  REGFS_ASSERT_OK(v0);
  REGFS_ASSERT_OK(v1);
  REGFS_ASSERT_OK(a->SetAlias(Owner(), "models", "production", "v1"));
  auto events = b->History(HistoryFilter{});
  REGFS_ASSERT_OK(events);
  b->Refresh(*events);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!fs::exists(b->BlobPath(v1->blob)) && Clock::now() < deadline) {
    ::usleep(20000);
  }
  EXPECT_TRUE(fs::exists(b->BlobPath(v1->blob)));
  EXPECT_FALSE(fs::exists(b->BlobPath(v0->blob)));
}

TEST_F(S3StoreTest, ADraftIsPublishedIntoTheBucketAndStaysDuringAnOutage) {
  auto a = Node("a");
  auto b = Node("b");
  ASSERT_TRUE(a && b);
  REGFS_ASSERT_OK(PushFile(*a, "models", "pushed"));
  auto ref = a->LookupCollection("models");
  REGFS_ASSERT_OK(ref);
  ASSERT_TRUE(a->drafts().DirFor(ref->id, Owner().uid).has_value());
  const fs::path draft = a->drafts().PathOf(ref->id, Owner().uid, ".model.pt");
  WriteFile(draft, "published weights");
  PublishRequest request;
  request.collection = "models";
  request.owner = Owner().uid;
  request.draft = ".model.pt";
  request.target = "latest";
  auto v = a->Publish(Owner(), request);
  REGFS_ASSERT_OK(v);
  EXPECT_TRUE(fs::exists(s3_->ObjectFile(ObjectKey(v->blob))));
  EXPECT_FALSE(fs::exists(draft));
  auto fd = b->OpenBlob(v->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), "published weights");
  // While the bucket is away a publish fails, and the draft stays.
  WriteFile(draft, "second weights");
  s3_->Kill();
  EXPECT_EQ(CodeOf(a->Publish(Owner(), request)), Code::kIoError);
  EXPECT_EQ(ReadFile(draft), "second weights");
  auto versions = a->ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(versions->size(), 2u);
}

TEST_F(S3StoreTest, CollidingContentsGetAnObjectEach) {
  OpenOptions colliding;
  colliding.hasher = [] { return std::make_unique<ConstantHasher>(); };
  bool joined = false;
  auto a =
      InitSharedStore(tmp_.path() / "a", Owner(), config_, &joined, colliding);
  auto b =
      InitSharedStore(tmp_.path() / "b", Owner(), config_, &joined, colliding);
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(b);
  auto first = PushFile(**a, "models", "first content");
  auto second = PushFile(**a, "models", "second content");
  auto again = PushFile(**b, "copies", "second content");
  REGFS_ASSERT_OK(first);
  REGFS_ASSERT_OK(second);
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(first->blob, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(second->blob, "00112233445566778899aabbccddeeff.1");
  // Node b had neither cached: it compared the objects byte for byte.
  EXPECT_EQ(again->blob, second->blob);
  for (const Version* v : {&*first, &*second}) {
    EXPECT_TRUE(fs::exists(s3_->ObjectFile(ObjectKey(v->blob))));
  }
  auto fd = (*b)->OpenBlob(first->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), "first content");
}

TEST_F(S3StoreTest, ABlobLargerThanTheCacheIsStillRead) {
  auto a = Node("a");
  SharedStoreConfig tiny = config_;
  tiny.cache_size = 1 << 20;
  auto b = Node("b", tiny);
  ASSERT_TRUE(a && b);
  const std::string content(3 << 20, 'L');
  auto v = PushFile(*a, "models", content);
  REGFS_ASSERT_OK(v);
  auto fd = b->OpenBlob(v->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), content);
}

}  // namespace
}  // namespace regfs::registry::testing
