// fs/proc_groups.h: a caller's supplementary groups from its /proc status.
#include "fs/proc_groups.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace regfs::fs {
namespace {

using Groups = std::vector<gid_t>;

TEST(ProcGroupsTest, ParsesTheGroupsLine) {
  const std::string status =
      "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000\t1000"
      "\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t256\n"
      "Groups:\t4 24 27 1000 \nNStgid:\t4242\n";
  EXPECT_EQ(ParseStatusGroups(status), (Groups{4, 24, 27, 1000}));
}

TEST(ProcGroupsTest, NoGroupsIsAnEmptyList) {
  EXPECT_EQ(ParseStatusGroups("Name:\tx\nGroups:\t\nNStgid:\t1\n"), Groups{});
  EXPECT_EQ(ParseStatusGroups("Groups:"), Groups{});
}

TEST(ProcGroupsTest, OnlyALineThatStartsWithTheKeyCounts) {
  EXPECT_EQ(ParseStatusGroups("Name:\tGroups: 1 2\nGroups:\t3\n"), Groups{3});
  EXPECT_EQ(ParseStatusGroups("Name:\tGroups: 1 2\n"), std::nullopt);
  EXPECT_EQ(ParseStatusGroups(""), std::nullopt);
}

TEST(ProcGroupsTest, RefusesWhatIsNotAListOfGids) {
  EXPECT_EQ(ParseStatusGroups("Groups:\t1 x 2\n"), std::nullopt);
  EXPECT_EQ(ParseStatusGroups("Groups:\t1 -2\n"), std::nullopt);
  EXPECT_EQ(ParseStatusGroups("Groups:\t12a\n"), std::nullopt);
  EXPECT_EQ(ParseStatusGroups("Groups:\t99999999999\n"), std::nullopt);
}

Groups Sorted(Groups groups) {
  std::ranges::sort(groups);
  return groups;
}

Groups OwnGroups() {
  const int n = ::getgroups(0, nullptr);
  Groups groups(static_cast<size_t>(std::max(n, 0)));
  if (n > 0) ::getgroups(n, groups.data());
  return groups;
}

TEST(ProcGroupsTest, ReadsTheGroupsOfAThread) {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  auto groups = ReadProcGroups(tid);
  ASSERT_TRUE(groups.has_value());
  EXPECT_EQ(Sorted(*groups), Sorted(OwnGroups()));
  // Another thread of the process: FUSE reports the calling thread.
  std::optional<Groups> other;
  std::thread([&] {
    other = ReadProcGroups(static_cast<pid_t>(::syscall(SYS_gettid)));
  }).join();
  EXPECT_EQ(other, groups);
}

TEST(ProcGroupsTest, ReadsAStatusFileLongerThanTheBuffer) {
  // As root, a child takes 1000 groups: its status file outgrows the
  // first 4 KiB buffer, and every one of them still comes back.
  ASSERT_EQ(::geteuid(), 0u) << "setgroups needs root, as the mount tests do";
  Groups many;
  for (gid_t g = 100000; g < 101000; ++g) many.push_back(g);
  int ready[2];  // child -> parent: its groups are set
  int done[2];   // parent -> child: read; the child may exit
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char c = 0;
    ::close(ready[0]);
    ::close(done[1]);
    if (::setgroups(many.size(), many.data()) != 0) ::_exit(1);
    (void)::write(ready[1], "r", 1);
    (void)::read(done[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char c = 0;
  const bool set = ::read(ready[0], &c, 1) == 1;  // 0: setgroups failed
  const auto groups = ReadProcGroups(child);
  ::close(done[1]);
  ::close(ready[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(set) << "the child could not set its groups";
  ASSERT_TRUE(groups.has_value());
  EXPECT_EQ(Sorted(*groups), many);
}

TEST(ProcGroupsTest, AGoneThreadHasNoGroups) {
  EXPECT_EQ(ReadProcGroups(0), std::nullopt);
  EXPECT_EQ(ReadProcGroups(-1), std::nullopt);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(ReadProcGroups(child), std::nullopt);
}

}  // namespace
}  // namespace regfs::fs
