#include "registry/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "registry/hasher.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// A hasher under which every content collides.
class ConstantHasher final : public Hasher {
 public:
  void Update(std::span<const std::byte>) override {}
  std::string Final() override { return "00112233445566778899aabbccddeeff"; }
};
constexpr std::string_view kConstantDigest = "00112233445566778899aabbccddeeff";

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(NewXxh3Hasher); }

  void Make(HasherFactory hasher) {
    root_ = tmp_.path() / "blobs";
    blobs_ = std::make_unique<BlobStore>(root_, std::move(hasher));
    REGFS_ASSERT_OK(blobs_->Create());
  }

  fs::path Source(std::string_view content) {
    const fs::path path =
        tmp_.path() / "src" / ("f" + std::to_string(sources_++));
    WriteFile(path, content);
    return path;
  }

  // Stages and installs `content`; returns its key ("" on failure).
  std::string Put(std::string_view content) {
    auto staged = blobs_->Stage(Source(content), nullptr);
    EXPECT_TRUE(staged.has_value()) << Describe(staged);
    if (!staged) return "";
    auto key = blobs_->Install(*staged);
    EXPECT_TRUE(key.has_value()) << Describe(key);
    return key.value_or("");
  }

  std::vector<fs::path> Temps() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(root_ / "tmp")) {
      out.push_back(e.path());
    }
    return out;
  }

  TempDir tmp_;
  fs::path root_;
  std::unique_ptr<BlobStore> blobs_;
  int sources_ = 0;
};

TEST_F(BlobStoreTest, KeyIsTheXxh3OfTheContent) {
  const std::string key = Put("hello, blob");
  EXPECT_EQ(key, Xxh3Hex("hello, blob"));
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE(blobs_->Exists(key));
  EXPECT_EQ(ReadFile(blobs_->PathOf(key)), "hello, blob");
  EXPECT_TRUE(blobs_->PathOf(key).string().starts_with(root_.string()));
}

