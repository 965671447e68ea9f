// `regfs` on a shared store whose blobs live in S3 (issue 17), as a user
// runs it: two store directories ("nodes") joined to one registry in a
// throwaway PostgreSQL database, with their blobs in a throwaway s3rver
// (tests/registry/s3_test_server.h). Init, the node cache's commands, a
// real mount of the second node through an outage, fsck and gc.
// Labels: postgres, s3 (and the mount needs /dev/fuse).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/registry/pg_server.h"
#include "tests/registry/s3_test_server.h"
#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;
using ::regfs::registry::testing::S3TestServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// `cat FILE` as a user runs it, under timeout(1): a read that hangs is
// killed after 30 s and shows as exit 124 instead of hanging the test.
struct CatResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CatResult Cat(const stdfs::path& file) {
  const std::string command = "timeout 30 cat '" + file.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  CatResult result;
  if (pipe == nullptr) {
    result.output = std::string("popen: ") + std::strerror(errno);
    return result;
  }
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) {
    result.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Expects `r` to be a refusal: exit 1, nothing on stdout, one
// "regfs: ..." line on stderr.
void ExpectOneLineError(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 1) << "stdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("regfs: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
}

class CliS3Test : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // The children inherit the credentials, as from a user's shell.
    ::setenv("AWS_ACCESS_KEY_ID", S3TestServer::kAccessKeyId, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3TestServer::kSecretAccessKey, 1);
    ::setenv("AWS_REGION", S3TestServer::kRegion, 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL");
    ::unsetenv("AWS_PROFILE");
    auto s3 = S3TestServer::Start();
    ASSERT_TRUE(s3.has_value())
        << "the test S3 server did not start: " << s3.error().message;
    s3_ = std::move(*s3);
    auto server = registry::testing::PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: "
        << server.error().message;
    auto conninfo = (*server)->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << conninfo.error().message;
    metadata_ = *conninfo;
    mountpoint_ = dir() / "mnt";
    stdfs::create_directory(mountpoint_);
  }

  // Never leave a mount behind; unmounted before the S3 server stops.
  void TearDown() override {
    UnmountIfMounted(mountpoint_);
    CliTest::TearDown();
  }

  std::string BlobsUrl() const { return "s3://" + s3_->bucket() + "/team"; }

  std::vector<std::string> InitArgs() const {
    return {"init",          "--metadata",   metadata_,
            "--blobs",       BlobsUrl(),     "--s3-endpoint",
            s3_->endpoint(), "--cache-size", "64M"};
  }
  std::string Init(const std::string& node) const {
    return OkOn(node, InitArgs());
  }
  // Adds `line` to NODE's shared-store.conf, as a user edits it.
  void AddToConfig(const std::string& node, const std::string& line) const {
    std::ofstream conf(dir() / node / "shared-store.conf", std::ios::app);
    conf << line << "\n";
  }

  // The object of `blob` in the server's data directory.
  stdfs::path ObjectFile(const std::string& blob) const {
    return s3_->ObjectFile("team/blobs/" + blob);
  }

  std::unique_ptr<S3TestServer> s3_;
  std::string metadata_;
  stdfs::path mountpoint_;
};

TEST_F(CliS3Test, InitPrintsWhatItDidAndASecondNodeJoins) {
  const std::string a = Init("node-a");
  EXPECT_THAT(a, StartsWith("initialized an empty shared registry in " +
                            metadata_ + " (blobs in " + BlobsUrl() + ")"));
  EXPECT_THAT(a, HasSubstr("this node caches up to 64.0 MiB of the blobs in " +
                           (dir() / "node-a" / "blobs").string()));
  const std::string b = Init("node-b");
  EXPECT_THAT(b, StartsWith("joined the existing registry in " + metadata_ +
                            " (blobs in " + BlobsUrl() + ")"));
  // The configuration names the bucket and the endpoint, never a secret.
  const std::string conf = ReadFile(dir() / "node-b" / "shared-store.conf");
  EXPECT_THAT(conf, HasSubstr("blobs = " + BlobsUrl()));
  EXPECT_THAT(conf, HasSubstr("s3-endpoint = " + s3_->endpoint()));
  EXPECT_THAT(conf, Not(HasSubstr(S3TestServer::kSecretAccessKey)));
}

