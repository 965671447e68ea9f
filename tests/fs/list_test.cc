// Listing big directories: readdirplus gives each entry's attributes with
// the listing, so `ls -l` of a collection asks no lookup per name. These
// tests check that what it gives is what lookup and stat give, over
// several reply buffers (an entry that does not fit in one is given again
// in the next), and that an alias moved after a listing shows its new
// target in the next one.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;

class ListTest : public MountTest {
 protected:
  // A collection `many` of `n` one-line file versions, and an alias to
  // every tenth.
  void MakeMany(int n) {
    for (int i = 0; i < n; ++i) {
      const stdfs::path src = dir_ / "one.txt";
      WriteFile(src, "version " + std::to_string(i) + "\n");
      registry::PushRequest push;
      push.collection = "many";
      push.paths = {src};
      if (i % 10 == 0) push.aliases = {"a" + std::to_string(i)};
      ASSERT_TRUE(reg().Push(root(), push).has_value()) << i;
    }
  }
};

TEST_F(ListTest, LongListingOfManyVersionsMatchesStat) {
  constexpr int kVersions = 250;
  MakeMany(kVersions);
  const RunResult ls = RunAs(kMember, {"ls", "-l", M("many").string()});
  ASSERT_EQ(ls.exit_code, 0) << ls.err << DaemonLog();
  // "total", the versions, an alias to every tenth, latest (.history is
  // a dot-name: ls -l leaves it out).
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'),
            1 + kVersions + kVersions / 10 + 1);
  EXPECT_THAT(ls.out, HasSubstr("a240 -> v240\n"));
  EXPECT_THAT(ls.out, HasSubstr("latest -> v249\n"));

  // Every name the listing gives stats as itself.
  DIR* dir = opendir(M("many").c_str());
  ASSERT_NE(dir, nullptr);
  std::map<std::string, ino_t> listed;
  while (const dirent* e = readdir(dir)) listed[e->d_name] = e->d_ino;
  closedir(dir);
  ASSERT_EQ(listed.size(), 2u + 1 + kVersions + kVersions / 10 + 1);
  for (const auto& [name, ino] : listed) {
    if (name == "." || name == "..") continue;
    struct stat st {};
    ASSERT_EQ(lstat(M("many/" + name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_ino, ino) << name;
    if (name.starts_with("v")) {
      const std::string n = name.substr(1);
      EXPECT_EQ(st.st_size,
                static_cast<off_t>(("version " + n + "\n").size()))
          << name;
      EXPECT_EQ(st.st_mode, S_IFREG | 0444) << name;
    }
  }
}

TEST_F(ListTest, MovedAliasShowsItsNewTargetInTheNextListing) {
  MakeMany(50);
  const RunResult before = RunAs(kMember, {"ls", "-l", M("many").string()});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_THAT(before.out, HasSubstr("a20 -> v20\n"));
  ASSERT_TRUE(reg().SetAlias(root(), "many", "a20", "v7").has_value());
  const RunResult after = RunAs(kMember, {"ls", "-l", M("many").string()});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, HasSubstr("a20 -> v7\n")) << DaemonLog();
}

// readdirplus answers for a version with the attributes its collection's
// listing read (no lookup of each): they are what a lookup gives, for a
// file and for a tree.
TEST_F(ListTest, ListedVersionsHaveTheAttributesOfALookup) {
  MakeMany(3);
  const stdfs::path tree = dir_ / "tree";
  stdfs::create_directories(tree / "sub");
  WriteFile(tree / "a.txt", "a\n");
  WriteFile(tree / "sub" / "b.txt", "bb\n");
  registry::PushRequest push;
  push.collection = "trees";
  push.paths = {tree};
  ASSERT_TRUE(reg().Push(root(), push).has_value());

  const auto stat_all = [&](const std::string& collection) {
    std::map<std::string, struct stat> out;
    DIR* dir = opendir(M(collection).c_str());
    EXPECT_NE(dir, nullptr);
    if (dir == nullptr) return out;
    std::vector<std::string> names;
    while (const dirent* e = readdir(dir)) {
      if (std::string(e->d_name).starts_with("v")) names.push_back(e->d_name);
    }
    closedir(dir);
    for (const std::string& name : names) {
      struct stat st {};
      const std::string path = collection + "/" + name;
      EXPECT_EQ(lstat(M(path).c_str(), &st), 0) << path;
      out[path] = st;
    }
    return out;
  };
  // Attributes from the listings.
  auto listed = stat_all("many");
  listed.merge(stat_all("trees"));
  ASSERT_EQ(listed.size(), 4u);
  EXPECT_TRUE(S_ISREG(listed.at("many/v2").st_mode));
  EXPECT_TRUE(S_ISDIR(listed.at("trees/v0").st_mode));
  // Dentries and inodes dropped: every name is looked up again.
  WriteFile("/proc/sys/vm/drop_caches", "2\n");
  for (const auto& [name, st] : listed) {
    struct stat looked {};
    ASSERT_EQ(lstat(M(name).c_str(), &looked), 0) << name;
    EXPECT_EQ(st.st_ino, looked.st_ino) << name;
    EXPECT_EQ(st.st_mode, looked.st_mode) << name;
    EXPECT_EQ(st.st_size, looked.st_size) << name;
    EXPECT_EQ(st.st_uid, looked.st_uid) << name;
    EXPECT_EQ(st.st_gid, looked.st_gid) << name;
    EXPECT_EQ(st.st_nlink, looked.st_nlink) << name;
    EXPECT_EQ(st.st_mtim.tv_sec, looked.st_mtim.tv_sec) << name;
    EXPECT_EQ(st.st_mtim.tv_nsec, looked.st_mtim.tv_nsec) << name;
  }
}

}  // namespace
}  // namespace regfs::fs::testing
