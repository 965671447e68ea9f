// Pinned and time-travel views (DESIGN.md "Consistency"): .regfs/at/<moment>/
// inside a live mount, <collection>/<alias>@{N}, and a whole mount frozen
// with `regfs mount --as-of`. All read-only.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;

// readlink(2), or "errno N" on failure.
std::string Link(const stdfs::path& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return "errno " + std::to_string(errno);
  return std::string(buf, static_cast<size_t>(n));
}

// 0 or errno of lstat.
int LstatErrno(const stdfs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? 0 : errno;
}

// The names in a directory, without . and ..; {"errno N"} on failure.
std::set<std::string> Names(const stdfs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {"errno " + std::to_string(errno)};
  std::set<std::string> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.insert(name);
  }
  ::closedir(d);
  return out;
}

class PastTest : public MountTest {
 protected:
  // Moves production (protected; root is an admin) from v1 to v2 through
  // the registry, as another client would; returns the seq before it.
  uint64_t MoveProduction() {
    const uint64_t before = LastSeq();
    auto moved = reg().SetAlias(root(), "models", "production", "v2");
    EXPECT_TRUE(moved.has_value()) << moved.error().message;
    return before;
  }
  stdfs::path At(const std::string& moment, const std::string& rest = "") {
    return M(".regfs/at/" + moment + (rest.empty() ? "" : "/" + rest));
  }
};

TEST_F(PastTest, AtEventShowsAliasesAsTheyWere) {
  const uint64_t before = MoveProduction();
  const std::string m = std::to_string(before);
  ASSERT_TRUE(WaitForLink(M("models/production"), "v2", 3000ms))
      << DaemonLog();
  EXPECT_EQ(Link(At(m, "models/production")), "v1") << DaemonLog();
  EXPECT_EQ(Link(At(std::to_string(LastSeq()), "models/production")), "v2");
  EXPECT_EQ(ReadFile(At(m, "models/production")), ReadFile(M("models/v1")))
      << "a past alias reads the version it named then";
  EXPECT_EQ(Link(At(m, "models/v1")), "../../../../models/v1");
  EXPECT_EQ(Names(At(m, "models")),
            (std::set<std::string>{"candidate", "latest", "production", "v0",
                                   "v1", "v2"}));
  EXPECT_EQ(Names(At(m)), (std::set<std::string>{"models", "zoo"}));
  struct stat st {};
  ASSERT_EQ(::stat(At(m, "zoo/latest").c_str(), &st), 0) << DaemonLog();
  EXPECT_TRUE(S_ISDIR(st.st_mode)) << "a tree version through a past alias";
  EXPECT_EQ(ReadFile(At(m, "zoo/latest/docs/readme.txt")),
            ReadFile(M("zoo/v0/docs/readme.txt")));
}

TEST_F(PastTest, AtTimeAndBadMoments) {
  MoveProduction();
  // A time after every event, but not in the future, shows the present:
  // a millisecond after the one the move was stamped in (a move can
  // return within it), once it has passed.
  const registry::TimeMs after = registry::NowMs() + 1;
  while (registry::NowMs() <= after) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(Link(At(registry::FormatTime(after), "models/production")), "v2")
      << DaemonLog();
  EXPECT_EQ(LstatErrno(At("2999-01-01T00:00:00Z")), ENOENT)
      << "a time in the future is no moment";
  // Before the first event: an empty registry.
  EXPECT_EQ(Names(At("2000-01-01")), std::set<std::string>{});
  EXPECT_EQ(LstatErrno(At("2000-01-01", "models")), ENOENT);
  EXPECT_EQ(LstatErrno(At("yesterday")), ENOENT);
  EXPECT_EQ(LstatErrno(At(std::to_string(LastSeq() + 100))), ENOENT);
  EXPECT_EQ(LstatErrno(At("1", "models/production")), ENOENT)
      << "production did not exist after the first event";
  EXPECT_EQ(Names(M(".regfs/at")), std::set<std::string>{})
      << "moments are looked up by name, not listed";
}

