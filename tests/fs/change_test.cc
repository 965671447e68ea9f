// Changing aliases through the mount with the shell tools of DESIGN.md's
// "Shell operations" table, as members, viewers and admins who are not
// root, and every row of its errno table; the one-event rule of `ln -sf`.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using registry::Event;
using registry::EventType;
using registry::Interface;
using ::testing::HasSubstr;

int Renameat2(const stdfs::path& from, const stdfs::path& to, unsigned flags) {
  return static_cast<int>(syscall(SYS_renameat2, AT_FDCWD, from.c_str(),
                                  AT_FDCWD, to.c_str(), flags));
}

// 0 or errno of a syscall returning -1 on failure.
int Errno(int rc) { return rc == 0 ? 0 : errno; }

std::string Describe(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) out += registry::RenderJsonLine(e) + "\n";
  return out;
}

class ChangeTest : public MountTest {
 protected:
  // Asserts exactly one event after `seq`, of `type` on models/`alias`, by
  // `user` through the mount; returns it.
  Event OneEvent(uint64_t seq, EventType type, const std::string& alias,
                 const User& user) {
    const std::vector<Event> events = EventsAfter(seq);
    EXPECT_EQ(events.size(), 1u) << Describe(events);
    if (events.empty()) return Event{};
    const Event& e = events.front();
    EXPECT_EQ(e.type, type) << Describe(events);
    EXPECT_EQ(e.alias, alias);
    EXPECT_EQ(e.uid, user.uid);
    EXPECT_EQ(e.user, user.name());
    EXPECT_EQ(e.interface, Interface::kFs);
    return e;
  }
};

TEST_F(ChangeTest, LnSCreatesALastingAlias) {
  const uint64_t seq = LastSeq();
  const RunResult ln =
      RunAs(kMember, {"ln", "-s", "v0", M("models/fresh").string()});
  ASSERT_EQ(ln.exit_code, 0) << ln.err << DaemonLog();
  OneEvent(seq, EventType::kAliasCreate, "fresh", kMember);
  EXPECT_EQ(AliasTarget("models", "fresh"), "v0");
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/fresh").string()}).out,
            "v0\n");
  const RunResult cli = RunAs(kRoot, {REGFS_BINARY, "--store", store_.string(),
                                      "resolve", "models/fresh"});
  EXPECT_THAT(cli.out, HasSubstr("v0"));
  // Still there after the staging lifetime of temporary names would matter.
  ASSERT_EQ(mount_->Stop(), 0);
  ASSERT_TRUE(mount_->Start());
  EXPECT_EQ(RunAs(kRoot, {"readlink", M("models/fresh").string()}).out, "v0\n");
}

TEST_F(ChangeTest, LnSfIsExactlyOneMove) {
  // Make the kernel cache the alias first, as a real session would.
  ASSERT_EQ(RunAs(kMember, {"ls", "-l", M("models").string()}).exit_code, 0);
  const uint64_t seq = LastSeq();
  const RunResult ln =
      RunAs(kMember, {"ln", "-sf", "v0", M("models/candidate").string()});
  ASSERT_EQ(ln.exit_code, 0) << ln.err << DaemonLog();
  const Event e = OneEvent(seq, EventType::kAliasMove, "candidate", kMember);
  EXPECT_EQ(e.old_version, 1u);
  EXPECT_EQ(e.new_version, 0u);
  // Visible at once through the mount, and no trace of the temporary name.
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/candidate").string()}).out,
            "v0\n");
  const RunResult ls = RunAs(kMember, {"ls", "-a", M("models").string()});
  EXPECT_EQ(ls.out,
            ".\n..\n.history\ncandidate\nlatest\nproduction\nv0\nv1\nv2\n");
  const std::string history =
      RunAs(kRoot, {"cat", M(".regfs/history").string()}).out;
  EXPECT_EQ(history.find("\"Cu"), std::string::npos) << history;
  auto aliases = reg().ListAliases("models");
  ASSERT_TRUE(aliases.has_value());
  EXPECT_EQ(aliases->size(), 3u);  // latest, candidate, production

  const std::string collection =
      RunAs(kMember, {"cat", M("models/.history").string()}).out;
  EXPECT_THAT(collection, HasSubstr("\"event\":\"alias.move\",\"collection\":"
                                    "\"models\",\"alias\":\"candidate\""));
  EXPECT_THAT(collection, HasSubstr("\"user\":\"20001\""));

  // Again, without a warm cache, and to the same target: nothing recorded.
  const uint64_t again = LastSeq();
  ASSERT_EQ(RunAs(kMember, {"ln", "-sf", "v0", M("models/candidate").string()})
                .exit_code,
            0);
  EXPECT_EQ(EventsAfter(again).size(), 0u) << Describe(EventsAfter(again));
}

