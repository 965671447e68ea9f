// Names through the mount: case rules (protected and reserved names ignore
// case, no two aliases that differ only by case), absolute symlink targets
// (only under this mount's own mount point), and what `mv`, `ln` and mkdir
// report, with the daemon's log line giving the real reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;

int SymlinkErrno(const std::string& target, const stdfs::path& link) {
  return symlink(target.c_str(), link.c_str()) == 0 ? 0 : errno;
}

class NamesMountTest : public MountTest {
 protected:
  // The daemon log's line that holds `text`, or "" (with a failure).
  std::string LogLine(const std::string& text) {
    std::istringstream log(ReadFile(mount_->log()));
    for (std::string line; std::getline(log, line);) {
      if (line.find(text) != std::string::npos) return line;
    }
    ADD_FAILURE() << "no log line with \"" << text << "\" in:\n" << DaemonLog();
    return "";
  }
  // Asserts a refusal logged at info with `reason`.
  void ExpectRefusalLogged(const std::string& reason) {
    const std::string line = LogLine(reason);
    EXPECT_THAT(line, HasSubstr(" info "));
    EXPECT_THAT(line, HasSubstr("refused"));
  }
  std::string Readlink(const std::string& relative) {
    return RunAs(kMember, {"readlink", M(relative).string()}).out;
  }
};

// A member with `production` protected; `candidate` exists.
TEST_F(NamesMountTest, CaseRulesHoldForSymlinkAndMkdir) {
  const uint64_t seq = LastSeq();
  struct Case {
    std::string target;
    std::string name;
    int err;
    std::string logged;
  };
  const std::vector<Case> cases = {
      {"v1", "models/Production", EPERM, "is protected (as 'production')"},
      {"v1", "models/PRODUCTION", EPERM, "is protected (as 'production')"},
      {"v1", "models/V1", EINVAL, "alias name 'V1' is reserved"},
      {"v0", "models/Latest", EINVAL, "alias name 'Latest' is reserved"},
      {"v0", "models/LATEST", EINVAL, "alias name 'LATEST' is reserved"},
      {"v0", "models/CANDIDATE", EEXIST,
       "models already has an alias 'candidate': alias names may not differ "
       "only by case"},
      {"v0", "models/bad name", EINVAL,
       "alias name 'bad name' may contain only A-Z a-z 0-9 . _ -"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AsUser(kMember, [&] { return SymlinkErrno(c.target, M(c.name)); }),
              c.err)
        << c.name;
    ExpectRefusalLogged(c.logged);
  }
  EXPECT_EQ(AsUser(kMember,
                   [&] { return mkdir(M("Models").c_str(), 0755) ? errno : 0; }),
            EEXIST);
  ExpectRefusalLogged("collection 'models' already exists: collection names "
                      "may not differ only by case");
  EXPECT_EQ(AsUser(kMember,
                   [&] { return mkdir(M("V2").c_str(), 0755) ? errno : 0; }),
            EINVAL);
  ExpectRefusalLogged("collection name 'V2' is reserved");
  EXPECT_EQ(AsUser(kMember,
                   [&] { return mkdir(M("a b").c_str(), 0755) ? errno : 0; }),
            EINVAL);
  ExpectRefusalLogged("collection name 'a b' may contain only");
  EXPECT_EQ(LastSeq(), seq) << "a refused name changed the store";

  // The shell tools say so too.
  const RunResult ln =
      RunAs(kMember, {"ln", "-s", "v0", M("models/Candidate").string()});
  EXPECT_NE(ln.exit_code, 0);
  EXPECT_THAT(ln.err, HasSubstr("File exists"));
  // Not even an admin may add `Production` beside `production`, but may
  // rename it so; it stays protected.
  EXPECT_EQ(AsUser(kAdmin, [&] {
              return SymlinkErrno("v0", M("models/Production"));
            }),
            EEXIST);
  const RunResult mv =
      RunAs(kAdmin, {"mv", M("models/production").string(),
                     M("models/Production").string()});
  ASSERT_EQ(mv.exit_code, 0) << mv.err << DaemonLog();
  EXPECT_EQ(AliasTarget("models", "Production"), "v1");
  const RunResult rm = RunAs(kMember, {"rm", M("models/Production").string()});
  EXPECT_NE(rm.exit_code, 0);
  EXPECT_THAT(rm.err, HasSubstr("Operation not permitted"));
}

