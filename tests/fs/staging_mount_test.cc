// Mount tests of staged symlinks (fs/staging.h), issue #11:
//  - the bound on staged names is per user: one member's flood of dot-named
//    symlinks refuses only that member (EDQUOT), never another user's
//    `ln -sf`;
//  - a symlink call that succeeds on a name that may be an alias (ln's
//    temporary form "Cu" + six letters, e.g. "Customer", after the same
//    process looked up an alias) is never lost: if no rename follows, it
//    is committed as an alias with its creator's identity when its wait
//    ends, or when the mount stops cleanly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "fs/staging.h"
#include "registry/history.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;
using registry::Event;
using registry::EventType;
using registry::Interface;
using ::testing::HasSubstr;

std::string Describe(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) out += registry::RenderJsonLine(e) + "\n";
  return out;
}

class StagingMountTest : public MountTest {
 protected:
  // Remounts with staged symlinks waiting `ms` instead of 10 s / 30 s.
  void RemountWithLifetime(int ms) {
    ASSERT_EQ(mount_->Stop(), 0);
    mount_ = std::make_unique<Mount>(
        store_, mnt_, dir_ / "mount.log",
        std::vector<std::string>{"-o", "staged_lifetime_ms=" +
                                            std::to_string(ms)});
    ASSERT_TRUE(mount_->Start());
  }

  // As `user`, in one process: looks up the alias models/candidate, then
  // symlink(target, models/name). Returns 0 or the symlink's errno.
  int LookUpThenSymlink(const User& user, const std::string& target,
                        const std::string& name) {
    const stdfs::path looked_up = M("models/candidate");
    const stdfs::path link = M("models/" + name);
    return AsUser(user, [&] {
      struct stat st {};
      if (::lstat(looked_up.c_str(), &st) != 0) return 200;
      return ::symlink(target.c_str(), link.c_str()) == 0 ? 0 : errno;
    });
  }