TEST_F(ChangeTest, LnSfnMovesATreeAlias) {
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-s", "v0", M("zoo/stable").string()}).exit_code,
      0);
  registry::PushRequest tree;
  tree.collection = "zoo";
  tree.paths = {Src("zoo/docs")};
  ASSERT_TRUE(reg().Push(root_, tree).has_value());
  const uint64_t seq = LastSeq();
  const RunResult ln =
      RunAs(kMember, {"ln", "-sfn", "v1", M("zoo/stable").string()});
  ASSERT_EQ(ln.exit_code, 0) << ln.err;
  const std::vector<Event> events = EventsAfter(seq);
  ASSERT_EQ(events.size(), 1u) << Describe(events);
  EXPECT_EQ(events[0].type, EventType::kAliasMove);
  EXPECT_EQ(events[0].collection, "zoo");
  EXPECT_EQ(RunAs(kMember, {"ls", M("zoo/stable/").string()}).out,
            "readme.txt\n");
}

TEST_F(ChangeTest, LnSfnToAnAliasTakesItsVersionNow) {
  ASSERT_EQ(RunAs(kMember, {"ln", "-s", "v2", M("models/staging").string()})
                .exit_code,
            0);
  const uint64_t seq = LastSeq();
  // A member may not move the protected name; an admin may.
  const RunResult member = RunAs(
      kMember, {"ln", "-sfn", "staging", M("models/production").string()});
  EXPECT_NE(member.exit_code, 0);
  EXPECT_THAT(member.err, HasSubstr("Operation not permitted"));
  EXPECT_EQ(EventsAfter(seq).size(), 0u);
  const RunResult admin =
      RunAs(kAdmin, {"ln", "-sfn", "staging", M("models/production").string()});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  const Event e = OneEvent(seq, EventType::kAliasMove, "production", kAdmin);
  EXPECT_EQ(e.new_version, 2u);
  EXPECT_EQ(RunAs(kRoot, {"readlink", M("models/production").string()}).out,
            "v2\n");
  // Moving `staging` later does not drag production along.
  ASSERT_EQ(RunAs(kMember, {"ln", "-sfn", "v0", M("models/staging").string()})
                .exit_code,
            0);
  EXPECT_EQ(AliasTarget("models", "production"), "v2");
}

TEST_F(ChangeTest, AcceptedTargetForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v1", "a1"},
      {"./v1", "a2"},
      {"candidate", "a3"},
      {"../models/v1", "a4"},
      {(mnt_ / "models" / "v1").string(), "a6"},
  };
  for (const auto& [target, name] : cases) {
    const RunResult ln =
        RunAs(kMember, {"ln", "-s", target, M("models/" + name).string()});
    EXPECT_EQ(ln.exit_code, 0) << target << ": " << ln.err;
    EXPECT_EQ(AliasTarget("models", name), "v1") << target;
    EXPECT_EQ(RunAs(kMember, {"readlink", M("models/" + name).string()}).out,
              "v1\n")
        << target;
  }
}

