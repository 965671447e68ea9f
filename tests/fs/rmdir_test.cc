// `rmdir` of a collection through the mount, with the real `rmdir` tool:
// members and admins delete an empty collection (a typo, or what a failed
// `mkdir -p a/b` leaves); viewers get EACCES, a collection with versions
// ENOTEMPTY. `ls` stops listing it, the name can be made again (a fresh
// inode), and another mount of the store sees the deletion.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;

class RmdirTest : public MountTest {
 protected:
  std::set<std::string> Ls(const stdfs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : stdfs::directory_iterator(dir)) {
      names.insert(e.path().filename().string());
    }
    return names;
  }
  ino_t InoOf(const stdfs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << errno;
    return st.st_ino;
  }
};

TEST_F(RmdirTest, MembersAndAdminsRemoveEmptyCollections) {
  struct Case {
    const char* what;
    User user;
    int exit_code;
    const char* message;  // in rmdir's stderr
  };
  const Case cases[] = {
      {"viewer", kViewer, 1, "Permission denied"},
      {"no role", kNoRole, 1, "Permission denied"},
      {"member", kMember, 0, ""},
      {"admin", kAdmin, 0, ""},
      {"root", kRoot, 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_EQ(RunAs(kMember, {"mkdir", M("typo").string()}).exit_code, 0);
    const RunResult rmdir = RunAs(c.user, {"rmdir", M("typo").string()});
    EXPECT_EQ(rmdir.exit_code, c.exit_code) << rmdir.err << DaemonLog();
    EXPECT_THAT(rmdir.err, HasSubstr(c.message));
    EXPECT_EQ(Ls(mnt_).contains("typo"), c.exit_code != 0);
    EXPECT_EQ(reg().GetCollection("typo").has_value(), c.exit_code != 0);
    if (c.exit_code != 0) {
      ASSERT_EQ(RunAs(kRoot, {"rmdir", M("typo").string()}).exit_code, 0);
    }
  }
  // The history says who deleted it.
  auto events = EventsAfter(LastSeq() - 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, registry::EventType::kCollectionDelete);
  EXPECT_EQ(events[0].interface, registry::Interface::kFs);
}

TEST_F(RmdirTest, NonEmptyAndOtherDirectoriesAreRefused) {
  struct Case {
    const char* what;
    User user;
    std::string path;
    const char* message;
  };
  const Case cases[] = {
      {"member, versions", kMember, M("models").string(),
       "Directory not empty"},
      {"root, versions", kRoot, M("zoo").string(), "Directory not empty"},
      {"viewer, versions", kViewer, M("models").string(),
       "Permission denied"},
      {"tree version", kRoot, M("zoo/v0").string(),
       "Operation not permitted"},
      {"control dir", kRoot, M(".regfs").string(), "Operation not permitted"},
      {"missing", kRoot, M("nothing").string(), "No such file"},
  };
  const uint64_t seq = LastSeq();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const RunResult rmdir = RunAs(c.user, {"rmdir", c.path});
    EXPECT_NE(rmdir.exit_code, 0);
    EXPECT_THAT(rmdir.err, HasSubstr(c.message)) << DaemonLog();
  }
  EXPECT_EQ(LastSeq(), seq);
  EXPECT_THAT(DaemonLog(), HasSubstr("regfs rm models --all"));
}

TEST_F(RmdirTest, FailedMkdirPLeavesADirectoryThatRmdirRemoves) {
  const RunResult mkdir = RunAs(kMember, {"mkdir", "-p", M("a/b").string()});
  EXPECT_NE(mkdir.exit_code, 0);
  ASSERT_TRUE(Ls(mnt_).contains("a"));
  const RunResult rmdir = RunAs(kMember, {"rmdir", M("a").string()});
  ASSERT_EQ(rmdir.exit_code, 0) << rmdir.err << DaemonLog();
  EXPECT_FALSE(Ls(mnt_).contains("a"));
  EXPECT_EQ(::access(M("a").c_str(), F_OK) == 0 ? 0 : errno, ENOENT);
}