  // Polls the registry until models/`alias` exists or `timeout` passes.
  bool WaitForAlias(const std::string& alias, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!AliasTarget("models", alias).empty()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // Exactly one event after `seq`: alias.create of models/`alias` -> target
  // by `user` through the mount.
  void ExpectOneCreate(uint64_t seq, const std::string& alias,
                       uint64_t version, const User& user) {
    const std::vector<Event> events = EventsAfter(seq);
    ASSERT_EQ(events.size(), 1u) << Describe(events) << DaemonLog();
    const Event& e = events.front();
    EXPECT_EQ(e.type, EventType::kAliasCreate) << Describe(events);
    EXPECT_EQ(e.collection, "models");
    EXPECT_EQ(e.alias, alias);
    EXPECT_EQ(e.new_version, version);
    EXPECT_EQ(e.uid, user.uid);
    EXPECT_EQ(e.user, user.name());
    EXPECT_EQ(e.interface, Interface::kFs);
  }
};

// Issue #11 item 1: a member filled the daemon's one staging table and for
// 30 s every `ln -sf` in the mount failed with ENOSPC, admins' included.
TEST_F(StagingMountTest, MemberFloodRefusesOnlyTheFlooder) {
  const stdfs::path models = M("models");
  // Returns EDQUOT only if exactly the per-user bound succeeded first.
  const int flood = AsUser(kMember, [&] {
    for (size_t i = 0;; ++i) {
      const stdfs::path link = models / (".f" + std::to_string(i));
      if (::symlink("v0", link.c_str()) != 0) {
        return i == Staging::kMaxStagedPerUser ? errno : 201;
      }
      if (i > Staging::kMaxStagedPerUser) return 202;
    }
  });
  ASSERT_EQ(flood, EDQUOT) << DaemonLog();
  EXPECT_THAT(DaemonLog(), HasSubstr("(the per-user bound)"));

  struct Case {
    const User* user;
    std::vector<std::string> ln;
    const char* target;
  };
  const Case cases[] = {
      {&kRoot, {"ln", "-sf", "v0"}, "v0"},
      {&kRoot, {"ln", "-sfn", "v2"}, "v2"},
      {&kGroupMember, {"ln", "-sf", "v1"}, "v1"},
      {&kGroupMember, {"ln", "-sfn", "v0"}, "v0"},
      {&kAdmin, {"ln", "-sf", "v2"}, "v2"},
  };
  for (const Case& c : cases) {
    const uint64_t seq = LastSeq();
    std::vector<std::string> argv = c.ln;
    argv.push_back(M("models/candidate").string());
    const RunResult ln = RunAs(*c.user, argv);
    EXPECT_EQ(ln.exit_code, 0) << c.user->uid << " " << c.ln[1] << ": "
                               << ln.err;
    const std::vector<Event> events = EventsAfter(seq);
    ASSERT_EQ(events.size(), 1u) << Describe(events);
    EXPECT_EQ(events[0].type, EventType::kAliasMove);
    EXPECT_EQ(events[0].uid, c.user->uid);
    EXPECT_EQ(AliasTarget("models", "candidate"), c.target);
  }

  // The flooder's own next staged symlink: refused, with the reason.
  const uint64_t seq = LastSeq();
  const RunResult own =
      RunAs(kMember, {"ln", "-sf", "v1", M("models/candidate").string()});
  EXPECT_NE(own.exit_code, 0);
  EXPECT_THAT(own.err, HasSubstr("Disk quota exceeded"));
  EXPECT_TRUE(EventsAfter(seq).empty());
  EXPECT_EQ(AliasTarget("models", "candidate"), "v2");
  const RunResult dot =
      RunAs(kMember, {"ln", "-s", "v1", M("models/.one-more").string()});
  EXPECT_THAT(dot.err, HasSubstr("Disk quota exceeded"));
  // Removing one of them frees one place.
  ASSERT_EQ(::unlink(M("models/.f0").c_str()), 0);
  EXPECT_EQ(RunAs(kMember, {"ln", "-s", "v1", M("models/.one-more").string()})
                .exit_code,
            0);
}

// Issue #11 item 5: a program that had looked up an alias and then made a
// symlink named like ln's temporary got success, and the alias was never
// committed. Now it becomes an alias when its wait ends.
TEST_F(StagingMountTest, SymlinkOfATemporaryLikeNameIsCommittedAfterItsWait) {
  RemountWithLifetime(1000);
  const uint64_t seq = LastSeq();
  ASSERT_EQ(LookUpThenSymlink(kMember, "v1", "CuStom14"), 0) << DaemonLog();
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/CuStom14").string()}).out,
            "v1\n");
  ASSERT_TRUE(WaitForAlias("CuStom14", 15s)) << DaemonLog();
  ExpectOneCreate(seq, "CuStom14", 1, kMember);
  // The CLI, this mount (listing too) and another mount see it.
  const RunResult ls = RunAs(
      kRoot, {REGFS_BINARY, "--store", store_.string(), "alias", "ls", "models"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out, HasSubstr("CuStom14"));
  ASSERT_TRUE(WaitForLink(M("models/CuStom14"), "v1", 5s)) << DaemonLog();
  EXPECT_THAT(RunAs(kMember, {"ls", M("models").string()}).out,
              HasSubstr("CuStom14"));
  const stdfs::path other = dir_ / "mnt2";
  stdfs::create_directories(other);
  Mount second(store_, other, dir_ / "mount2.log");
  ASSERT_TRUE(second.Start());
  EXPECT_EQ(RunAs(kViewer, {"readlink", (other / "models/CuStom14").string()})
                .out,
            "v1\n");
  EXPECT_EQ(second.Stop(), 0);
  EXPECT_THAT(DaemonLog(), HasSubstr("committed its staged symlink"));
  // Still one event: nothing else was recorded since.
  ExpectOneCreate(seq, "CuStom14", 1, kMember);
}

TEST_F(StagingMountTest, PendingTemporaryLikeSymlinkIsCommittedAtUnmount) {
  const uint64_t seq = LastSeq();
  // Default wait (10 s): still pending when the mount stops at once.
  ASSERT_EQ(LookUpThenSymlink(kMember, "v0", "Customer"), 0) << DaemonLog();
  EXPECT_TRUE(AliasTarget("models", "Customer").empty());
  ASSERT_EQ(mount_->Stop(), 0);
  EXPECT_EQ(AliasTarget("models", "Customer"), "v0") << DaemonLog();
  ExpectOneCreate(seq, "Customer", 0, kMember);
  EXPECT_THAT(DaemonLog(), HasSubstr("as the mount stops"));
}

// Committing later can fail: the name was taken meanwhile. Logged at warn
// with the reason; the alias that took the name is left alone.
TEST_F(StagingMountTest, CommitThatFailsLaterIsLoggedWithTheReason) {
  RemountWithLifetime(1500);
  ASSERT_EQ(LookUpThenSymlink(kMember, "v1", "CuTaken1"), 0) << DaemonLog();
  ASSERT_TRUE(reg().CreateAlias(root(), "models", "CuTaken1", "v2"));
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (DaemonLog().find("could not commit") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const std::string log = DaemonLog();
  EXPECT_THAT(log, HasSubstr(" warning ["));
  EXPECT_THAT(log, HasSubstr("could not commit the symlink models/CuTaken1"));
  EXPECT_EQ(AliasTarget("models", "CuTaken1"), "v2");
}

// The short wait changes nothing for ln: `ln -sf` is still one move, and
// `.tmp` + `mv -T` too; a dot-name is still dropped, never committed.
TEST_F(StagingMountTest, LnSfAndDotRenameStayOneMoveWithAShortWait) {
  RemountWithLifetime(1000);
  uint64_t seq = LastSeq();
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-sf", "v0", M("models/candidate").string()})
          .exit_code,
      0);
  std::vector<Event> events = EventsAfter(seq);
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].type, EventType::kAliasMove);

  seq = LastSeq();
  ASSERT_EQ(RunAs(kMember, {"sh", "-c",
                            "ln -s v2 " + M("models/.tmp").string() +
                                " && mv -T " + M("models/.tmp").string() +
                                " " + M("models/candidate").string()})
                .exit_code,
            0);
  events = EventsAfter(seq);
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].type, EventType::kAliasMove);

  seq = LastSeq();
  ASSERT_EQ(AsUser(kMember,
                   [&] {
                     return ::symlink("v1", M("models/.hidden").c_str()) == 0
                                ? 0
                                : errno;
                   }),
            0);
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(EventsAfter(seq).empty()) << Describe(EventsAfter(seq));
  struct stat st {};
  EXPECT_NE(::lstat(M("models/.hidden").c_str(), &st), 0);
  EXPECT_THAT(DaemonLog(), HasSubstr("private staging, never renamed"));
}

}  // namespace
}  // namespace regfs::fs::testing