TEST_F(ChangeTest, MvRenamesAndReplaces) {
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-s", "v0", M("models/a").string()}).exit_code, 0);
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-s", "v2", M("models/b").string()}).exit_code, 0);
  uint64_t seq = LastSeq();
  RunResult mv =
      RunAs(kMember, {"mv", M("models/a").string(), M("models/c").string()});
  ASSERT_EQ(mv.exit_code, 0) << mv.err;
  OneEvent(seq, EventType::kAliasRename, "a", kMember);
  EXPECT_EQ(AliasTarget("models", "c"), "v0");
  EXPECT_EQ(AliasTarget("models", "a"), "");
  seq = LastSeq();
  mv = RunAs(kMember, {"mv", M("models/c").string(), M("models/b").string()});
  ASSERT_EQ(mv.exit_code, 0) << mv.err;
  EXPECT_EQ(AliasTarget("models", "b"), "v0");
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/b").string()}).out, "v0\n");
  EXPECT_NE(RunAs(kMember, {"readlink", M("models/c").string()}).exit_code, 0);
}

TEST_F(ChangeTest, RmRemovesAnAlias) {
  const uint64_t seq = LastSeq();
  const RunResult rm = RunAs(kMember, {"rm", M("models/candidate").string()});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  OneEvent(seq, EventType::kAliasRemove, "candidate", kMember);
  EXPECT_EQ(AliasTarget("models", "candidate"), "");
  struct stat st {};
  EXPECT_NE(::lstat(M("models/candidate").c_str(), &st), 0);
}

TEST_F(ChangeTest, MkdirCreatesACollection) {
  const uint64_t seq = LastSeq();
  const RunResult mkdir = RunAs(kMember, {"mkdir", M("datasets").string()});
  ASSERT_EQ(mkdir.exit_code, 0) << mkdir.err;
  const std::vector<Event> events = EventsAfter(seq);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kCollectionCreate);
  EXPECT_EQ(events[0].collection, "datasets");
  EXPECT_TRUE(reg().GetCollection("datasets").has_value());
  EXPECT_EQ(RunAs(kMember, {"ls", "-a", M("datasets").string()}).out,
            ".\n..\n.history\n");
  EXPECT_NE(RunAs(kMember, {"mkdir", M("models/sub").string()}).exit_code, 0);
}

TEST_F(ChangeTest, AdminChangesProtectedAliases) {
  EXPECT_EQ(RunAs(kAdmin, {"ln", "-sf", "v2", M("models/production").string()})
                .exit_code,
            0);
  EXPECT_EQ(AliasTarget("models", "production"), "v2");
  EXPECT_EQ(RunAs(kAdmin, {"mv", M("models/production").string(),
                           M("models/old").string()})
                .exit_code,
            0);
  EXPECT_EQ(RunAs(kAdmin, {"ln", "-s", "v0", M("models/production").string()})
                .exit_code,
            0);
  EXPECT_EQ(RunAs(kAdmin, {"rm", M("models/production").string()}).exit_code,
            0);
  EXPECT_EQ(AliasTarget("models", "production"), "");
}

TEST_F(ChangeTest, MemberViaGroupMayChange) {
  const RunResult ln =
      RunAs(kGroupMember, {"ln", "-s", "v0", M("models/g").string()});
  EXPECT_EQ(ln.exit_code, 0) << ln.err;
  EXPECT_EQ(AliasTarget("models", "g"), "v0");
}

