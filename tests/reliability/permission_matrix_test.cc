// The permission matrix (issue #5): every mutating operation through the
// mount, with the shell tool a user would run, as root, an admin, a
// member, a viewer and a user with no granted role (the default role,
// viewer), on unprotected and protected aliases, on `latest`, on
// versions, trees and collections. Each cell checks the errno (by the
// tool's message) and, on a refusal, that nothing changed: the history's
// last seq, the registry's listing and the mount's listing are as before.
//
// And the store itself: nobody but its owner can read or write
// registry.db or blobs/, so nobody bypasses the daemon.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "registry/change_listeners.h"
#include "tests/fs/mount_fixture.h"
#include "tests/reliability/reliability_util.h"

namespace regfs::reliability {
namespace {

using namespace std::chrono_literals;
using fs::testing::AsUser;
using fs::testing::kAdmin;
using fs::testing::kMember;
using fs::testing::kNoRole;
using fs::testing::kRoot;
using fs::testing::kViewer;
using fs::testing::MountTest;
using fs::testing::ReadFile;
using fs::testing::RunAs;
using fs::testing::RunResult;
using registry::Role;

enum class Who { kRoot, kAdmin, kMember, kViewer, kNoRole };

struct WhoParam {
  Who who;
  const char* name;
};

void PrintTo(const WhoParam& param, std::ostream* os) { *os << param.name; }

const User& UserOf(Who who) {
  switch (who) {
    case Who::kRoot:
      return kRoot;
    case Who::kAdmin:
      return kAdmin;
    case Who::kMember:
      return kMember;
    case Who::kViewer:
      return kViewer;
    case Who::kNoRole:
      return kNoRole;
  }
  return kNoRole;
}

// The message coreutils prints for an errno (LC_ALL=C).
std::string Message(int err) { return std::strerror(err); }

struct Op {
  std::string name;
  std::vector<std::string> argv;  // relative paths are inside the mount
  int admin;   // root and admins
  int member;
  int viewer;  // viewers, and users with only the default role (viewer)
  uint64_t events = 1;  // history rows when it succeeds
};

class PermissionMatrixTest : public MountTest,
                             public ::testing::WithParamInterface<WhoParam> {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    for (const auto& [alias, target] :
         std::vector<std::pair<std::string, std::string>>{
             {"u-move", "v1"}, {"u-rm", "v1"},   {"u-src", "v1"},
             {"u-src2", "v0"}, {"u-src3", "v0"}, {"u-over", "v2"}}) {
      ASSERT_TRUE(reg().CreateAlias(root(), "models", alias, target));
    }
    for (const std::string name : {"p-new", "p-move", "p-rm", "p-src", "p-dst"}) {
      ASSERT_TRUE(reg().Protect(root(), name));
    }
    for (const auto& [alias, target] :
         std::vector<std::pair<std::string, std::string>>{
             {"p-move", "v1"}, {"p-rm", "v1"}, {"p-src", "v1"}, {"p-dst", "v2"}}) {
      ASSERT_TRUE(reg().CreateAlias(root(), "models", alias, target));
    }
  }

  // The cell's expectation for this row's user.
  int Expected(const Op& op) const {
    switch (GetParam().who) {
      case Who::kRoot:
      case Who::kAdmin:
        return op.admin;
      case Who::kMember:
        return op.member;
      case Who::kViewer:
      case Who::kNoRole:
        return op.viewer;
    }
    return -1;
  }

  std::vector<std::string> Argv(const Op& op) const {
    std::vector<std::string> argv = op.argv;
    for (size_t i = 1; i < argv.size(); ++i) {
      if (argv[i].starts_with("@")) argv[i] = M(argv[i].substr(1)).string();
    }
    return argv;
  }

