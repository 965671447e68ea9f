// The daemon's life: background start, clean stops, dead mount points,
// option errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
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

// The daemon's only child is its watchdog (fs/watchdog.h).
std::optional<pid_t> WatchdogOf(pid_t daemon) {
  const std::string children =
      ReadFile(fmt::format("/proc/{}/task/{}/children", daemon, daemon));
  if (children.empty()) return std::nullopt;
  return static_cast<pid_t>(std::stol(children));
}

bool ProcessGone(pid_t pid, std::chrono::seconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    // Reparented to init, which reaps it; a zombie counts as gone.
    const std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
    const size_t paren = stat.rfind(')');
    if (stat.empty() ||
        (paren != std::string::npos && stat.compare(paren + 2, 1, "Z") == 0)) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(DaemonTest, TheWatchdogLeavesQuietlyOnACleanStop) {
  const pid_t pid = mount_->pid();
  const std::optional<pid_t> watchdog = WatchdogOf(pid);
  ASSERT_TRUE(watchdog.has_value()) << "the daemon has no watchdog";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_TRUE(WaitProcess(pid, 5s).has_value());
  mount_->Abandon();
  // The daemon reaps it before it exits.
  EXPECT_TRUE(ProcessGone(*watchdog, 1s));
  EXPECT_THAT(DaemonLog(), ::testing::Not(HasSubstr("died without")));
}

TEST_F(DaemonTest, TheWatchdogAbortsTheConnectionOfAKilledDaemon) {
  const pid_t pid = mount_->pid();
  const std::optional<pid_t> watchdog = WatchdogOf(pid);
  ASSERT_TRUE(watchdog.has_value()) << "the daemon has no watchdog";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  WaitProcess(pid, 20s);
  mount_->Abandon();
  EXPECT_TRUE(ProcessGone(*watchdog, 10s));
  // Aborted by the watchdog, or by the kernel when the last descriptor of
  // the dead daemon closed first.
  EXPECT_THAT(DaemonLog(), HasSubstr("died without unmounting"));
  struct stat st {};
  EXPECT_NE(::stat((mnt_ / "models").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOTCONN);
  ForceUnmount(mnt_);
}

// A FUSE mount whose server never reads a request (as a killed daemon
// stuck in the kernel leaves it): `regfs mount` on it must say so and the
// command that frees it, not wait for ever.
TEST_F(DaemonTest, AMountThatDoesNotAnswerIsReportedNotWaitedOn) {
  const stdfs::path stuck = dir_ / "stuck";
  stdfs::create_directories(stuck);
  const int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string options =
      fmt::format("fd={},rootmode=40000,user_id=0,group_id=0", fd);
  ASSERT_EQ(::mount("stuck", stuck.c_str(), "fuse.stuck", 0, options.c_str()),
            0)
      << std::strerror(errno);
  const RunResult r = Regfs({"mount", stuck.string()});
  ::close(fd);  // the last descriptor: the kernel aborts the connection
  ::umount2(stuck.c_str(), MNT_DETACH);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("does not answer"));
  EXPECT_THAT(r.err, HasSubstr("umount -f " + stuck.string()));
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