TEST_F(ChangeTest, RenameNoReplaceAndExchange) {
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-s", "v0", M("models/a").string()}).exit_code, 0);
  ASSERT_EQ(
      RunAs(kMember, {"ln", "-s", "v2", M("models/b").string()}).exit_code, 0);
  EXPECT_EQ(AsUser(kMember,
                   [&] {
                     return Errno(Renameat2(M("models/a"), M("models/b"),
                                            RENAME_NOREPLACE));
                   }),
            EEXIST);
  EXPECT_EQ(AliasTarget("models", "b"), "v2");

  uint64_t seq = LastSeq();
  ASSERT_EQ(AsUser(kMember,
                   [&] {
                     return Errno(Renameat2(M("models/a"), M("models/b"),
                                            RENAME_EXCHANGE));
                   }),
            0);
  const std::vector<Event> events = EventsAfter(seq);
  ASSERT_EQ(events.size(), 2u) << Describe(events);
  EXPECT_EQ(events[0].type, EventType::kAliasMove);
  EXPECT_EQ(events[1].type, EventType::kAliasMove);
  EXPECT_EQ(AliasTarget("models", "a"), "v2");
  EXPECT_EQ(AliasTarget("models", "b"), "v0");
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/a").string()}).out, "v2\n");
  EXPECT_EQ(RunAs(kMember, {"readlink", M("models/b").string()}).out, "v0\n");

  seq = LastSeq();
  ASSERT_EQ(AsUser(kMember,
                   [&] {
                     return Errno(Renameat2(M("models/a"), M("models/c"),
                                            RENAME_NOREPLACE));
                   }),
            0);
  EXPECT_EQ(AliasTarget("models", "c"), "v2");
  // Exchanging with a name that does not exist is refused, never ignored.
  EXPECT_NE(AsUser(kMember,
                   [&] {
                     return Errno(Renameat2(M("models/c"), M("models/zz"),
                                            RENAME_EXCHANGE));
                   }),
            0);
  EXPECT_EQ(AliasTarget("models", "c"), "v2");
}

TEST_F(ChangeTest, DotNamesAreStagedUntilRenamed) {
  const uint64_t seq = LastSeq();
  ASSERT_EQ(
      AsUser(kMember,
             [&] {
               if (symlink("v0", M("models/.tmp-x").c_str()) != 0) return errno;
               char buf[16] = {};
               if (readlink(M("models/.tmp-x").c_str(), buf, sizeof buf) != 2)
                 return 99;
               if (std::string(buf) != "v0") return 98;
               return Errno(
                   rename(M("models/.tmp-x").c_str(), M("models/x").c_str()));
             }),
      0)
      << DaemonLog();
  OneEvent(seq, EventType::kAliasCreate, "x", kMember);
  EXPECT_EQ(AliasTarget("models", "x"), "v0");
  EXPECT_EQ(
      RunAs(kRoot, {"cat", M(".regfs/history").string()}).out.find(".tmp"),
      std::string::npos);
  // An unlinked staged name leaves nothing behind.
  const uint64_t seq2 = LastSeq();
  EXPECT_EQ(AsUser(kMember,
                   [&] {
                     if (symlink("v1", M("models/.tmp-y").c_str()) != 0)
                       return errno;
                     return Errno(unlink(M("models/.tmp-y").c_str()));
                   }),
            0);
  EXPECT_EQ(EventsAfter(seq2).size(), 0u);
  struct stat st {};
  EXPECT_NE(::lstat(M("models/.tmp-y").c_str(), &st), 0);
  // A viewer cannot stage either.
  EXPECT_EQ(
      AsUser(kViewer,
             [&] { return Errno(symlink("v0", M("models/.tmp-z").c_str())); }),
      EACCES);
}

