// A blob whose bytes no longer match its digest is never served: reading
// it through the mount fails with EIO (logged at warn with the version and
// the blob), while intact versions keep reading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;

class IntegrityMountTest : public MountTest {
 protected:
  // Flips one byte of the blob file behind `blob`.
  void Corrupt(const std::string& blob) {
    const stdfs::path path = reg().BlobPath(blob);
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    const char c = static_cast<char>(f.get());
    f.seekp(0);
    f.put(static_cast<char>(c ^ 1));
    ASSERT_TRUE(f.good());
  }
};

TEST_F(IntegrityMountTest, ACorruptFileVersionIsEioAndOthersStillRead) {
  auto v0 = reg().GetVersion("models", 0);
  ASSERT_TRUE(v0.has_value());
  Corrupt(v0->blob);
  for (const char* tool : {"cat", "md5sum"}) {
    const RunResult r = RunAs(kViewer, {tool, M("models/v0").string()});
    EXPECT_NE(r.exit_code, 0) << tool << ": " << r.out;
    EXPECT_THAT(r.err, HasSubstr("Input/output error")) << tool;
    EXPECT_TRUE(r.out.empty() || std::string(tool) == "md5sum") << r.out;
  }
  const RunResult v1 = RunAs(kViewer, {"md5sum", M("models/v1").string()});
  EXPECT_EQ(v1.exit_code, 0) << v1.err;
  const RunResult latest = RunAs(kViewer, {"cat", M("models/latest").string()});
  EXPECT_EQ(latest.exit_code, 0) << latest.err;
  const std::string log = DaemonLog();
  EXPECT_THAT(log, HasSubstr("models/v0")) << log;
  EXPECT_THAT(log, HasSubstr(v0->blob)) << log;
  EXPECT_THAT(log, HasSubstr("content changed")) << log;
}

TEST_F(IntegrityMountTest, ACorruptFileInsideATreeIsEio) {
  auto v = reg().GetVersion("zoo", 0);
  ASSERT_TRUE(v.has_value());
  auto labels = reg().LookupTree(v->id, 0, "zoo_labels.pt");
  ASSERT_TRUE(labels.has_value());
  Corrupt(labels->blob);
  const RunResult bad = RunAs(kViewer, {"cat", M("zoo/v0/zoo_labels.pt").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("Input/output error"));
  const RunResult good = RunAs(kViewer, {"cat", M("zoo/v0/zoo_dataset.pt").string()});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, "dataset bytes\n");
  EXPECT_THAT(DaemonLog(), HasSubstr("zoo/v0/zoo_labels.pt"));
}

TEST_F(IntegrityMountTest, AMissingBlobIsEio) {
  auto v2 = reg().GetVersion("models", 2);
  ASSERT_TRUE(v2.has_value());
  ASSERT_TRUE(stdfs::remove(reg().BlobPath(v2->blob)));
  const RunResult r = RunAs(kViewer, {"cat", M("models/v2").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Input/output error"));
  EXPECT_THAT(DaemonLog(), HasSubstr("is missing"));
}

}  // namespace
}  // namespace regfs::fs::testing
