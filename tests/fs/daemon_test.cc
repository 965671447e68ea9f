// The daemon's life: background start, clean stops, dead mount points,
// option errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class DaemonTest : public MountTest {
 protected:
  RunResult Regfs(std::vector<std::string> args) {
    std::vector<std::string> argv = {REGFS_BINARY, "--store", store_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAs(kRoot, argv);
  }
};

TEST_F(DaemonTest, SigtermUnmountsCleanly) {
  const pid_t pid = mount_->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const auto code = WaitProcess(pid, 5s);
  ASSERT_TRUE(code.has_value()) << "the daemon ignored SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_FALSE(IsMounted(mnt_));
  mount_->Abandon();  // already reaped
}

TEST_F(DaemonTest, BackgroundMountReturnsOnceItAnswers) {
  const stdfs::path mnt2 = dir_ / "mnt2";
  stdfs::create_directories(mnt2);
  const RunResult r =
      Regfs({"mount", mnt2.string(), "--log-file", (dir_ / "bg.log").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(IsMounted(mnt2));
  EXPECT_EQ(ReadFile(mnt2 / "models" / "latest"), "model two\n");
  EXPECT_THAT(ReadFile("/proc/self/mountinfo"), HasSubstr(mnt2.string() + " "));
  EXPECT_THAT(ReadFile("/proc/self/mountinfo"),
              HasSubstr("fuse.regfs " + store_.string()));
  const RunResult umount = RunAs(kRoot, {"fusermount3", "-u", mnt2.string()});
  EXPECT_EQ(umount.exit_code, 0) << umount.err;
  ForceUnmount(mnt2);
  EXPECT_FALSE(IsMounted(mnt2));
}

TEST_F(DaemonTest, BackgroundMountReportsErrors) {
  const RunResult missing = Regfs({"mount", (dir_ / "nope").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nope"));
  const stdfs::path mnt2 = dir_ / "mnt2";
  stdfs::create_directories(mnt2);
  const RunResult bad = Regfs({"mount", mnt2.string(), "-o", "no_such_option"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("regfs:"));
  EXPECT_FALSE(IsMounted(mnt2));
  const RunResult store =
      RunAs(kRoot, {REGFS_BINARY, "--store", (dir_ / "nostore").string(),
                    "mount", mnt2.string()});
  EXPECT_EQ(store.exit_code, 1);
  EXPECT_FALSE(IsMounted(mnt2));
}

TEST_F(DaemonTest, DeadMountPointIsCleanedUp) {
  const pid_t pid = mount_->pid();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  WaitProcess(pid, 5s);
  mount_->Abandon();  // reaped; the mount point stays dead
  struct stat st {};
  ASSERT_NE(::stat(mnt_.c_str(), &st), 0);
  ASSERT_EQ(errno, ENOTCONN);
  const RunResult r =
      Regfs({"mount", mnt_.string(), "--log-file", (dir_ / "bg.log").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("dead mount"));
  EXPECT_EQ(ReadFile(mnt_ / "models" / "latest"), "model two\n");
  RunAs(kRoot, {"fusermount3", "-u", mnt_.string()});
  ForceUnmount(mnt_);
  EXPECT_FALSE(IsMounted(mnt_));
}

TEST_F(DaemonTest, RemountRightAfterAKillReplacesTheDeadMount) {
  // The kernel may still answer stat from its cache just after the daemon
  // dies; the remount must notice the dead mount anyway, not stack on it.
  struct stat st {};
  ASSERT_EQ(::stat(mnt_.c_str(), &st), 0);  // cached attributes
  const pid_t pid = mount_->pid();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  WaitProcess(pid, 5s);
  mount_->Abandon();
  const RunResult r =
      Regfs({"mount", mnt_.string(), "--log-file", (dir_ / "bg.log").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(mnt_ / "models" / "latest"), "model two\n");
  RunAs(kRoot, {"fusermount3", "-u", mnt_.string()});
  ForceUnmount(mnt_);
  EXPECT_FALSE(IsMounted(mnt_)) << "no dead mount left underneath";
}

TEST_F(DaemonTest, ASecondMountOnTheSamePointIsRefused) {
  const RunResult r = Regfs({"mount", mnt_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("already a FUSE mount"));
  EXPECT_EQ(ReadFile(mnt_ / "models" / "latest"), "model two\n");
}

TEST_F(DaemonTest, ManyParallelReaders) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  const std::string v1 = ReadFile(Src("m1"));
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 5; ++j) {
        const std::string name = (i % 2) ? "models/v1" : "models/candidate";
        if (ReadFile(M(name)) != v1) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace regfs::fs::testing