TEST_F(ChangeTest, OnlyItsCreatorOrAnAdminTouchesAStagedSymlink) {
  auto sym = [&](const User& user, const char* target, const char* name) {
    return AsUser(user, [&] {
      return Errno(symlink(target, M(std::string("models/") + name).c_str()));
    });
  };
  auto rm = [&](const User& user, const char* name) {
    return AsUser(user, [&] {
      return Errno(unlink(M(std::string("models/") + name).c_str()));
    });
  };
  auto mv = [&](const User& user, const char* from, const char* to) {
    return AsUser(user, [&] {
      return Errno(rename(M(std::string("models/") + from).c_str(),
                          M(std::string("models/") + to).c_str()));
    });
  };
  const uint64_t seq = LastSeq();
  ASSERT_EQ(sym(kMember, "v0", ".tmp-s"), 0);
  ASSERT_EQ(sym(kGroupMember, "v2", ".tmp-g"), 0);
  // Another member: EPERM; a viewer: EACCES (the viewer rule first).
  EXPECT_EQ(rm(kGroupMember, ".tmp-s"), EPERM);
  EXPECT_EQ(mv(kGroupMember, ".tmp-s", "stolen"), EPERM);
  EXPECT_EQ(mv(kGroupMember, ".tmp-s", ".tmp-t"), EPERM);
  EXPECT_EQ(mv(kGroupMember, ".tmp-g", ".tmp-s"), EPERM);  // replacing it
  EXPECT_EQ(rm(kViewer, ".tmp-s"), EACCES);
  EXPECT_EQ(mv(kViewer, ".tmp-s", "stolen"), EACCES);
  EXPECT_EQ(EventsAfter(seq).size(), 0u) << Describe(EventsAfter(seq));
  EXPECT_THAT(DaemonLog(),
              HasSubstr("the temporary symlink belongs to 20001 (uid 20001)"));
  // Still the creator's, and theirs to commit.
  ASSERT_EQ(mv(kMember, ".tmp-s", "mine"), 0) << DaemonLog();
  OneEvent(seq, EventType::kAliasCreate, "mine", kMember);
  EXPECT_EQ(AliasTarget("models", "mine"), "v0");
  // An admin may remove anybody's.
  EXPECT_EQ(rm(kAdmin, ".tmp-g"), 0);
  struct stat st {};
  EXPECT_NE(::lstat(M("models/.tmp-g").c_str(), &st), 0);
  EXPECT_EQ(EventsAfter(seq).size(), 1u) << Describe(EventsAfter(seq));
}

// ---- DESIGN.md's errno table, one syscall per row -------------------------

struct ErrnoCase {
  std::string name;
  User user;
  std::function<int(const stdfs::path& mnt)> op;  // 0 or errno
  int expected;
};

class ErrnoTableTest : public MountTest {};