TEST_F(NamesMountTest, AbsoluteTargetUnderThisMountIsMadeRelative) {
  const std::string mnt = mnt_.string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {mnt + "/models/v1", "x"},
      {mnt + "//models/./v1", "x2"},
      {mnt + "/./models//v1/", "x3"},
      {mnt + "/models/candidate", "x4"},
  };
  for (const auto& [target, name] : cases) {
    const RunResult ln =
        RunAs(kMember, {"ln", "-s", target, M("models/" + name).string()});
    EXPECT_EQ(ln.exit_code, 0) << target << ": " << ln.err << DaemonLog();
    EXPECT_EQ(Readlink("models/" + name), "v1\n") << target;
    EXPECT_EQ(AliasTarget("models", name), "v1") << target;
  }
  // ln -sf (a staged temporary name, then a rename) and a tree alias.
  const RunResult sf = RunAs(
      kMember, {"ln", "-sf", mnt + "/models/v2", M("models/candidate").string()});
  EXPECT_EQ(sf.exit_code, 0) << sf.err << DaemonLog();
  EXPECT_EQ(Readlink("models/candidate"), "v2\n");
  const RunResult tree =
      RunAs(kMember, {"ln", "-s", mnt + "/zoo/v0", M("zoo/t").string()});
  EXPECT_EQ(tree.exit_code, 0) << tree.err << DaemonLog();
  EXPECT_EQ(Readlink("zoo/t"), "v0\n");
}