TEST_F(PastTest, PastViewsAreReadOnly) {
  const std::string m = std::to_string(LastSeq());
  EXPECT_EQ(::symlink("v0", At(m, "models/new").c_str()) == 0 ? 0 : errno,
            EROFS);
  EXPECT_EQ(::unlink(At(m, "models/candidate").c_str()) == 0 ? 0 : errno,
            EROFS);
  EXPECT_EQ(::mkdir(At(m, "newcoll").c_str(), 0755) == 0 ? 0 : errno, EROFS);
  EXPECT_EQ(::rename(At(m, "models/candidate").c_str(),
                     At(m, "models/other").c_str()) == 0
                ? 0
                : errno,
            EROFS);
  EXPECT_EQ(::unlink(M("models/production@{0}").c_str()) == 0 ? 0 : errno,
            EROFS);
  EXPECT_EQ(AliasTarget("models", "candidate"), "v1") << "nothing changed";
}

TEST_F(PastTest, ReflogNamesGiveEarlierTargets) {
  MoveProduction();
  ASSERT_TRUE(WaitForLink(M("models/production"), "v2", 3000ms));
  EXPECT_EQ(Link(M("models/production@{0}")), "v2");
  EXPECT_EQ(Link(M("models/production@{1}")), "v1") << DaemonLog();
  EXPECT_EQ(ReadFile(M("models/production@{1}")), ReadFile(M("models/v1")));
  EXPECT_EQ(LstatErrno(M("models/production@{5}")), ENOENT);
  EXPECT_EQ(LstatErrno(M("models/nosuch@{1}")), ENOENT);
  EXPECT_EQ(Link(M("models/latest@{1}")), "v1");
  EXPECT_EQ(Names(M("models")).count("production@{1}"), 0u)
      << "reflog names are looked up, not listed";

  // After another move, production@{1} names the new previous target.
  ASSERT_TRUE(reg().SetAlias(root(), "models", "production", "v0"));
  ASSERT_TRUE(WaitForLink(M("models/production@{1}"), "v2", 3000ms))
      << DaemonLog();
  EXPECT_EQ(Link(M("models/production@{2}")), "v1");
}

TEST_F(PastTest, FrozenMountKeepsItsMoment) {
  const uint64_t frozen_at = LastSeq();
  const stdfs::path frozen = dir_ / "frozen";
  stdfs::create_directories(frozen);
  Mount pinned(store_, frozen, dir_ / "frozen.log",
               {"--as-of", std::to_string(frozen_at)});
  ASSERT_TRUE(pinned.Start());
  const std::string v1 = ReadFile(M("models/v1"));

  // A job opens the pinned alias; the live alias moves; a version is added.
  const int fd = ::open((frozen / "models/production").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  MoveProduction();
  ASSERT_TRUE(
      reg().CreateAlias(root(), "models", "fresh", "v0").has_value());
  ASSERT_TRUE(WaitForLink(M("models/production"), "v2", 3000ms));

  EXPECT_EQ(Link(frozen / "models/production"), "v1")
      << ReadFile(dir_ / "frozen.log");
  EXPECT_EQ(ReadFile(frozen / "models/production"), v1);
  std::string head(16, '\0');
  ASSERT_EQ(::pread(fd, head.data(), head.size(), 0),
            static_cast<ssize_t>(head.size()));
  EXPECT_EQ(head, v1.substr(0, 16));
  ::close(fd);
  EXPECT_EQ(LstatErrno(frozen / "models/fresh"), ENOENT)
      << "an alias made after the moment";
  EXPECT_EQ(Names(frozen / "models").count("fresh"), 0u);

  // Read-only: the kernel refuses changes on a read-only mount.
  EXPECT_EQ(::symlink("v0", (frozen / "models/x").c_str()) == 0 ? 0 : errno,
            EROFS);
  EXPECT_EQ(::unlink((frozen / "models/candidate").c_str()) == 0 ? 0 : errno,
            EROFS);
  EXPECT_EQ(pinned.Stop(), 0);
}

TEST_F(PastTest, FrozenMountRefusesABadMoment) {
  const stdfs::path frozen = dir_ / "frozen";
  stdfs::create_directories(frozen);
  RunResult r = RunAs(kRoot, {REGFS_BINARY, "--store", store_.string(),
                              "mount", frozen.string(), "-f", "--as-of",
                              "yesterday"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("yesterday"), std::string::npos) << r.err;
  EXPECT_FALSE(IsMounted(frozen));
}

}  // namespace
}  // namespace regfs::fs::testing