TEST_F(ErrnoTableTest, EachRefusalHasTheDesignErrno) {
  ASSERT_EQ(
      RunAs(kRoot, {"ln", "-s", "v0", M("models/spare").string()}).exit_code,
      0);
  auto sym = [](std::string target, std::string name) {
    return [=](const stdfs::path& m) {
      return Errno(symlink(target.c_str(), (m / name).c_str()));
    };
  };
  auto ren = [](std::string from, std::string to) {
    return [=](const stdfs::path& m) {
      return Errno(rename((m / from).c_str(), (m / to).c_str()));
    };
  };
  auto rm = [](std::string name) {
    return
        [=](const stdfs::path& m) { return Errno(unlink((m / name).c_str())); };
  };
  auto mkd = [](std::string name) {
    return [=](const stdfs::path& m) {
      return Errno(mkdir((m / name).c_str(), 0755));
    };
  };
  auto open_write = [](std::string name, int flags) {
    return [=](const stdfs::path& m) {
      const int fd = ::open((m / name).c_str(), flags, 0644);
      if (fd < 0) return errno;
      ::close(fd);
      return 0;
    };
  };
  const std::vector<ErrnoCase> cases = {
      // viewer tries any change: EACCES
      {"viewer ln -s", kViewer, sym("v0", "models/nv"), EACCES},
      {"viewer mv", kViewer, ren("models/spare", "models/nv"), EACCES},
      {"viewer rm", kViewer, rm("models/spare"), EACCES},
      {"viewer mkdir", kViewer, mkd("newcoll"), EACCES},
      // ... before anything else is checked: a version, `latest`, a
      // temporary name and its target
      {"viewer rm version", kViewer, rm("models/v0"), EACCES},
      {"viewer mv version", kViewer, ren("models/v0", "models/v9"), EACCES},
      {"viewer mv onto version", kViewer, ren("models/spare", "models/v1"),
       EACCES},
      {"viewer rm latest", kViewer, rm("models/latest"), EACCES},
      {"viewer rm protected", kViewer, rm("models/production"), EACCES},
      {"viewer dot-name", kViewer, sym("v0", "models/.tmp-v"), EACCES},
      {"viewer dot-name bad target", kViewer, sym("../zoo/v0", "models/.tmp-w"),
       EACCES},
      // non-admin touches a protected alias: EPERM
      {"member rm protected", kMember, rm("models/production"), EPERM},
      {"member mv protected", kMember, ren("models/production", "models/p2"),
       EPERM},
      {"member mv onto protected", kMember,
       ren("models/spare", "models/production"), EPERM},
      {"member create protected", kMember, sym("v0", "zoo/production"), EPERM},
      // change to latest or to a version: EPERM
      {"rm latest", kMember, rm("models/latest"), EPERM},
      {"mv latest", kMember, ren("models/latest", "models/l2"), EPERM},
      {"mv onto latest", kMember, ren("models/spare", "models/latest"), EPERM},
      {"rm version", kMember, rm("models/v0"), EPERM},
      {"admin rm version", kRoot, rm("models/v0"), EPERM},
      {"mv version", kMember, ren("models/v0", "models/v9"), EPERM},
      {"mv onto version", kMember, ren("models/spare", "models/v1"), EPERM},
      {"rm history file", kMember, rm("models/.history"), EPERM},
      {"mv onto history file", kMember, ren("models/spare", "models/.history"),
       EPERM},
      {"write version", kRoot, open_write("models/v0", O_WRONLY), EPERM},
      {"truncate-open version", kRoot,
       open_write("models/v0", O_RDONLY | O_TRUNC), EPERM},
      {"create file", kMember, open_write("models/new.bin", O_WRONLY | O_CREAT),
       EPERM},
      {"truncate version", kRoot,
       [](const stdfs::path& m) {
         return Errno(truncate((m / "models/v0").c_str(), 0));
       },
       EPERM},
      {"chmod version", kRoot,
       [](const stdfs::path& m) {
         return Errno(chmod((m / "models/v0").c_str(), 0644));
       },
       EPERM},
      {"touch version", kRoot,
       [](const stdfs::path& m) {
         return Errno(
             utimensat(AT_FDCWD, (m / "models/v0").c_str(), nullptr, 0));
       },
       EPERM},
      {"rmdir tree version", kRoot,
       [](const stdfs::path& m) {
         return Errno(rmdir((m / "zoo/v0").c_str()));
       },
       EPERM},
      {"symlink inside a tree", kRoot, sym("x", "zoo/v0/link"), EPERM},
      // target names no version of this collection: ENOENT
      {"missing version", kMember, sym("v99", "models/nx"), ENOENT},
      {"missing alias", kMember, sym("nosuchalias", "models/nx"), ENOENT},
      {"dot-name missing version", kMember, sym("v99", "models/.tmp-m"),
       ENOENT},
      // target outside the collection, malformed, or a bad name: EINVAL
      {"other collection", kMember, sym("../zoo/v0", "models/nx"), EINVAL},
      {"absolute elsewhere", kMember, sym("/etc/passwd", "models/nx"), EINVAL},
      {"malformed", kMember, sym("v0/x", "models/nx"), EINVAL},
      {"dot-name other collection", kMember, sym("../zoo/v0", "models/.tmp-o"),
       EINVAL},
      {"dot-name malformed", kMember, sym("v0/x", "models/.tmp-x"), EINVAL},
      {"bad name", kMember, sym("v0", "models/-bad"), EINVAL},
      {"reserved name", kMember, sym("v0", "models/v7"), EPERM},
      {"across collections", kMember, ren("models/spare", "zoo/spare"), EINVAL},
  };
  for (const ErrnoCase& c : cases) {
    const int got = AsUser(c.user, [&] { return c.op(mnt_); });
    EXPECT_EQ(got, c.expected) << c.name << ": got " << std::strerror(got)
                               << ", want " << std::strerror(c.expected);
  }
  EXPECT_EQ(AliasTarget("models", "production"), "v1");
  EXPECT_EQ(AliasTarget("models", "spare"), "v0");
  // Each refusal is logged with its reason.
  EXPECT_THAT(DaemonLog(), HasSubstr("refused"));
}

