// Corrupt and missing blobs: OpenVerified refuses them (Corruption, which
// the mount answers with EIO), verifies each blob once however many open
// it at once, fsck names the versions they belong to, VerifyVersion checks
// on demand, and fsck --repair reports fs-verity as the file system allows.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "registry/fs_verity.h"
#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::WriteFile;

// Flips one byte of `path` in place (a bit rot the file system missed).
void FlipByte(const fs::path& path, std::streamoff at) {
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  f.seekg(at);
  const char c = static_cast<char>(f.get());
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x20));
  ASSERT_TRUE(f.good());
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
}

class IntegrityTest : public RegistryTest {
 protected:
  Version PushTree() {
    WriteFile(src() / "t" / "sub" / "deep.bin", "deep content");
    WriteFile(src() / "t" / "top.bin", "top content");
    PushRequest r;
    r.collection = "zoo";
    r.paths = {src() / "t"};
    auto v = reg().Push(Owner(), r);
    EXPECT_TRUE(v.has_value()) << Describe(v);
    return *v;
  }
  std::string TreeBlob(const Version& v, const std::string& dir,
                       const std::string& name) {
    int64_t parent = 0;
    if (!dir.empty()) parent = reg().LookupTree(v.id, 0, dir)->id;
    return reg().LookupTree(v.id, parent, name)->blob;
  }
};

TEST_F(IntegrityTest, OpenBlobServesAnIntactBlob) {
  auto v = PushContent(Owner(), "m", "precious model weights");
  REGFS_ASSERT_OK(v);
  auto fd = reg().OpenBlob(v->blob);
  REGFS_ASSERT_OK(fd);
  EXPECT_EQ(ReadAll(fd->get()), "precious model weights");
  auto again = reg().OpenBlob(v->blob);  // remembered: no second hash
  REGFS_ASSERT_OK(again);
}

TEST_F(IntegrityTest, OpenBlobRefusesACorruptOrMissingBlob) {
  auto bad = PushContent(Owner(), "m", "precious model weights");
  auto gone = PushContent(Owner(), "m", "soon gone");
  auto good = PushContent(Owner(), "m", "untouched");
  REGFS_ASSERT_OK(bad);
  REGFS_ASSERT_OK(gone);
  REGFS_ASSERT_OK(good);
  FlipByte(reg().BlobPath(bad->blob), 5);
  ASSERT_TRUE(fs::remove(reg().BlobPath(gone->blob)));

  auto fd = reg().OpenBlob(bad->blob);
  ASSERT_EQ(CodeOf(fd), Code::kCorruption) << Describe(fd);
  EXPECT_NE(fd.error().message.find(bad->blob), std::string::npos);
  EXPECT_NE(fd.error().message.find("content changed"), std::string::npos);
  // Not remembered as good: refused again.
  EXPECT_EQ(CodeOf(reg().OpenBlob(bad->blob)), Code::kCorruption);

  auto missing = reg().OpenBlob(gone->blob);
  ASSERT_EQ(CodeOf(missing), Code::kCorruption) << Describe(missing);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);

  REGFS_EXPECT_OK(reg().OpenBlob(good->blob));
}

TEST_F(IntegrityTest, ABlobCorruptedAfterPushIsCaughtByANewProcess) {
  auto v = PushContent(Owner(), "m", "precious model weights");
  REGFS_ASSERT_OK(v);
  REGFS_ASSERT_OK(reg().OpenBlob(v->blob));
  FlipByte(reg().BlobPath(v->blob), 0);
  Reopen();  // what a new daemon sees
  EXPECT_EQ(CodeOf(reg().OpenBlob(v->blob)), Code::kCorruption);
}

TEST_F(IntegrityTest, ConcurrentFirstOpensHashABlobOnce) {
  auto hashers = std::make_shared<std::atomic<int>>(0);
  OpenOptions counting;
  counting.hasher = [hashers] {
    hashers->fetch_add(1);
    return NewXxh3Hasher();
  };
  Reopen(counting);
  auto v = PushContent(Owner(), "m", std::string(8 << 20, 'w'));
  REGFS_ASSERT_OK(v);
  Reopen(counting);  // nothing verified yet in this process
  hashers->store(0);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (reg().OpenBlob(v->blob).has_value()) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(hashers->load(), 1) << "eight first opens, one hash";
}