TEST_F(CliS3Test, AWrongSecretFailsInitWithOneLineAndNoStore) {
  const std::string secret = "not-the-secret-9f3k";
  RunOptions options;
  options.env = {"AWS_SECRET_ACCESS_KEY=" + secret};
  const RunResult r = On("node-a", InitArgs(), options);
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, Not(HasSubstr(secret)));
  EXPECT_FALSE(stdfs::exists(dir() / "node-a"));
}

TEST_F(CliS3Test, TheCacheIsListedWarmedAndDropped) {
  Init("node-a");
  Init("node-b");
  OkOn("node-a", {"push", "models", WriteFile("model.bin", "weights v0"),
                  "--alias", "production"});
  EXPECT_THAT(OkOn("node-b", {"cache", "ls"}),
              StartsWith("0 blobs cached, 0 B of 64.0 MiB (blobs in " +
                         BlobsUrl() + ";"));
  EXPECT_THAT(OkOn("node-b", {"cache", "warm", "models/production"}),
              StartsWith("models/production: 1 blob (10 B), 1 fetched, 0 "
                         "already cached"));
  EXPECT_THAT(OkOn("node-b", {"cache", "warm", "models/v0"}),
              HasSubstr("0 fetched, 1 already cached"));
  const auto json =
      nlohmann::json::parse(OkOn("node-b", {"cache", "ls", "--json"}));
  EXPECT_EQ(json["blobs_in"], BlobsUrl());
  EXPECT_EQ(json["limit"], 64u << 20);
  EXPECT_EQ(json["bytes"], 10u);
  ASSERT_EQ(json["blobs"].size(), 1u);
  const std::string key = json["blobs"][0]["key"];
  EXPECT_EQ(json["blobs"][0]["size"], 10u);
  EXPECT_EQ(json["blobs"][0]["open"], false);
  const std::string text = OkOn("node-b", {"cache", "ls"});
  EXPECT_THAT(text, HasSubstr(key));
  EXPECT_THAT(text, HasSubstr("1 blob cached, 10 B of 64.0 MiB"));
  EXPECT_THAT(OkOn("node-b", {"cache", "drop"}),
              StartsWith("dropped 1 cached blob (10 B); 0 kept: open"));
  EXPECT_THAT(OkOn("node-b", {"cache", "ls"}), StartsWith("0 blobs cached"));
  // A version that is not there is refused in one line.
  ExpectOneLineError(On("node-b", {"cache", "warm", "models/v9"}));
}

TEST_F(CliS3Test, CacheCommandsOnAnEmbeddedStoreAreRefused) {
  // CliTest made store() an embedded store.
  const std::string line = Refused({"cache", "ls"});
  EXPECT_THAT(line, HasSubstr("S3"));
}

// Node b reads through its mount what node a pushed; with the S3 server
// down, what b has cached still reads and the rest fails with EIO (within
// the store's timeout, never a hang); once the server is back, it reads.
TEST_F(CliS3Test, AMountReadsThroughAnOutage) {
  ASSERT_TRUE(HasFuseDevice()) << kNoFuse;
  Init("node-a");
  Init("node-b");
  // A short timeout, as a user would set it in the file, keeps the
  // outage's failures quick.
  AddToConfig("node-b", "timeout = 2");
  OkOn("node-a", {"push", "models", WriteFile("m0", "weights zero")});
  OkOn("node-a", {"push", "models", WriteFile("m1", "weights one")});
  const RunResult mounted = On("node-b", {"mount", mountpoint_.string()});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));
  // b's cache is empty: the read fetches the object.
  const CatResult first = Cat(mountpoint_ / "models" / "v0");
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output, "weights zero");

  s3_->Kill();
  const CatResult cached = Cat(mountpoint_ / "models" / "v0");
  EXPECT_EQ(cached.exit_code, 0) << cached.output;
  EXPECT_EQ(cached.output, "weights zero");
  const CatResult uncached = Cat(mountpoint_ / "models" / "v1");
  EXPECT_NE(uncached.exit_code, 0) << uncached.output;
  EXPECT_NE(uncached.exit_code, 124) << "the read hung";
  EXPECT_THAT(uncached.output, HasSubstr("Input/output error"));

  ASSERT_TRUE(s3_->Restart().has_value());
  const CatResult back = Cat(mountpoint_ / "models" / "v1");
  EXPECT_EQ(back.exit_code, 0) << back.output;
  EXPECT_EQ(back.output, "weights one");

  const std::string command = "fusermount3 -u '" + mountpoint_.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_FALSE(IsMounted(mountpoint_));
}

