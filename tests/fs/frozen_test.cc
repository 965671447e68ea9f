// A frozen mount is frozen (issue #11, item 9): everything in a mount made
// with `regfs mount --as-of K`, its history files and `.regfs/at/` included,
// is as it was right after event K; `alias@{N}` counts back from the view's
// moment; a moment in the future is refused, by the mount and the CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;

std::string Link(const stdfs::path& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return "errno " + std::to_string(errno);
  return std::string(buf, static_cast<size_t>(n));
}

int StatErrno(const stdfs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

int LstatErrno(const stdfs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? 0 : errno;
}

// The `seq` of each JSON line of a history file.
std::vector<uint64_t> Seqs(const std::string& text) {
  std::vector<uint64_t> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    out.push_back(nlohmann::json::parse(line).at("seq").get<uint64_t>());
  }
  return out;
}

// The live mount of MountTest, and a second mount of the same store frozen
// right after production moved from v1 to v2 (event K). After it, through
// the CLI: production moves to v0, an alias `fresh` is made, v3 is pushed.
class FrozenTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(reg().SetAlias(root(), "models", "production", "v2"));
    k_ = LastSeq();
    frozen_ = dir_ / "frozen";
    stdfs::create_directories(frozen_);
    pinned_ = std::make_unique<Mount>(store_, frozen_, dir_ / "frozen.log",
                                      std::vector<std::string>{
                                          "--as-of", std::to_string(k_)});
    ASSERT_TRUE(pinned_->Start());
    Cli({"alias", "set", "models", "production", "v0"});
    Cli({"alias", "set", "models", "fresh", "v1"});
    Cli({"push", "models", Src("m0").string()});
    ASSERT_GT(LastSeq(), k_ + 2);
    ASSERT_TRUE(WaitForLink(M("models/production"), "v0", 3000ms))
        << DaemonLog();
  }
  void TearDown() override {
    if (pinned_) {
      EXPECT_EQ(pinned_->Stop(), 0) << FrozenLog();
    }
    MountTest::TearDown();
  }

  RunResult Cli(const std::vector<std::string>& args, bool ok = true) {
    std::vector<std::string> argv = {REGFS_BINARY, "--store", store_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunAs(kRoot, argv);
    if (ok) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    return r;
  }
  stdfs::path F(const std::string& relative) const { return frozen_ / relative; }
  std::string FrozenLog() const {
    return ReadFile(dir_ / "frozen.log") +
           ReadFile(dir_ / "frozen.log.stderr");
  }
  // Polls the frozen mount's log for `text` (the logger may flush late).
  bool FrozenLogHas(const std::string& text) const {
    for (int i = 0; i < 50; ++i) {
      if (FrozenLog().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  uint64_t k_ = 0;
  stdfs::path frozen_;
  std::unique_ptr<Mount> pinned_;
};

TEST_F(FrozenTest, HistoryFilesEndAtTheMoment) {
  const std::vector<uint64_t> all = Seqs(ReadFile(F(".regfs/history")));
  ASSERT_EQ(all.size(), k_) << "every event up to K, gap-free";
  EXPECT_EQ(all.back(), k_);
  const std::vector<uint64_t> models = Seqs(ReadFile(F("models/.history")));
  ASSERT_FALSE(models.empty());
  EXPECT_EQ(models.back(), k_) << "K moved models/production";
  EXPECT_EQ(Seqs(ReadFile(M(".regfs/history"))).back(), LastSeq())
      << "the live mount shows everything";
  struct stat st {};
  ASSERT_EQ(::stat(F("models/.history").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size),
            ReadFile(F("models/.history")).size());
}

TEST_F(FrozenTest, AtNowIsTheFrozenMoment) {
  EXPECT_EQ(Link(F(".regfs/at/now/models/production")), "v2") << FrozenLog();
  EXPECT_EQ(Link(M(".regfs/at/now/models/production")), "v0");
  EXPECT_EQ(LstatErrno(F(".regfs/at/now/models/fresh")), ENOENT);
  EXPECT_EQ(LstatErrno(F(".regfs/at/now/models/v3")), ENOENT);
  EXPECT_EQ(StatErrno(F(".regfs/at/now/models/v2")), 0)
      << "a version link of the frozen moment is not dangling";
  EXPECT_EQ(ReadFile(F(".regfs/at/now/models/production")),
            ReadFile(F("models/v2")));
  const std::string k = std::to_string(k_);
  EXPECT_EQ(Link(F(".regfs/at/" + k + "/models/production")), "v2");
  EXPECT_EQ(Link(F(".regfs/at/" + std::to_string(k_ - 1) +
                   "/models/production")),
            "v1")
      << "the frozen mount may still go back";
}

TEST_F(FrozenTest, LaterAndFutureMomentsAreNotThere) {
  struct Case {
    std::string moment;
    std::string logged;  // part of the daemon's log line
  };
  const std::vector<Case> cases = {
      {std::to_string(k_ + 1), "frozen at"},
      {std::to_string(LastSeq()), "frozen at"},
      {std::to_string(LastSeq() + 1000), "in the future"},
      {"2099-01-01", "in the future"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.moment);
    EXPECT_EQ(LstatErrno(F(".regfs/at/" + c.moment)), ENOENT);
    EXPECT_TRUE(FrozenLogHas(".regfs/at/" + c.moment)) << FrozenLog();
    EXPECT_TRUE(FrozenLogHas(c.logged)) << FrozenLog();
  }
  EXPECT_EQ(LstatErrno(M(".regfs/at/2099-01-01")), ENOENT)
      << "a live mount refuses the future too";
  EXPECT_NE(DaemonLog().find("in the future"), std::string::npos)
      << DaemonLog();
  EXPECT_EQ(Link(M(".regfs/at/" + std::to_string(k_ + 1) +
                   "/models/production")),
            "v0")
      << "a live mount shows every past event";
}

TEST_F(FrozenTest, ReflogCountsBackFromTheViewsMoment) {
  const std::string at_k = ".regfs/at/" + std::to_string(k_) + "/models/";
  struct Case {
    stdfs::path path;
    std::string target;  // or "errno N"
  };
  const std::vector<Case> cases = {
      // production: v1 (created), v2 (event K), v0 (after the freeze).
      {F("models/production@{0}"), "v2"},
      {F("models/production@{1}"), "v1"},
      {F("models/production@{2}"), "errno " + std::to_string(ENOENT)},
      {F(at_k + "production@{1}"), "v1"},
      {M(at_k + "production@{0}"), "v2"},
      {M(at_k + "production@{1}"), "v1"},
      {M("models/production@{1}"), "v2"},
      {M("models/production@{2}"), "v1"},
      {F("models/latest@{1}"), "v1"},
      {F("models/fresh@{0}"), "errno " + std::to_string(ENOENT)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Link(c.path), c.target) << c.path << "\n" << FrozenLog();
  }
  EXPECT_EQ(ReadFile(F("models/production@{1}")), ReadFile(M("models/v1")));
  EXPECT_EQ(ReadFile(F(at_k + "production@{1}")), ReadFile(M("models/v1")));
}

TEST_F(FrozenTest, CliRefusesTheFuture) {
  RunResult r = Cli({"resolve", "--at", "2099-01-01", "models/production"},
                    /*ok=*/false);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("in the future"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  for (const std::string& moment : {std::string("999999"),
                                   std::string("2099-01-01")}) {
    SCOPED_TRACE(moment);
    const stdfs::path mnt = dir_ / "refused";
    stdfs::create_directories(mnt);
    r = Cli({"mount", mnt.string(), "-f", "--as-of", moment}, /*ok=*/false);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("in the future"), std::string::npos) << r.err;
    EXPECT_FALSE(IsMounted(mnt));
  }
}

}  // namespace
}  // namespace regfs::fs::testing
