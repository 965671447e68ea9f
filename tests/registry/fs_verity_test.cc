// fs-verity on a real file system: an ext4 image made with `-O verity`,
// attached to a loop device and mounted, holds a store. Where the kernel
// has fs-verity, every pushed blob must carry it; where it does not
// (CONFIG_FS_VERITY unset), the store must notice, fall back to hashing on
// first open on that same file system, and the test says so by skipping
// loudly after checking the fallback. Needs root, losetup and mkfs.ext4.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
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
using testing::TempDir;

// Runs a shell command; returns its exit status and stdout.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class VerityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "needs root (losetup, mount)";
    image_ = tmp_.path() / "ext4.img";
    mnt_ = tmp_.path() / "mnt";
    fs::create_directories(mnt_);
    auto [mk, mk_out] = Shell("truncate -s 64M " + image_.string() +
                              " && mkfs.ext4 -q -F -O verity " +
                              image_.string());
    ASSERT_EQ(mk, 0) << "mkfs.ext4 -O verity: " << mk_out;
    auto [lo, lo_out] = Shell("losetup -f --show " + image_.string());
    ASSERT_EQ(lo, 0) << "losetup: " << lo_out;
    loop_ = lo_out.substr(0, lo_out.find('\n'));
    if (::mount(loop_.c_str(), mnt_.c_str(), "ext4", 0, nullptr) != 0) {
      mount_error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
  }

  void TearDown() override {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
    if (!loop_.empty()) Shell("losetup -d " + loop_);
  }

  TempDir tmp_;
  fs::path image_, mnt_;
  std::string loop_;
  bool mounted_ = false;
  std::string mount_error_;
};

TEST_F(VerityTest, BlobsGetFsVerityOrTheStoreFallsBackToHashing) {
  if (!mounted_) {
    GTEST_SKIP() << "kernel lacks CONFIG_FS_VERITY: it refuses to mount an "
                    "ext4 file system with the verity feature read-write ("
                 << mount_error_ << ")";
  }
  const fs::path store = mnt_ / "store";
  auto reg = Registry::Init(store, Owner());
  REGFS_ASSERT_OK(reg);
  const fs::path source = tmp_.path() / "model.bin";
  std::ofstream(source) << std::string(1 << 20, 'm') << "end";
  PushRequest r;
  r.collection = "m";
  r.paths = {source};
  auto v = (*reg)->Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  const fs::path blob = (*reg)->BlobPath(v->blob);

  auto fd = (*reg)->OpenBlob(v->blob);
  REGFS_ASSERT_OK(fd);
  const bool verity = HasVerity(fd->get());
  fd->Reset();
  auto report = (*reg)->Fsck({.repair = true});
  REGFS_ASSERT_OK(report);
  EXPECT_TRUE(report->clean()) << ::testing::PrintToString(report->problems);
  ASSERT_TRUE(report->verity_supported.has_value());
  EXPECT_EQ(*report->verity_supported, verity);

  if (verity) {
    // The kernel protects it: not even root may write to it.
    EXPECT_LT(::open(blob.c_str(), O_WRONLY), 0);
    EXPECT_EQ(report->verity_blobs, 1u);
    return;
  }

  // The fallback, on this same file system: a flipped byte is refused.
  EXPECT_EQ(report->verity_blobs, 0u);
  ASSERT_EQ(::chmod(blob.c_str(), 0644), 0);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('X');
  }
  reg->reset();
  auto reopened = Registry::Open(store);
  REGFS_ASSERT_OK(reopened);
  auto bad = (*reopened)->OpenBlob(v->blob);
  EXPECT_EQ(CodeOf(bad), Code::kCorruption) << Describe(bad);
  reopened->reset();
  GTEST_SKIP() << "kernel lacks CONFIG_FS_VERITY: FS_IOC_ENABLE_VERITY "
                  "returned EOPNOTSUPP on ext4 with the verity feature; "
                  "checked the fallback (hash on first open) there instead";
}

}  // namespace
}  // namespace regfs::registry
