// fs/mount_table: reading /proc/self/mountinfo, and naming a mount point
// as the kernel does without asking what is mounted there.
#include "fs/mount_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;

class MountTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (stdfs::temp_directory_path() / "regfs-mount-table-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = stdfs::canonical(pattern);
    stdfs::create_directories(dir_ / "real" / "mnt");
  }
  void TearDown() override {
    std::error_code ec;
    stdfs::remove_all(dir_, ec);
  }
  stdfs::path dir_;
};

TEST_F(MountTableTest, TheRootIsMounted) {
  EXPECT_TRUE(MountedDevice("/").has_value());
  EXPECT_FALSE(MountedDevice(dir_ / "real" / "mnt").has_value());
}

TEST_F(MountTableTest, ResolveParentFollowsSymlinksAndTrailingSlashes) {
  const stdfs::path mnt = dir_ / "real" / "mnt";
  EXPECT_EQ(ResolveParent(mnt), mnt);
  EXPECT_EQ(ResolveParent(mnt.string() + "/"), mnt);
  EXPECT_EQ(ResolveParent(mnt.string() + "//"), mnt);
  // A symlinked parent, and `..` after it, as the kernel reads them.
  stdfs::create_directory_symlink(dir_ / "real", dir_ / "link");
  EXPECT_EQ(ResolveParent(dir_ / "link" / "mnt"), mnt);
  stdfs::create_directories(dir_ / "real" / "sub");
  stdfs::create_directory_symlink(dir_ / "real" / "sub", dir_ / "deep");
  EXPECT_EQ(ResolveParent(dir_ / "deep" / ".." / "mnt"), mnt);
  // A symlink as the last component, relative and absolute, chained.
  stdfs::create_directory_symlink("real/mnt", dir_ / "to-mnt");
  EXPECT_EQ(ResolveParent(dir_ / "to-mnt"), mnt);
  stdfs::create_directory_symlink(dir_ / "to-mnt", dir_ / "to-to-mnt");
  EXPECT_EQ(ResolveParent(dir_ / "to-to-mnt"), mnt);
  // A name that does not exist yet stays as it is.
  EXPECT_EQ(ResolveParent(dir_ / "link" / "missing"),
            dir_ / "real" / "missing");
}

}  // namespace
}  // namespace regfs::fs
