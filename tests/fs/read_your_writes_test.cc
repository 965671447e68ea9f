// DESIGN.md "Consistency": a change is visible through every mount of the
// store on the machine by the time the command or syscall that made it
// returns; a hung or dead daemon delays a writer by at most
// registry::kAnnounceDeadline (registry/change_listeners.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "registry/change_listeners.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Link(const stdfs::path& path) {
  std::error_code ec;
  const stdfs::path target = stdfs::read_symlink(path, ec);
  return ec ? "error: " + ec.message() : target.string();
}

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start);
}

// The fixture's mount (A) and a second mount of the same store (B).
class ReadYourWritesTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    mnt2_ = dir_ / "mnt2";
    stdfs::create_directories(mnt2_);
    second_ = std::make_unique<Mount>(store_, mnt2_, dir_ / "mount2.log");
    ASSERT_TRUE(second_->Start());
  }
  void TearDown() override {
    second_.reset();
    MountTest::TearDown();
  }

  stdfs::path B(const std::string& relative) const { return mnt2_ / relative; }
  std::vector<std::string> Sockets() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e :
         stdfs::directory_iterator(store_ / registry::kListenersDir, ec)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }
  RunResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {REGFS_BINARY, "--store", store_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunAs(kRoot, argv);
  }

  stdfs::path mnt2_;
  std::unique_ptr<Mount> second_;
};

TEST_F(ReadYourWritesTest, CliMovesShowAtOnceThroughBothMounts) {
  const char* targets[] = {"v0", "v2", "v1"};
  int stale = 0;
  std::string first_stale;
  for (int i = 0; i < 100; ++i) {
    const std::string target = targets[i % 3];
    const RunResult r = Cli({"alias", "set", "models", "candidate", target});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const stdfs::path& link : {M("models/candidate"), B("models/candidate")}) {
      const std::string got = Link(link);
      if (got != target) {
        if (stale++ == 0) {
          first_stale = link.string() + " -> " + got + ", not " + target;
        }
      }
    }
  }
  EXPECT_EQ(stale, 0) << "first: " << first_stale << DaemonLog();
}

TEST_F(ReadYourWritesTest, MovesThroughOneMountShowAtOnceThroughTheOther) {
  const char* targets[] = {"v0", "v2", "v1"};
  int stale = 0;
  std::string first_stale;
  for (int i = 0; i < 100; ++i) {
    const std::string target = targets[i % 3];
    if (i % 2 == 0) {
      const RunResult r =
          RunAs(kMember, {"ln", "-sfn", target, M("models/candidate").string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    } else {
      // The classic staged move: a dot-named symlink renamed into place.
      const stdfs::path tmp = M("models/.candidate.tmp");
      ASSERT_EQ(::symlink(target.c_str(), tmp.c_str()), 0)
          << std::strerror(errno);
      ASSERT_EQ(::rename(tmp.c_str(), M("models/candidate").c_str()), 0)
          << std::strerror(errno);
    }
    const std::string got = Link(B("models/candidate"));
    if (got != target && stale++ == 0) {
      first_stale = "move " + std::to_string(i) + ": " + got + ", not " + target;
    }
  }
  EXPECT_EQ(stale, 0) << "first: " << first_stale;
}

TEST_F(ReadYourWritesTest, PushThenCatLatestReadsTheNewVersion) {
  for (int i = 3; i < 8; ++i) {
    // Warm both kernels' caches of `latest` and the version it names.
    ASSERT_EQ(ReadFile(M("models/latest")), ReadFile(B("models/latest")));
    const std::string bytes = "model " + std::to_string(i) + "\n";
    const stdfs::path file = Src("next" + std::to_string(i));
    WriteFile(file, bytes);
    const RunResult r = Cli({"push", "models", file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(M("models/latest")), bytes) << "through A, push " << i;
    EXPECT_EQ(ReadFile(B("models/latest")), bytes) << "through B, push " << i;
    EXPECT_EQ(Link(B("models/latest")), "v" + std::to_string(i));
  }
}

TEST_F(ReadYourWritesTest, AFrozenMountDoesNotListen) {
  ASSERT_EQ(Sockets().size(), 2u);
  const stdfs::path frozen = dir_ / "frozen";
  stdfs::create_directories(frozen);
  Mount pinned(store_, frozen, dir_ / "frozen.log",
               {"--as-of", std::to_string(LastSeq())});
  ASSERT_TRUE(pinned.Start());
  EXPECT_EQ(Sockets().size(), 2u);
  EXPECT_EQ(pinned.Stop(), 0);
}

TEST_F(ReadYourWritesTest, AStoppedDaemonDelaysAWriterAtMostTheBound) {
  ASSERT_EQ(Link(B("models/candidate")), "v1");
  ASSERT_EQ(::kill(second_->pid(), SIGSTOP), 0);
  // In this process: the wait itself, without a process start.
  auto start = Clock::now();
  ASSERT_TRUE(reg().SetAlias(root(), "models", "candidate", "v0").has_value());
  const auto took = Since(start);
  EXPECT_GE(took, registry::kAnnounceDeadline - 50ms)
      << "the stopped daemon was not waited for at all";
  EXPECT_LT(took, registry::kAnnounceDeadline + 500ms);
  EXPECT_EQ(Link(M("models/candidate")), "v0") << "the live mount is current";
  // The CLI: the same bound, plus starting a process.
  start = Clock::now();
  const RunResult r = Cli({"alias", "set", "models", "candidate", "v2"});
  const auto cli_took = Since(start);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(cli_took, registry::kAnnounceDeadline + 1500ms);
  EXPECT_EQ(Link(M("models/candidate")), "v2");
  EXPECT_NE(r.err.find("no answer within"), std::string::npos)
      << "the CLI says why it waited: " << r.err;

  ASSERT_EQ(::kill(second_->pid(), SIGCONT), 0);
  const auto caught_up = WaitForLink(B("models/candidate"), "v2", 2000ms);
  EXPECT_TRUE(caught_up.has_value()) << "the resumed daemon catches up";
  EXPECT_EQ(second_->Stop(), 0);
  EXPECT_EQ(Sockets().size(), 1u) << "a stopped daemon removes its socket";
}

TEST_F(ReadYourWritesTest, AKilledDaemonsSocketIsRemovedByTheFirstWrite) {
  ASSERT_EQ(Sockets().size(), 2u);
  const pid_t pid = second_->pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitProcess(pid, 10s).has_value());
  second_->Abandon();
  ForceUnmount(mnt2_);
  ASSERT_EQ(Sockets().size(), 2u) << "a killed daemon leaves its socket";

  auto start = Clock::now();
  ASSERT_TRUE(reg().SetAlias(root(), "models", "candidate", "v0").has_value());
  EXPECT_LT(Since(start), registry::kAnnounceDeadline / 2)
      << "a dead daemon refuses at once";
  EXPECT_EQ(Sockets().size(), 1u) << "the first write removes it";
  EXPECT_EQ(Link(M("models/candidate")), "v0");
  const RunResult r = Cli({"alias", "set", "models", "candidate", "v2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Link(M("models/candidate")), "v2");
}

}  // namespace
}  // namespace regfs::fs::testing
