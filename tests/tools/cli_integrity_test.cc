// The command line and damaged content: a file that changes while `regfs
// push` copies it is refused; `regfs verify` and `regfs fsck` name the
// versions whose blobs are corrupt or missing.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class CliIntegrityTest : public CliTest {
 protected:
  // The blob file behind COLLECTION/vN, from `regfs resolve`.
  std::string BlobOf(const std::string& version) {
    const std::string out = Ok({"resolve", version});
    return out.substr(out.find(' ') + 1, out.size() - out.find(' ') - 2);
  }
  void Corrupt(const std::string& blob) {
    ASSERT_EQ(::chmod(blob.c_str(), 0644), 0);
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1);
    f.put('#');
    ASSERT_TRUE(f.good());
  }
};

TEST_F(CliIntegrityTest, PushOfAFileBeingWrittenFails) {
  const std::string path = WriteFile("growing.bin", std::string(32 << 20, 'g'));
  // A writer that keeps changing the file for as long as the push runs.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    for (off_t at = 0; !stop.load(); at = (at + 4096) % (32 << 20)) {
      if (::pwrite(fd, "w", 1, at) != 1) break;
    }
    ::close(fd);
  });
  const RunResult r = Regfs({"push", "data", path});
  stop.store(true);
  writer.join();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.err, HasSubstr("regfs: " + path +
                               " changed while it was being pushed"));
  EXPECT_THAT(r.err, HasSubstr("push it again when it is complete"));
  EXPECT_EQ(Regfs({"ls", "data"}).exit_code, 1) << "nothing was committed";
  const std::string pushed = Ok({"push", "data", path});  // now it is quiet
  EXPECT_THAT(pushed, HasSubstr("data/v0"));
}

TEST_F(CliIntegrityTest, VerifyPrintsALinePerVersionAndFailsOnCorruption) {
  Ok({"push", "m", WriteFile("a", "first weights")});
  Ok({"push", "m", WriteFile("b", "second weights")});
  EXPECT_EQ(Ok({"verify", "m"}), "m/v0: ok\nm/v1: ok\n");
  EXPECT_EQ(Ok({"verify", "m/latest"}), "m/v1: ok\n");

  const std::string blob = BlobOf("m/v1");
  Corrupt(blob);
  const RunResult all = Regfs({"verify", "m"});
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_THAT(all.out, MatchesRegex("m/v0: ok\nm/v1: CORRUPT: blob "
                                    "[0-9a-f]+ has hash [0-9a-f]+: its content "
                                    "changed\n"));
  EXPECT_EQ(all.err, "regfs: 1 of 2 versions of m is corrupt\n");
  EXPECT_EQ(Ok({"verify", "m/v0"}), "m/v0: ok\n");
  const RunResult one = Regfs({"verify", "m/v1", "--json"});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_THAT(one.out, HasSubstr("\"ok\":false"));
  EXPECT_EQ(Refused({"verify", "nosuch"}).find("nosuch") != std::string::npos,
            true);
}

TEST_F(CliIntegrityTest, FsckListsTheAffectedVersions) {
  Ok({"push", "m", WriteFile("a", "shared")});
  Ok({"push", "m", WriteFile("b", "other")});
  Ok({"push", "m", WriteFile("c", "shared")});
  Ok({"push", "t", WriteFile("tree/x.bin", "x"), WriteFile("tree/y.bin", "y")});
  Corrupt(BlobOf("m/v0"));
  const RunResult r = Regfs({"fsck"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("(in m/v0, m/v2)\n"));
  EXPECT_THAT(r.out, HasSubstr("affected: m/v0\naffected: m/v2\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("m/v1")));
  EXPECT_THAT(r.err, HasSubstr("fsck found 1 problem"));
}

TEST_F(CliIntegrityTest, FsckRepairReportsFsVerity) {
  Ok({"push", "m", WriteFile("a", "weights")});
  const std::string out = Ok({"fsck", "--repair"});
  EXPECT_THAT(out, MatchesRegex("(.|\n)*fs-verity: (enabled on 1 blob|not "
                                "supported by the store's file system "
                                ".*)\n(.|\n)*"));
  EXPECT_THAT(out, HasSubstr(": clean\n"));
}

}  // namespace
}  // namespace regfs::tools::testing