TEST_F(BlobStoreTest, InstalledBlobsAreReadOnly) {
  const std::string key = Put("immutable");
  struct stat st;
  ASSERT_EQ(::stat(blobs_->PathOf(key).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
}

TEST_F(BlobStoreTest, EmptyContent) {
  const std::string key = Put("");
  EXPECT_EQ(key, Xxh3Hex(""));
  EXPECT_EQ(fs::file_size(blobs_->PathOf(key)), 0u);
  REGFS_EXPECT_OK(blobs_->Verify(key, 0));
}

TEST_F(BlobStoreTest, SameContentSharesOneBlob) {
  const std::string a = Put("same bytes");
  const std::string b = Put("same bytes");
  EXPECT_EQ(a, b);
  auto keys = blobs_->List();
  REGFS_ASSERT_OK(keys);
  EXPECT_EQ(*keys, std::vector<std::string>{a});
  EXPECT_TRUE(Temps().empty()) << "temporary files left behind";
}

TEST_F(BlobStoreTest, StagedSizeAndDigest) {
  auto staged = blobs_->Stage(Source("12345"), nullptr);
  REGFS_ASSERT_OK(staged);
  EXPECT_EQ(staged->size(), 5u);
  EXPECT_EQ(staged->digest(), Xxh3Hex("12345"));
}

TEST_F(BlobStoreTest, DroppedStageLeavesNoTemporaryFile) {
  {
    auto staged = blobs_->Stage(Source("abandoned"), nullptr);
    REGFS_ASSERT_OK(staged);
    EXPECT_EQ(Temps().size(), 1u);
  }
  EXPECT_TRUE(Temps().empty());
  EXPECT_FALSE(blobs_->Exists(Xxh3Hex("abandoned")));
}

TEST_F(BlobStoreTest, LargeFileStreamsWithProgress) {
  // 5 MiB + 7 bytes: several chunks and a short tail.
  std::string content(5 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < content.size(); ++i) {
    content[i] = static_cast<char>((i * 131) ^ (i >> 9));
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  auto staged = blobs_->Stage(
      Source(content),
      [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  REGFS_ASSERT_OK(staged);
  ASSERT_FALSE(calls.empty());
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_GT(calls[i].first, calls[i - 1].first) << "progress goes forward";
  }
  EXPECT_EQ(calls.back().first, content.size());
  EXPECT_EQ(calls.back().second, content.size());
  auto key = blobs_->Install(*staged);
  REGFS_ASSERT_OK(key);
  EXPECT_EQ(*key, Xxh3Hex(content));
  EXPECT_TRUE(ReadFile(blobs_->PathOf(*key)) == content);
  REGFS_EXPECT_OK(blobs_->Verify(*key, content.size()));
}

TEST_F(BlobStoreTest, StageRefusesWhatIsNotARegularFile) {
  const fs::path dir = tmp_.path() / "adir";
  fs::create_directories(dir);
  EXPECT_FALSE(blobs_->Stage(dir, nullptr).has_value());

  const fs::path link = tmp_.path() / "alink";
  fs::create_symlink(Source("target"), link);
  auto via_link = blobs_->Stage(link, nullptr);
  EXPECT_EQ(CodeOf(via_link), Code::kInvalidArgument) << Describe(via_link);

  auto missing = blobs_->Stage(tmp_.path() / "missing", nullptr);
  EXPECT_EQ(CodeOf(missing), Code::kNotFound) << Describe(missing);
  EXPECT_TRUE(Temps().empty());
}

TEST_F(BlobStoreTest, CollisionNeverMergesDifferentContents) {
  Make([] { return std::make_unique<ConstantHasher>(); });
  const std::string a = Put("first content");
  const std::string b = Put("second, different content");
  const std::string c = Put("third");
  ASSERT_FALSE(a.empty());
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  EXPECT_EQ(BlobStore::DigestOf(a), kConstantDigest);
  EXPECT_EQ(BlobStore::DigestOf(b), kConstantDigest);
  EXPECT_EQ(BlobStore::DigestOf(c), kConstantDigest);
  EXPECT_EQ(ReadFile(blobs_->PathOf(a)), "first content");
  EXPECT_EQ(ReadFile(blobs_->PathOf(b)), "second, different content");
  EXPECT_EQ(ReadFile(blobs_->PathOf(c)), "third");
  // The same content again finds its own blob, whatever its suffix.
  EXPECT_EQ(Put("second, different content"), b);
  EXPECT_EQ(Put("first content"), a);
  EXPECT_EQ(Put("third"), c);
  auto keys = blobs_->List();
  REGFS_ASSERT_OK(keys);
  EXPECT_EQ(keys->size(), 3u);
  REGFS_EXPECT_OK(blobs_->Verify(a, 13));
  REGFS_EXPECT_OK(blobs_->Verify(b, 25));
}

TEST_F(BlobStoreTest, CollisionWithSameSizeContents) {
  // Equal sizes force the byte comparison to find the difference.
  Make([] { return std::make_unique<ConstantHasher>(); });
  const std::string a = Put("aaaaaaaa");
  const std::string b = Put("aaaaaaab");
  EXPECT_NE(a, b);
  EXPECT_EQ(ReadFile(blobs_->PathOf(a)), "aaaaaaaa");
  EXPECT_EQ(ReadFile(blobs_->PathOf(b)), "aaaaaaab");
}

TEST_F(BlobStoreTest, InterleavedStagesOfCollidingContents) {
  // Both staged before either is installed: Install must re-check.
  Make([] { return std::make_unique<ConstantHasher>(); });
  auto x = blobs_->Stage(Source("content x"), nullptr);
  auto y = blobs_->Stage(Source("content y"), nullptr);
  REGFS_ASSERT_OK(x);
  REGFS_ASSERT_OK(y);
  auto kx = blobs_->Install(*x);
  auto ky = blobs_->Install(*y);
  REGFS_ASSERT_OK(kx);
  REGFS_ASSERT_OK(ky);
  EXPECT_NE(*kx, *ky);
  EXPECT_EQ(ReadFile(blobs_->PathOf(*kx)), "content x");
  EXPECT_EQ(ReadFile(blobs_->PathOf(*ky)), "content y");
}

TEST_F(BlobStoreTest, InterleavedStagesOfSameContent) {
  auto x = blobs_->Stage(Source("twin"), nullptr);
  auto y = blobs_->Stage(Source("twin"), nullptr);
  REGFS_ASSERT_OK(x);
  REGFS_ASSERT_OK(y);
  auto kx = blobs_->Install(*x);
  auto ky = blobs_->Install(*y);
  REGFS_ASSERT_OK(kx);
  REGFS_ASSERT_OK(ky);
  EXPECT_EQ(*kx, *ky);
  auto keys = blobs_->List();
  REGFS_ASSERT_OK(keys);
  EXPECT_EQ(keys->size(), 1u);
}

// `regfs gc` asks of each file of a draft whether it is a blob's hard link
// (a publish's leftover) while the draft's owner may be removing it.
TEST_F(BlobStoreTest, KeyOfLinkFindsTheBlobAndTakesAVanishedFileForNone) {
  const std::string key = Put("linked");
  const fs::path link = tmp_.path() / "draft";
  fs::create_hard_link(blobs_->PathOf(key), link);
  auto found = blobs_->KeyOfLink(link);
  REGFS_ASSERT_OK(found);
  EXPECT_EQ(*found, key);
  auto alone = blobs_->KeyOfLink(Source("linked"));
  REGFS_ASSERT_OK(alone);
  EXPECT_FALSE(*alone);
  fs::remove(link);
  auto gone = blobs_->KeyOfLink(link);
  REGFS_ASSERT_OK(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(BlobStoreTest, DigestOf) {
  EXPECT_EQ(BlobStore::DigestOf("00ff"), "00ff");
  EXPECT_EQ(BlobStore::DigestOf("00ff.1"), "00ff");
  EXPECT_EQ(BlobStore::DigestOf("00ff.12"), "00ff");
}

TEST_F(BlobStoreTest, VerifyDetectsCorruption) {
  const std::string key = Put("precious bytes");
  REGFS_EXPECT_OK(blobs_->Verify(key, 14));
  // Wrong expected size.
  EXPECT_EQ(CodeOf(blobs_->Verify(key, 15)), Code::kCorruption);
  // One byte changed, same size.
  const fs::path path = blobs_->PathOf(key);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  auto corrupt = blobs_->Verify(key, 14);
  EXPECT_EQ(CodeOf(corrupt), Code::kCorruption) << Describe(corrupt);
  if (!corrupt) {
    EXPECT_NE(corrupt.error().message.find(key), std::string::npos)
        << corrupt.error().message;
  }
  // Gone.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  auto missing = blobs_->Verify(key, 14);
  EXPECT_FALSE(missing.has_value());
  EXPECT_FALSE(blobs_->Exists(key));
}

TEST_F(BlobStoreTest, ListReturnsEveryKeySorted) {
  std::vector<std::string> keys = {Put("one"), Put("two"), Put("three")};
  std::sort(keys.begin(), keys.end());
  auto listed = blobs_->List();
  REGFS_ASSERT_OK(listed);
  EXPECT_EQ(*listed, keys);
}

TEST_F(BlobStoreTest, CollectRemovesOnlyUnreferenced) {
  const std::string keep = Put("keep me");
  const std::string drop = Put("drop me");
  std::vector<std::string> referenced = {keep};
  auto report = blobs_->Collect(referenced);
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->blobs_removed, 1u);
  EXPECT_EQ(report->bytes_removed, 7u);
  EXPECT_TRUE(blobs_->Exists(keep));
  EXPECT_FALSE(blobs_->Exists(drop));
  EXPECT_EQ(ReadFile(blobs_->PathOf(keep)), "keep me");
}

TEST_F(BlobStoreTest, CollectRemovesAbandonedTempsButNotLiveOnes) {
  // A temporary file nobody holds: left by a killed push.
  WriteFile(root_ / "tmp" / "push-dead01", "half a blob");
  // A push in progress holds its file locked.
  auto live = blobs_->Stage(Source("in flight"), nullptr);
  REGFS_ASSERT_OK(live);
  ASSERT_EQ(Temps().size(), 2u);
  auto report = blobs_->Collect({});
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->temps_removed, 1u);
  EXPECT_FALSE(fs::exists(root_ / "tmp" / "push-dead01"));
  ASSERT_EQ(Temps().size(), 1u);
  // The live push still completes.
  auto key = blobs_->Install(*live);
  REGFS_ASSERT_OK(key);
  EXPECT_EQ(ReadFile(blobs_->PathOf(*key)), "in flight");
}

// Counts the descriptors this process has open.
size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       fs::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

TEST_F(BlobStoreTest, OneStagingAreaHoldsOneDescriptorForAllItsFiles) {
  auto area = blobs_->NewStagingArea();
  REGFS_ASSERT_OK(area);
  const size_t before = OpenDescriptors();
  std::vector<StagedBlob> staged;
  for (int i = 0; i < 50; ++i) {
    auto s = blobs_->Stage(Source("file " + std::to_string(i)), nullptr, *area);
    REGFS_ASSERT_OK(s);
    staged.push_back(std::move(*s));
  }
  EXPECT_EQ(OpenDescriptors(), before) << "no descriptor a staged file";
  ASSERT_EQ(Temps().size(), 1u) << "one directory: the area";
  // gc leaves a live area alone, and its files install.
  auto report = blobs_->Collect({});
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->temps_removed, 0u);
  for (auto& s : staged) REGFS_ASSERT_OK(blobs_->Install(s));
  staged.clear();
  area->reset();
  EXPECT_TRUE(Temps().empty()) << "the area goes with its last file";
}

TEST_F(BlobStoreTest, CollectRemovesTheAreaOfAKilledPush) {
  WriteFile(root_ / "tmp" / "push-dead02" / "blob-aaaaaa", "half");
  WriteFile(root_ / "tmp" / "push-dead02" / "blob-bbbbbb", "a blob");
  auto report = blobs_->Collect({});
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->temps_removed, 2u);
  EXPECT_TRUE(Temps().empty());
}

}  // namespace
}  // namespace regfs::registry
