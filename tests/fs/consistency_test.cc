// DESIGN.md "Consistency": own changes at once, the CLI's and other
// mounts' within a second, open files bound to their version.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;

class ConsistencyTest : public MountTest {};

TEST_F(ConsistencyTest, ChangeThroughTheMountIsVisibleAtOnce) {
  for (const char* target : {"v0", "v2", "v1", "v0"}) {
    // Warm the kernel's caches, then change and look immediately.
    ASSERT_EQ(RunAs(kRoot, {"cat", M("models/candidate").string()}).exit_code,
              0);
    ASSERT_EQ(
        RunAs(kMember, {"ln", "-sf", target, M("models/candidate").string()})
            .exit_code,
        0);
    std::error_code ec;
    EXPECT_EQ(stdfs::read_symlink(M("models/candidate"), ec).string(), target);
  }
  EXPECT_EQ(RunAs(kRoot, {"cat", M("models/candidate").string()}).out,
            "model zero\n");
}

TEST_F(ConsistencyTest, CliChangeIsVisibleWithinASecond) {
  ASSERT_EQ(RunAs(kRoot, {"readlink", M("models/candidate").string()}).out,
            "v1\n");
  ASSERT_EQ(RunAs(kRoot, {"cat", M("models/latest").string()}).exit_code, 0);
  const RunResult cli =
      RunAs(kRoot, {REGFS_BINARY, "--store", store_.string(), "alias", "set",
                    "models", "candidate", "v2"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  const auto took = WaitForLink(M("models/candidate"), "v2", 2s);
  ASSERT_TRUE(took.has_value()) << "the CLI's move never showed";
  EXPECT_LT(*took, 1000ms);

  // A new version moves `latest` and appears in the directory.
  registry::PushRequest v3;
  v3.collection = "models";
  v3.paths = {Src("m0")};
  ASSERT_TRUE(reg().Push(root_, v3).has_value());
  const auto latest = WaitForLink(M("models/latest"), "v3", 2s);
  ASSERT_TRUE(latest.has_value());
  EXPECT_LT(*latest, 1000ms);
  EXPECT_EQ(RunAs(kRoot, {"cat", M("models/v3").string()}).out, "model zero\n");
}

TEST_F(ConsistencyTest, DeletedVersionDisappearsWithinASecond) {
  struct stat st {};
  ASSERT_EQ(::stat(M("models/v0").c_str(), &st), 0);
  ASSERT_TRUE(reg().DeleteVersion(root_, "models", 0).has_value());
  const auto start = std::chrono::steady_clock::now();
  while (::stat(M("models/v0").c_str(), &st) == 0 &&
         std::chrono::steady_clock::now() - start < 2s) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(RunAs(kRoot, {"ls", M("models").string()}).out,
            "candidate\nlatest\nproduction\nv1\nv2\n");
}

// A lookup of vN answers with attributes the mount reads in blocks of
// numbers (Registry::GetVersionAttrs): a version made after its block was
// read still appears at once, with its own attributes, and a deleted one
// goes as any change shows.
TEST_F(ConsistencyTest, VersionsMadeOrDeletedAfterTheirBlockWasRead) {
  struct stat st {};
  // The first lookup reads v0 alone, the second reads the block.
  for (const char* v : {"models/v0", "models/v1", "models/v2"}) {
    ASSERT_EQ(::lstat(M(v).c_str(), &st), 0) << v << ": " << strerror(errno);
  }
  registry::PushRequest push;
  push.collection = "models";
  push.paths = {Src("m1")};
  auto v3 = reg().Push(root_, push);
  ASSERT_TRUE(v3.has_value());
  ASSERT_EQ(v3->number, 3u);
  ASSERT_EQ(::lstat(M("models/v3").c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), v3->size);
  EXPECT_EQ(st.st_uid, v3->creator_uid);
  EXPECT_EQ(st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000,
            v3->created);

  ASSERT_TRUE(reg().DeleteVersion(root_, "models", 0).has_value());
  const auto start = std::chrono::steady_clock::now();
  while (::lstat(M("models/v0").c_str(), &st) == 0 &&
         std::chrono::steady_clock::now() - start < 2s) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(errno, ENOENT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (const char* v : {"models/v1", "models/v2", "models/v3"}) {
    EXPECT_EQ(::lstat(M(v).c_str(), &st), 0) << v << ": " << strerror(errno);
  }
}

TEST_F(ConsistencyTest, OpenFileKeepsReadingItsVersion) {
  const std::string v1 = ReadFile(Src("m1"));
  const int fd = ::open(M("models/candidate").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string head(4096, '\0');
  ASSERT_EQ(::read(fd, head.data(), head.size()), 4096);

  ASSERT_EQ(RunAs(kMember, {"ln", "-sf", "v0", M("models/candidate").string()})
                .exit_code,
            0);
  ASSERT_TRUE(reg().SetAlias(root_, "models", "candidate", "v2").has_value());
  ASSERT_TRUE(WaitForLink(M("models/candidate"), "v2", 2s).has_value());

  std::string rest(v1.size(), '\0');
  size_t done = 0;
  while (true) {
    const ssize_t n = ::read(fd, rest.data() + done, rest.size() - done);
    ASSERT_GE(n, 0) << std::strerror(errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  rest.resize(done);
  EXPECT_TRUE(head + rest == v1)
      << "read " << head.size() + rest.size() << " bytes, not v1's content";
  EXPECT_EQ(RunAs(kRoot, {"cat", M("models/candidate").string()}).out,
            "model two\n");
}

TEST_F(ConsistencyTest, TwoMountsSeeEachOthersChanges) {
  const stdfs::path mnt2 = dir_ / "mnt2";
  stdfs::create_directories(mnt2);
  Mount second(store_, mnt2, dir_ / "mount2.log");
  ASSERT_TRUE(second.Start());
  ASSERT_EQ(
      RunAs(kRoot, {"readlink", (mnt2 / "models/candidate").string()}).out,
      "v1\n");
  ASSERT_EQ(RunAs(kRoot, {"readlink", M("models/candidate").string()}).out,
            "v1\n");

  ASSERT_EQ(RunAs(kMember, {"ln", "-sf", "v0", M("models/candidate").string()})
                .exit_code,
            0);
  auto took = WaitForLink(mnt2 / "models/candidate", "v0", 2s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, 1000ms);

  ASSERT_EQ(
      RunAs(kMember, {"ln", "-sf", "v2", (mnt2 / "models/candidate").string()})
          .exit_code,
      0);
  took = WaitForLink(M("models/candidate"), "v2", 2s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, 1000ms);

  ASSERT_EQ(RunAs(kMember, {"mkdir", (mnt2 / "fresh").string()}).exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    seen = stdfs::is_directory(M("fresh"));
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(second.Stop(), 0);
  EXPECT_FALSE(IsMounted(mnt2));
}

}  // namespace
}  // namespace regfs::fs::testing
