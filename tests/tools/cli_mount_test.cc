// `regfs mount`, end to end through the command line: the daemon starts,
// serves the store, follows changes made by the CLI, and unmounts. The
// file system's behaviour in depth is tested in tests/fs. Label: fuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;

std::string ReadLink(const stdfs::path& link) {
  std::error_code ec;
  const stdfs::path target = stdfs::read_symlink(link, ec);
  return ec ? "" : target.string();
}

class CliMountTest : public CliTest {
 protected:
  void SetUp() override {
    // CI has /dev/fuse; never pass by skipping.
    struct stat fuse_dev {};
    ASSERT_EQ(::stat("/dev/fuse", &fuse_dev), 0)
        << "/dev/fuse is missing: the mount tests cannot run (load the fuse "
           "module, or give the container --device /dev/fuse)";
    ASSERT_TRUE(S_ISCHR(fuse_dev.st_mode)) << "/dev/fuse is not a device";
    ASSERT_EQ(access("/dev/fuse", R_OK | W_OK), 0)
        << "/dev/fuse is not readable and writable: " << std::strerror(errno);
    CliTest::SetUp();
    mountpoint_ = dir() / "mnt";
    stdfs::create_directory(mountpoint_);
  }

  // Never leave a mount behind, nor remove files through one.
  void TearDown() override {
    UnmountIfMounted(mountpoint_);
    CliTest::TearDown();
  }

  stdfs::path mountpoint_;
};

TEST_F(CliMountTest, MountServesTheStoreAndFollowsTheCli) {
  const std::string model = WriteFile("model.pt", "zero");
  Ok({"push", "models", model});
  WriteFile("model.pt", "one");
  Ok({"push", "models", model, "--alias", "production"});

  // Returns once the mount answers, the daemon serving in the background.
  const RunResult mounted = Regfs({"mount", mountpoint_.string()});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));

  const stdfs::path models = mountpoint_ / "models";
  EXPECT_EQ(ReadLink(models / "latest"), "v1");
  EXPECT_EQ(ReadLink(models / "production"), "v1");
  EXPECT_EQ(ReadFile(models / "production"), "one");
  EXPECT_EQ(ReadFile(models / "v0"), "zero");

  // A change made with the CLI shows within a second.
  Ok({"alias", "set", "models", "production", "v0"});
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (ReadLink(models / "production") != "v0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ReadLink(models / "production"), "v0");

  const std::string command = "fusermount3 -u '" + mountpoint_.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_FALSE(IsMounted(mountpoint_));
}

// -o reaches libfuse, except default_permissions: the kernel would then
// check modes itself, while the registry must decide who may change what.
// The daemon drops it and says so in its log.
TEST_F(CliMountTest, MountOptionsReachTheDaemon) {
  Ok({"push", "models", WriteFile("m", "x")});
  const RunResult mounted =
      Regfs({"mount", mountpoint_.string(), "-o", "ro,default_permissions"});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));
  std::ifstream mounts("/proc/self/mountinfo");
  std::string info;
  for (std::string line; std::getline(mounts, line);) {
    if (line.find(" " + mountpoint_.string() + " ") != std::string::npos) {
      info = line;
    }
  }
  EXPECT_THAT(info, ::testing::HasSubstr(" ro"));
  EXPECT_THAT(info, ::testing::HasSubstr(" - fuse.regfs "));
  EXPECT_THAT(info, ::testing::Not(::testing::HasSubstr("default_permissions")))
      << info;
  EXPECT_THAT(ReadFile(store() / "regfs-mount.log"),
              ::testing::HasSubstr("ignoring -o default_permissions"));
  EXPECT_EQ(ReadFile(mountpoint_ / "models" / "v0"), "x");
}

// The path `resolve --path` prints is the version in the mount.
TEST_F(CliMountTest, ResolvePathNamesTheVersionInTheMount) {
  const std::string model = WriteFile("model.pt", "zero");
  Ok({"push", "models", model, "--alias", "production"});
  WriteFile("model.pt", "one");
  Ok({"push", "models", model});
  Ok({"alias", "set", "models", "production", "v1"});
  const RunResult mounted = Regfs({"mount", mountpoint_.string()});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));

  std::string path =
      Ok({"resolve", "models/production@{1}", "--path", mountpoint_.string()});
  ASSERT_TRUE(path.ends_with("\n")) << path;
  path.pop_back();
  EXPECT_EQ(path, (mountpoint_ / "models" / "v0").string());
  EXPECT_EQ(ReadFile(path), "zero");
  path = Ok({"resolve", "models/production", "--path", mountpoint_.string()});
  path.pop_back();
  EXPECT_EQ(ReadFile(path), "one");
}

// The daemon's log is bounded: past 10 MiB it moves to regfs-mount.1.log
// and a new one starts (at most 3 old ones are kept).
TEST_F(CliMountTest, DaemonLogIsRotatedAtTenMebibytes) {
  Ok({"push", "models", WriteFile("m", "x")});
  const stdfs::path log = store() / "regfs-mount.log";
  const std::string old_log(10 * 1024 * 1024, '#');
  {
    std::ofstream out(log, std::ios::binary);
    out << old_log;
  }
  const RunResult mounted = Regfs({"mount", mountpoint_.string()});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));
  const std::string command = "fusermount3 -u '" + mountpoint_.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const stdfs::path rotated = store() / "regfs-mount.1.log";
  ASSERT_TRUE(stdfs::exists(rotated));
  EXPECT_EQ(stdfs::file_size(rotated), old_log.size());
  EXPECT_LT(stdfs::file_size(log), 64u * 1024);
  EXPECT_THAT(ReadFile(log), ::testing::HasSubstr("mounted "));
}

// A store that cannot be opened is named once, not twice.
TEST_F(CliMountTest, AStoreThatCannotBeOpenedIsNamedOnce) {
  const stdfs::path missing = dir() / "no-store";
  const RunResult r =
      RunRegfs({"--store", missing.string(), "mount", mountpoint_.string()});
  EXPECT_NE(r.exit_code, 0);
  const std::string name = missing.string();
  const size_t first = r.err.find(name);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(name, first + 1), std::string::npos) << r.err;
  EXPECT_FALSE(IsMounted(mountpoint_));
}

}  // namespace
}  // namespace regfs::tools::testing