TEST_F(RmdirTest, RecreatedNameIsANewCollection) {
  ASSERT_EQ(RunAs(kMember, {"mkdir", M("data").string()}).exit_code, 0);
  const ino_t old_ino = InoOf(M("data"));
  ASSERT_EQ(RunAs(kMember, {"rmdir", M("data").string()}).exit_code, 0);
  ASSERT_EQ(RunAs(kMember, {"mkdir", M("data").string()}).exit_code, 0);
  EXPECT_NE(InoOf(M("data")), old_ino);
  EXPECT_TRUE(Ls(mnt_).contains("data"));
  EXPECT_EQ(Ls(M("data")), std::set<std::string>{".history"});
  // It works as a collection: an alias to a pushed version shows.
  registry::PushRequest push;
  push.collection = "data";
  WriteFile(Src("d.bin"), "data");
  push.paths = {Src("d.bin")};
  auto v = reg().Push(root(), push);
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(ReadFile(M("data/latest")), "data");
}

// Deleted by the CLI (another process): the mount's caches and the
// kernel's entry go, through the watcher.
TEST_F(RmdirTest, DeletionByAnotherProcessIsSeen) {
  ASSERT_EQ(RunAs(kMember, {"mkdir", M("gone").string()}).exit_code, 0);
  const ino_t old_ino = InoOf(M("gone"));
  ASSERT_TRUE(Ls(mnt_).contains("gone"));
  auto done = reg().DeleteCollection(root(), "gone", /*all=*/false);
  ASSERT_TRUE(done.has_value()) << done.error().message;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (::access(M("gone").c_str(), F_OK) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(::access(M("gone").c_str(), F_OK) == 0 ? 0 : errno, ENOENT);
  EXPECT_FALSE(Ls(mnt_).contains("gone"));
  ASSERT_TRUE(reg().CreateCollection(root(), "gone").has_value());
  const auto again =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (::access(M("gone").c_str(), F_OK) != 0 &&
         std::chrono::steady_clock::now() < again) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(InoOf(M("gone")), old_ino);
}

// .regfs/at/<before>/ still shows a deleted collection; after, it is gone.
TEST_F(RmdirTest, TimeTravelShowsTheDeletedCollectionBefore) {
  ASSERT_EQ(RunAs(kMember, {"mkdir", M("old").string()}).exit_code, 0);
  const std::string before = std::to_string(LastSeq());
  ASSERT_EQ(RunAs(kMember, {"rmdir", M("old").string()}).exit_code, 0);
  const std::string after = std::to_string(LastSeq());
  const stdfs::path at = M(".regfs/at");
  EXPECT_TRUE(Ls(at / before).contains("old")) << DaemonLog();
  EXPECT_EQ(Ls(at / before / "old"), std::set<std::string>{});
  EXPECT_FALSE(Ls(at / after).contains("old"));
  EXPECT_EQ(::access((at / after / "old").c_str(), F_OK) == 0 ? 0 : errno,
            ENOENT);
}

// A mount frozen before the deletion keeps showing the collection, its
// aliases included, even after the deletion happens while it runs.
TEST_F(RmdirTest, FrozenMountKeepsTheDeletedCollection) {
  ASSERT_TRUE(reg().CreateAlias(root(), "zoo", "keep", "v0").has_value());
  const uint64_t before = LastSeq();
  const stdfs::path frozen = dir_ / "frozen";
  stdfs::create_directories(frozen);
  Mount pinned(store_, frozen, dir_ / "frozen.log",
               {"--as-of", std::to_string(before)});
  ASSERT_TRUE(pinned.Start());
  EXPECT_TRUE(Ls(frozen).contains("zoo"));
  auto done = reg().DeleteCollection(root(), "zoo", /*all=*/true);
  ASSERT_TRUE(done.has_value()) << done.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // watcher
  EXPECT_TRUE(Ls(frozen).contains("zoo"));
  EXPECT_EQ(Ls(frozen / "zoo"),
            (std::set<std::string>{".history", "keep", "latest"}))
      << ReadFile(dir_ / "frozen.log");
  EXPECT_FALSE(Ls(mnt_).contains("zoo"));
}

}  // namespace
}  // namespace regfs::fs::testing