// `prefetch = production` in node b's configuration: when node a moves
// the alias, b's mount fetches the new target before anyone opens it.
TEST_F(CliS3Test, AMountPrefetchesTheNewTargetOfAMovedAlias) {
  ASSERT_TRUE(HasFuseDevice()) << kNoFuse;
  Init("node-a");
  Init("node-b");
  AddToConfig("node-b", "prefetch = production");
  OkOn("node-a", {"push", "models", WriteFile("m0", "weights zero"), "--alias",
                  "production"});
  OkOn("node-a", {"push", "models", WriteFile("m1", "weights one")});
  OkOn("node-a", {"push", "models", WriteFile("m2", "weights two")});
  const RunResult mounted = On("node-b", {"mount", mountpoint_.string()});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mountpoint_));
  // The mount knows the collection once it has been looked at.
  ASSERT_TRUE(stdfs::exists(mountpoint_ / "models" / "production"));
  OkOn("node-a", {"alias", "set", "models", "production", "v1"});
  // Waits for the condition (the notification, then the download); the
  // bound only keeps a failure from hanging.
  auto cached = [&] {
    const auto json =
        nlohmann::json::parse(OkOn("node-b", {"cache", "ls", "--json"}));
    std::vector<uint64_t> sizes;
    for (const auto& blob : json["blobs"]) sizes.push_back(blob["size"]);
    return sizes;
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (cached().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // v1 ("weights one", 11 bytes) only: not v0, nor v2 (latest).
  EXPECT_EQ(cached(), std::vector<uint64_t>{11});
  const std::string command = "fusermount3 -u '" + mountpoint_.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
}

// A push uploads before it commits: with the S3 server down it fails in
// one line and leaves no version; once the server is back, it works.
TEST_F(CliS3Test, APushDuringAnOutageFailsAndCommitsNothing) {
  Init("node-a");
  AddToConfig("node-a", "timeout = 2");
  OkOn("node-a", {"push", "models", WriteFile("m0", "weights zero")});
  s3_->Kill();
  const RunResult r = On("node-a", {"push", "models", WriteFile("m1", "one"),
                                    "--alias", "production"});
  ExpectOneLineError(r);
  EXPECT_THAT(r.err, HasSubstr("s3"));
  const auto listed =
      nlohmann::json::parse(OkOn("node-a", {"ls", "models", "--json"}));
  EXPECT_THAT(listed.dump(), HasSubstr("\"v0\""));
  EXPECT_THAT(listed.dump(), Not(HasSubstr("\"v1\"")));
  EXPECT_THAT(listed.dump(), Not(HasSubstr("production")));
  ASSERT_TRUE(s3_->Restart().has_value());
  EXPECT_THAT(OkOn("node-a", {"push", "models", WriteFile("m1", "one")}),
              StartsWith("models/v1  ("));
}

TEST_F(CliS3Test, FsckFindsAMissingObjectAndGcPrintsItsLines) {
  Init("node-a");
  OkOn("node-a", {"push", "models", WriteFile("m0", "weights zero")});
  OkOn("node-a", {"push", "data", WriteFile("d0", "rows")});
  EXPECT_THAT(OkOn("node-a", {"fsck"}),
              HasSubstr("checked 2 versions and 2 blobs"));
  EXPECT_THAT(OkOn("node-a", {"fsck", "--contents"}), HasSubstr(": clean"));
  const auto json =
      nlohmann::json::parse(OkOn("node-a", {"cache", "ls", "--json"}));
  ASSERT_EQ(json["blobs"].size(), 2u);
  // The object of "weights zero" goes missing from the bucket.
  std::string lost;
  for (const auto& blob : json["blobs"]) {
    if (blob["size"] == 12u) lost = blob["key"];
  }
  ASSERT_FALSE(lost.empty());
  ASSERT_TRUE(stdfs::remove(ObjectFile(lost)));
  const RunResult r = On("node-a", {"fsck"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(lost));
  EXPECT_THAT(r.out, HasSubstr("affected: models/v0"));
  EXPECT_THAT(r.err, StartsWith("regfs: fsck found 1 problem"));
  const std::string gc = OkOn("node-a", {"gc"});
  EXPECT_THAT(gc, HasSubstr("removed 0 unreferenced blobs"));
  EXPECT_THAT(gc, HasSubstr("aborted 0 unfinished uploads"));
  EXPECT_THAT(gc, HasSubstr("from this node's cache"));
}

TEST_F(CliS3Test, WarmingMoreThanTheCacheHoldsSaysSo) {
  Init("node-a");
  std::vector<std::string> init = InitArgs();
  init.back() = "1M";  // --cache-size
  OkOn("node-b", init);
  OkOn("node-a",
       {"push", "models", WriteFile("m0", std::string(700 << 10, 'a'))});
  OkOn("node-a",
       {"push", "models", WriteFile("m1", std::string(700 << 10, 'b'))});
  const RunResult r = On("node-b", {"cache", "warm", "models/v0", "models/v1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("more than this node's cache-size of 1.0 MiB"));
  const RunResult one = On("node-b", {"cache", "warm", "models/v1"});
  EXPECT_EQ(one.err, "");
}

// Whether s3rver holds a part of an unfinished multipart upload: a file
// named by its part number in BUCKET/._S3rver_uploads/UPLOAD_ID/.
bool HasUploadedPart(const stdfs::path& bucket_dir) {
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(bucket_dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const stdfs::path& path = it->path();
    if (path.string().find("_S3rver_uploads") != std::string::npos &&
        it->is_regular_file() && path.filename() == "1") {
      return true;
    }
  }
  return false;
}

TEST_F(CliS3Test, APushKilledHalfwayThroughItsMultipartUploadLeavesNothing) {
  Init("node-a");
  std::ofstream(dir() / "node-a" / "shared-store.conf", std::ios::app)
      << "gc-grace = 0\n";
  // 80 MiB: past the 64 MiB multipart threshold, five 16 MiB parts.
  const stdfs::path big = dir() / "files" / "big.bin";
  {
    std::ofstream out(big, std::ios::binary);
    std::string chunk(1 << 20, '\0');
    for (int i = 0; i < 80; ++i) {
      chunk[0] = static_cast<char>(i);
      out << chunk;
    }
  }
  RunningRegfs push(
      {"--store", (dir() / "node-a").string(), "push", "models", big.string()});
  // Halfway: once the server holds a part, it freezes (so that the
  // upload cannot finish meanwhile) and the push is killed.
  const stdfs::path bucket_dir = s3_->data_dir() / s3_->bucket();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!HasUploadedPart(bucket_dir) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ASSERT_TRUE(HasUploadedPart(bucket_dir)) << "the push never began its parts";
  s3_->Freeze();
  EXPECT_EQ(push.Stop(SIGKILL), 128 + SIGKILL);
  s3_->Thaw();
  // No version, and after gc no object under the prefix.
  const RunResult ls = On("node-a", {"ls", "models"});
  EXPECT_NE(ls.exit_code, 0) << ls.out;
  OkOn("node-a", {"gc"});
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(bucket_dir / "team", ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    EXPECT_FALSE(it->path().string().ends_with("._S3rver_object"))
        << "an orphan object: " << it->path();
  }
  EXPECT_EQ(OkOn("node-a", {"fsck"}).find("problem"), std::string::npos);
}

}  // namespace
}  // namespace regfs::tools::testing