TEST_F(ErrnoTableTest, ShellToolsReportTheErrno) {
  struct Case {
    User user;
    std::vector<std::string> argv;
    std::string message;
  };
  const std::vector<Case> cases = {
      {kViewer,
       {"ln", "-s", "v0", M("models/nv").string()},
       "Permission denied"},
      {kViewer,
       {"ln", "-sf", "v0", M("models/candidate").string()},
       "Permission denied"},
      {kViewer,
       {"rm", "-f", M("models/candidate").string()},
       "Permission denied"},
      {kViewer, {"mkdir", M("nc").string()}, "Permission denied"},
      {kViewer, {"rm", "-f", M("models/v0").string()}, "Permission denied"},
      {kViewer,
       {"ln", "-sf", "v0", M("models/v1").string()},
       "Permission denied"},
      {kMember,
       {"ln", "-sf", "v2", M("models/production").string()},
       "Operation not permitted"},
      {kMember,
       {"rm", M("models/production").string()},
       "Operation not permitted"},
      {kMember,
       {"ln", "-sf", "v0", M("models/latest").string()},
       "Operation not permitted"},
      {kMember,
       {"ln", "-sf", "v0", M("models/v1").string()},
       "Operation not permitted"},
      {kRoot,
       {"chmod", "644", M("models/v0").string()},
       "Operation not permitted"},
      {kRoot,
       {"truncate", "-s", "0", M("models/v0").string()},
       "Operation not permitted"},
      {kRoot, {"touch", M("models/v0").string()}, "Operation not permitted"},
      {kRoot, {"rm", "-f", M("models/v0").string()}, "Operation not permitted"},
      {kRoot,
       {"sh", "-c", "echo x > " + M("models/v0").string()},
       "Operation not permitted"},
      {kMember,
       {"ln", "-sf", "v9", M("models/candidate").string()},
       "No such file or directory"},
      {kMember,
       {"ln", "-s", "../zoo/v0", M("models/x").string()},
       "Invalid argument"},
  };
  const uint64_t seq = LastSeq();
  for (const Case& c : cases) {
    const RunResult r = RunAs(c.user, c.argv);
    EXPECT_NE(r.exit_code, 0) << c.argv[0] << " " << c.argv.back();
    EXPECT_THAT(r.err, HasSubstr(c.message))
        << c.argv[0] << " " << c.argv.back();
  }
  EXPECT_EQ(EventsAfter(seq).size(), 0u) << Describe(EventsAfter(seq));
  EXPECT_EQ(AliasTarget("models", "candidate"), "v1");
}

TEST_F(ErrnoTableTest, ReadOnlyMountRefusesChanges) {
  ASSERT_EQ(mount_->Stop(), 0);
  mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log",
                                   std::vector<std::string>{"-o", "ro"});
  ASSERT_TRUE(mount_->Start());
  EXPECT_EQ(AsUser(kMember,
                   [&] { return Errno(symlink("v0", M("models/x").c_str())); }),
            EROFS);
  EXPECT_EQ(RunAs(kRoot, {"cat", M("models/v0").string()}).out, "model zero\n");
}

}  // namespace
}  // namespace regfs::fs::testing