TEST_F(IntegrityTest, FsckNamesTheVersionsOfACorruptOrMissingBlob) {
  auto shared0 = PushContent(Owner(), "m", "shared weights");
  auto other = PushContent(Owner(), "m", "other weights");
  auto shared2 = PushContent(Owner(), "m", "shared weights");  // same blob
  REGFS_ASSERT_OK(shared0);
  REGFS_ASSERT_OK(other);
  REGFS_ASSERT_OK(shared2);
  const Version tree = PushTree();
  FlipByte(reg().BlobPath(shared0->blob), 1);
  ASSERT_TRUE(fs::remove(reg().BlobPath(TreeBlob(tree, "sub", "deep.bin"))));

  auto report = reg().Fsck();
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->affected, (std::vector<std::string>{
                                  "m/v0", "m/v2", "zoo/v0/sub/deep.bin"}));
  ASSERT_EQ(report->problems.size(), 2u)
      << ::testing::PrintToString(report->problems);
  bool named = false;
  for (const auto& p : report->problems) {
    if (p.find(shared0->blob) != std::string::npos) {
      named = p.find("(in m/v0, m/v2)") != std::string::npos;
    }
  }
  EXPECT_TRUE(named) << ::testing::PrintToString(report->problems);
}

TEST_F(IntegrityTest, VerifyVersionChecksFilesAndTrees) {
  auto good = PushContent(Owner(), "m", "good");
  auto bad = PushContent(Owner(), "m", "bad soon");
  REGFS_ASSERT_OK(good);
  REGFS_ASSERT_OK(bad);
  const Version tree = PushTree();
  REGFS_EXPECT_OK(reg().VerifyVersion("m", 0));
  REGFS_EXPECT_OK(reg().VerifyVersion("m", 1));
  REGFS_EXPECT_OK(reg().VerifyVersion("zoo", 0));

  FlipByte(reg().BlobPath(bad->blob), 2);
  FlipByte(reg().BlobPath(TreeBlob(tree, "", "top.bin")), 0);
  REGFS_EXPECT_OK(reg().VerifyVersion("m", 0));
  auto s = reg().VerifyVersion("m", 1);
  ASSERT_EQ(CodeOf(s), Code::kCorruption) << Describe(s);
  EXPECT_EQ(s.error().message.rfind("m/v1: blob " + bad->blob, 0), 0u)
      << s.error().message;
  auto t = reg().VerifyVersion("zoo", 0);
  ASSERT_EQ(CodeOf(t), Code::kCorruption) << Describe(t);
  EXPECT_EQ(t.error().message.rfind("zoo/v0/top.bin: blob ", 0), 0u)
      << t.error().message;
  EXPECT_EQ(CodeOf(reg().VerifyVersion("m", 7)), Code::kNotFound);
}

TEST_F(IntegrityTest, FsckRepairReportsFsVerityAsTheFileSystemAllows) {
  auto a = PushContent(Owner(), "m", "first");
  auto b = PushContent(Owner(), "m", "second");
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(b);
  Reopen();  // forget what the pushes learnt about fs-verity
  auto report = reg().Fsck({.repair = true});
  REGFS_ASSERT_OK(report);
  EXPECT_TRUE(report->clean()) << ::testing::PrintToString(report->problems);
  ASSERT_TRUE(report->verity_supported.has_value());
  const int fd = ::open(reg().BlobPath(a->blob).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  if (*report->verity_supported) {
    EXPECT_EQ(report->verity_blobs, 2u);
    EXPECT_TRUE(HasVerity(fd));
  } else {
    EXPECT_EQ(report->verity_blobs, 0u);
    EXPECT_FALSE(HasVerity(fd));
  }
  ::close(fd);
  struct stat st;
  ASSERT_EQ(::stat(reg().BlobPath(a->blob).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u) << "blobs stay read-only";
}

}  // namespace
}  // namespace regfs::registry
