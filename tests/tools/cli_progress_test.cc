// The push progress bar: drawn on a terminal for large pushes, never into
// a pipe or a log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class CliProgressTest : public CliTest {
 protected:
  // A sparse file just over the threshold (64 MiB).
  std::string LargeFile() const {
    const std::string path = WriteFile("large.bin", "x");
    std::filesystem::resize_file(path, (uint64_t{64} << 20) + 4096);
    return path;
  }
};

TEST_F(CliProgressTest, LargePushShowsProgressOnATerminal) {
  const RunResult r = Regfs({"push", "big", LargeFile()}, {.stderr_tty = true});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("pushing big ["));
  EXPECT_THAT(r.err, HasSubstr("%  "));
  // The bar erases itself; the result goes to stdout.
  EXPECT_THAT(r.err, ::testing::EndsWith("\r\x1b[K"));
  EXPECT_THAT(r.out, StartsWith("big/v0  (64.0 MiB, digest "));
}

TEST_F(CliProgressTest, NoProgressIntoAPipe) {
  const RunResult r = Regfs({"push", "big", LargeFile()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliProgressTest, NoProgressForSmallPushes) {
  const RunResult r =
      Regfs({"push", "small", WriteFile("s", "tiny")}, {.stderr_tty = true});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace regfs::tools::testing