TEST_F(NamesMountTest, AbsoluteTargetsElsewhereAreRefused) {
  // A second mount of another store, with a `models/v1` of its own.
  const stdfs::path other_store = dir_ / "other-store";
  const stdfs::path other_mnt = dir_ / "other-mnt";
  {
    auto other = registry::Registry::Init(other_store, root_);
    ASSERT_TRUE(other.has_value()) << other.error().message;
    for (int i = 0; i < 2; ++i) {
      registry::PushRequest push;
      push.collection = "models";
      push.paths = {Src("m0")};
      ASSERT_TRUE((*other)->Push(root_, push).has_value());
    }
  }
  stdfs::create_directories(other_mnt);
  Mount second(other_store, other_mnt, dir_ / "other-mount.log");
  ASSERT_TRUE(second.Start());
  ASSERT_TRUE(stdfs::exists(other_mnt / "models" / "v1"));

  const std::string mnt = mnt_.string();
  const uint64_t seq = LastSeq();
  struct Case {
    std::string target;
    std::string logged;
  };
  const std::vector<Case> cases = {
      {"/elsewhere/models/v1", "is not under this mount's mount point"},
      {(other_mnt / "models" / "v1").string(),
       "is not under this mount's mount point"},
      {mnt + "/zoo/v0", "aliases cannot leave their collection 'models'"},
      {mnt + "/models/../models/v1", "has a '..' component"},
      {mnt + "/models", "does not name a version or alias of 'models'"},
      {mnt + "/models/v1/x", "does not name a version or alias of 'models'"},
      {mnt + "-not/models/v1", "is not under this mount's mount point"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const stdfs::path link = M("models/y" + std::to_string(i));
    EXPECT_EQ(AsUser(kMember, [&] { return SymlinkErrno(c.target, link); }),
              EINVAL)
        << c.target;
    ExpectRefusalLogged(c.logged);
    EXPECT_FALSE(stdfs::is_symlink(link)) << c.target;
  }
  // ln -sf onto an existing alias too.
  const RunResult sf =
      RunAs(kMember, {"ln", "-sf", "/elsewhere/models/v2",
                      M("models/candidate").string()});
  EXPECT_NE(sf.exit_code, 0);
  EXPECT_THAT(sf.err, HasSubstr("Invalid argument"));
  EXPECT_EQ(AliasTarget("models", "candidate"), "v1");
  EXPECT_EQ(LastSeq(), seq);
  EXPECT_EQ(second.Stop(), 0);
}

// `mv` of an alias, run for real: its exit status, its message (coreutils
// prints its own text for EINVAL) and the daemon's reason.
TEST_F(NamesMountTest, MvReportsTheRealReason) {
  ASSERT_EQ(AsUser(kMember, [&] { return SymlinkErrno("v0", M("zoo/a")); }), 0);
  ASSERT_EQ(AsUser(kMember, [&] { return SymlinkErrno("v0", M("zoo/b")); }), 0);
  const uint64_t seq = LastSeq();

  // Across collections: EINVAL.
  const RunResult across = RunAs(
      kMember, {"mv", M("models/candidate").string(), M("zoo/").string()});
  EXPECT_NE(across.exit_code, 0);
  EXPECT_THAT(across.err, HasSubstr("cannot move"));
  ExpectRefusalLogged("aliases cannot leave their collection");

  // To an invalid name: EINVAL, logged with the naming rule.
  const RunResult invalid =
      RunAs(kMember, {"mv", "-T", M("models/candidate").string(),
                      M("models/bad name").string()});
  EXPECT_NE(invalid.exit_code, 0);
  EXPECT_THAT(invalid.err, HasSubstr("cannot move"));
  ExpectRefusalLogged("alias name 'bad name' may contain only A-Z a-z 0-9 . _ -");
  const RunResult reserved = RunAs(
      kMember, {"mv", M("models/candidate").string(), M("models/V9").string()});
  EXPECT_NE(reserved.exit_code, 0);
  ExpectRefusalLogged("alias name 'V9' is reserved");

  // Onto a tree alias without -T: mv renames into the version: EPERM.
  const RunResult into =
      RunAs(kMember, {"mv", M("zoo/a").string(), M("zoo/b").string()});
  EXPECT_NE(into.exit_code, 0);
  EXPECT_THAT(into.err, HasSubstr("Operation not permitted"));
  EXPECT_THAT(into.err, ::testing::Not(HasSubstr("subdirectory of itself")));
  ExpectRefusalLogged("versions are immutable; use mv -T to replace alias b");
  EXPECT_EQ(LastSeq(), seq) << "a refused mv changed the store";

  // With -T it replaces the alias.
  const RunResult with_t =
      RunAs(kMember, {"mv", "-T", M("zoo/a").string(), M("zoo/b").string()});
  EXPECT_EQ(with_t.exit_code, 0) << with_t.err << DaemonLog();
  EXPECT_EQ(AliasTarget("zoo", "b"), "v0");
  EXPECT_EQ(AliasTarget("zoo", "a"), "");
}

TEST_F(NamesMountTest, LnSfToAMissingVersionNamesIt) {
  const RunResult ln =
      RunAs(kMember, {"ln", "-sf", "v9", M("models/candidate").string()});
  EXPECT_NE(ln.exit_code, 0);
  EXPECT_THAT(ln.err, HasSubstr("No such file or directory"));
  ExpectRefusalLogged("models has no version v9");
  const RunResult fresh =
      RunAs(kMember, {"ln", "-s", "v9", M("models/fresh").string()});
  EXPECT_NE(fresh.exit_code, 0);
  EXPECT_THAT(fresh.err, HasSubstr("No such file or directory"));
  EXPECT_EQ(AliasTarget("models", "candidate"), "v1");
}

}  // namespace
}  // namespace regfs::fs::testing