  // Runs one cell.
  void Cell(const Op& op) {
    SCOPED_TRACE(op.name);
    const User& user = UserOf(GetParam().who);
    const uint64_t seq = LastSeq();
    const auto before = Snapshot(reg());
    const auto root_listing = ListDir(mnt_);
    const auto models_listing = ListDir(M("models"));
    const std::vector<std::string> argv = Argv(op);
    const RunResult r = RunAs(user, argv);
    const int expected = Expected(op);
    if (expected == 0) {
      EXPECT_EQ(r.exit_code, 0) << op.name << ": " << r.err;
      EXPECT_EQ(LastSeq(), seq + op.events) << op.name;
      return;
    }
    EXPECT_NE(r.exit_code, 0) << op.name << " was allowed";
    EXPECT_THAT(r.err, ::testing::HasSubstr(Message(expected)))
        << op.name << ": expected " << strerrorname_np(expected);
    EXPECT_EQ(LastSeq(), seq) << op.name << ": a refusal wrote history";
    EXPECT_EQ(Snapshot(reg()), before) << op.name << ": a refusal changed the store";
    EXPECT_EQ(ListDir(mnt_), root_listing) << op.name;
    EXPECT_EQ(ListDir(M("models")), models_listing) << op.name;
  }
};

// The matrix. '@' marks a path inside the mount.
std::vector<Op> Matrix() {
  const int A = EACCES, P = EPERM;
  return {
      {"ln -s (create)", {"ln", "-s", "v0", "@models/u-new"}, 0, 0, A},
      {"ln -s (create a protected name)", {"ln", "-s", "v0", "@models/p-new"}, 0, P, A},
      {"ln -sf (move)", {"ln", "-sf", "v2", "@models/u-move"}, 0, 0, A},
      {"ln -sf (move protected)", {"ln", "-sf", "v2", "@models/p-move"}, 0, P, A},
      {"ln -sfn (move protected to an alias's version)",
       {"ln", "-sfn", "u-over", "@models/production"}, 0, P, A},
      {"mv (rename)", {"mv", "-T", "@models/u-src", "@models/u-dst"}, 0, 0, A},
      {"mv (rename protected)", {"mv", "-T", "@models/p-src", "@models/u-dst2"}, 0, P, A},
      {"mv (rename onto a protected alias)",
       {"mv", "-T", "@models/u-src2", "@models/p-dst"}, 0, P, A, 2},
      {"mv (rename over an alias)",
       {"mv", "-T", "@models/u-src3", "@models/u-over"}, 0, 0, A, 2},
      {"rm (alias)", {"rm", "@models/u-rm"}, 0, 0, A},
      {"rm (protected alias)", {"rm", "@models/p-rm"}, 0, P, A},
      {"mkdir (collection)", {"mkdir", "@newcoll"}, 0, 0, A},
      {"ln -sf latest", {"ln", "-sf", "v0", "@models/latest"}, P, P, A},
      {"rm latest", {"rm", "@models/latest"}, P, P, A},
      {"mv latest", {"mv", "-T", "@models/latest", "@models/was-latest"}, P, P, A},
      {"mv onto latest", {"mv", "-T", "@models/candidate", "@models/latest"}, P, P, A},
      // Writing versions and control files: refused to everybody; a viewer,
      // who may change nothing at all, hears EACCES (DESIGN: "viewer tries
      // any change"), everybody else EPERM.
      {"write a version", {"sh", "-c", "echo x > \"$0\"", "@models/v1"}, P, P, A},
      {"append to a version", {"sh", "-c", "echo x >> \"$0\"", "@models/v1"}, P, P, A},
      {"cp onto a version", {"cp", "@models/v0", "@models/v1"}, P, P, A},
      {"truncate a version", {"truncate", "-s", "0", "@models/v1"}, P, P, A},
      {"chmod a version", {"chmod", "644", "@models/v1"}, P, P, A},
      {"chown a version", {"chown", "0", "@models/v1"}, P, P, A},
      {"touch a version", {"touch", "@models/v1"}, P, P, A},
      {"touch a new file", {"touch", "@models/newfile"}, P, P, A},
      // Removing, renaming or replacing a version is an alias change: the
      // role is checked first, so a viewer hears EACCES, others EPERM.
      {"rm a version", {"rm", "-f", "@models/v1"}, P, P, A},
      {"mv a version", {"mv", "-T", "@models/v1", "@models/v9"}, P, P, A},
      {"mv an alias onto a version", {"mv", "-T", "@models/candidate", "@models/v0"}, P, P, A},
      {"ln -sf over a version", {"ln", "-sf", "v0", "@models/v2"}, P, P, A},
      {"hard link of a version", {"ln", "@models/v0", "@models/hard"}, P, P, A},
      {"setfattr on a version", {"setfattr", "-n", "user.x", "-v", "1", "@models/v1"}, P, P, A},
      {"setfattr on a collection", {"setfattr", "-n", "user.x", "-v", "1", "@models"}, P, P, A},
      {"setfattr -x", {"setfattr", "-x", "user.regfs.digest", "@models/v1"}, P, P, A},
      {"rm .history", {"rm", "-f", "@models/.history"}, P, P, A},
      {"write .regfs/history", {"sh", "-c", "echo x >> \"$0\"", "@.regfs/history"}, P, P, A},
      {"mkdir inside a collection", {"mkdir", "@models/sub"}, P, P, A},
      // Only an empty collection can go (rmdir_test.cc): one with versions
      // is not empty, a viewer may change nothing.
      {"rmdir a collection with versions", {"rmdir", "@zoo"}, ENOTEMPTY,
       ENOTEMPTY, A},
      {"write inside a tree", {"sh", "-c", "echo x > \"$0\"", "@zoo/v0/new"}, P, P, A},
      {"rm inside a tree", {"rm", "-f", "@zoo/v0/zoo_labels.pt"}, P, P, A},
      {"rmdir inside a tree", {"rmdir", "@zoo/v0/docs"}, P, P, A},
      {"mkfifo in a collection", {"mkfifo", "@models/fifo"}, P, P, A},
  };
}

TEST_P(PermissionMatrixTest, EveryChangeThroughTheMount) {
  // The mount agrees about who is calling.
  const RunResult whoami =
      RunAs(UserOf(GetParam().who), {"cat", M(".regfs/whoami").string()});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  const auto json = nlohmann::json::parse(whoami.out, nullptr, false);
  const char* role = GetParam().who == Who::kRoot || GetParam().who == Who::kAdmin
                         ? "admin"
                     : GetParam().who == Who::kMember ? "member"
                                                      : "viewer";
  EXPECT_EQ(json.value("role", ""), role) << whoami.out;
  for (const Op& op : Matrix()) Cell(op);
  EXPECT_TRUE(StoreIsClean(store_));
}

INSTANTIATE_TEST_SUITE_P(
    Users, PermissionMatrixTest,
    ::testing::Values(WhoParam{Who::kRoot, "root"}, WhoParam{Who::kAdmin, "admin"},
                      WhoParam{Who::kMember, "member"},
                      WhoParam{Who::kViewer, "viewer"},
                      WhoParam{Who::kNoRole, "default_role"}),
    [](const auto& info) { return std::string(info.param.name); });

class StoreAccessTest : public MountTest {};

// With the default role `none`, a user without a grant can neither read
// nor change anything, and nothing changes.
TEST_F(StoreAccessTest, DefaultRoleNoneRefusesEverything) {
  ASSERT_TRUE(reg().Grant(root(), "*", Role::kNone));
  // The daemon drops cached roles on the role event (polled): wait for it.
  const auto start = std::chrono::steady_clock::now();
  while (AsUser(kNoRole, [&] {
           struct stat st {};
           return ::stat(M("models/v0").c_str(), &st) == 0 ? 0 : errno;
         }) != EACCES) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, 60s)
        << "the default role none never took effect";
    std::this_thread::sleep_for(50ms);
  }
  const uint64_t seq = LastSeq();
  const auto before = Snapshot(reg());
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ls", mnt_.string()},
           {"cat", M("models/v0").string()},
           {"readlink", "-v", M("models/candidate").string()},
           {"cat", M(".regfs/history").string()},
           {"getfattr", "-d", M("models/v0").string()},
           {"ln", "-s", "v0", M("models/x").string()},
           {"ln", "-sf", "v0", M("models/candidate").string()},
           {"rm", M("models/candidate").string()},
           {"mkdir", M("newcoll").string()}}) {
    const RunResult r = RunAs(kNoRole, argv);
    EXPECT_NE(r.exit_code, 0) << argv[0] << " " << argv.back();
    EXPECT_THAT(r.err, ::testing::HasSubstr(Message(EACCES)))
        << argv[0] << " " << argv.back();
  }
  EXPECT_EQ(LastSeq(), seq);
  EXPECT_EQ(Snapshot(reg()), before);
}

// The store is the owner's: other users cannot open registry.db or any
// blob, and the CLI tells them so; everyone else goes through the daemon.
TEST_F(StoreAccessTest, StoreFilesAreTheOwnersOnly) {
  auto version = reg().GetVersion("models", 1);
  ASSERT_TRUE(version.has_value());
  const stdfs::path blob = reg().BlobPath(version->blob);
  for (const User& user : {kMember, kViewer, kAdmin, kNoRole}) {
    SCOPED_TRACE(user.name());
    for (const stdfs::path& path :
         {store_ / "registry.db", store_ / "registry.db-wal", blob}) {
      EXPECT_EQ(AsUser(user, [&] {
                  const int fd = ::open(path.c_str(), O_RDONLY);
                  return fd >= 0 ? 0 : errno;
                }),
                EACCES)
          << path;
      EXPECT_EQ(AsUser(user, [&] {
                  const int fd = ::open(path.c_str(), O_WRONLY);
                  return fd >= 0 ? 0 : errno;
                }),
                EACCES)
          << path;
    }
    EXPECT_EQ(AsUser(user, [&] {
                return ::opendir((store_ / "blobs").c_str()) ? 0 : errno;
              }),
              EACCES);
    // Even an admin of the registry changes it only through the mount.
    const RunResult cli = RunAs(user, {REGFS_BINARY, "--store", store_.string(),
                                       "alias", "set", "models", "x", "v0"});
    EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
    EXPECT_THAT(cli.err, ::testing::StartsWith("regfs: "));
    EXPECT_THAT(cli.err, ::testing::HasSubstr(Message(EACCES)));
  }
  EXPECT_EQ(AliasTarget("models", "x"), "");

  // Modes, as defense in depth: no directory of the store is open to
  // group or others, and no file is writable by them.
  struct stat st {};
  ASSERT_EQ(::stat(store_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& entry : stdfs::recursive_directory_iterator(store_)) {
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 077, 0u) << entry.path() << " is open to others";
    } else {
      EXPECT_EQ(st.st_mode & 022, 0u) << entry.path() << " is writable by others";
      // The one kind of non-file: a live mount daemon's listener socket,
      // which only the owner (and root) may connect to.
      if (S_ISSOCK(st.st_mode) &&
          entry.path().parent_path() == store_ / registry::kListenersDir) {
        EXPECT_EQ(st.st_mode & 077, 0u) << entry.path() << " is open to others";
        continue;
      }
      EXPECT_TRUE(S_ISREG(st.st_mode)) << entry.path();
    }
  }
}

}  // namespace
}  // namespace regfs::reliability
