// The tests' S3 server (s3_test_server.h) does what the S3 tests rely on:
// it checks SigV4 signatures, keeps objects where ObjectFile() says, and
// its outages (Kill, Freeze) and recovery (Restart, Thaw) look to a client
// as a real outage would. The requests are signed by libcurl, as the
// registry's S3 client signs them (issue 17).
#include "tests/registry/s3_test_server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace regfs::registry::testing {
namespace {

struct Reply {
  CURLcode result = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request to `server`, signed with `secret`: a PUT of `body` when
// `put`, else a GET.
Reply Request(const S3TestServer& server, const std::string& key, bool put,
              const std::string& body = "",
              const std::string& secret = S3TestServer::kSecretAccessKey,
              long timeout_ms = 4000) {
  Reply reply;
  CURL* curl = curl_easy_init();
  const std::string url = server.endpoint() + "/" + server.bucket() + "/" + key;
  const std::string user =
      std::string(S3TestServer::kAccessKeyId) + ":" + secret;
  curl_slist* headers =
      curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  headers =
      curl_slist_append(headers, "Content-Type: application/octet-stream");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(curl, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (put) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  }
  reply.result = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

// Whether a connection to 127.0.0.1:`port` is refused (no server).
bool Refused(int port) {
  CURL* curl = curl_easy_init();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  const CURLcode result = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return result == CURLE_COULDNT_CONNECT;
}

class S3TestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = S3TestServer::Start("regfs-test");
    ASSERT_TRUE(started) << started.error().message;
    server_ = std::move(*started);
  }

  // The put of `key` with `body`, asserted to succeed.
  void Put(const std::string& key, const std::string& body) {
    const Reply r = Request(*server_, key, /*put=*/true, body);
    ASSERT_EQ(r.result, CURLE_OK) << curl_easy_strerror(r.result);
    ASSERT_EQ(r.status, 200) << r.body << "\n" << server_->Log();
  }

  std::unique_ptr<S3TestServer> server_;
};

TEST_F(S3TestServerTest, SignedPutAndGetStoreTheObjectWhereObjectFileSays) {
  EXPECT_EQ(server_->endpoint(),
            "http://127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(
      std::filesystem::status(server_->data_dir().parent_path()).permissions() &
          std::filesystem::perms::all,
      std::filesystem::perms::owner_all);
  Put("blobs/ab/cdef", "the bytes");
  const Reply got = Request(*server_, "blobs/ab/cdef", /*put=*/false);
  ASSERT_EQ(got.result, CURLE_OK) << curl_easy_strerror(got.result);
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "the bytes");
  EXPECT_EQ(ReadFile(server_->ObjectFile("blobs/ab/cdef")), "the bytes");
}

TEST_F(S3TestServerTest, AWrongSecretIsRefused) {
  Put("k", "kept");
  const Reply put =
      Request(*server_, "k", /*put=*/true, "other", "not-the-secret");
  ASSERT_EQ(put.result, CURLE_OK) << curl_easy_strerror(put.result);
  EXPECT_EQ(put.status, 403) << put.body;
  const Reply get = Request(*server_, "k", /*put=*/false, "", "not-the-secret");
  ASSERT_EQ(get.result, CURLE_OK) << curl_easy_strerror(get.result);
  EXPECT_EQ(get.status, 403) << get.body;
  EXPECT_NE(get.body.find("SignatureDoesNotMatch"), std::string::npos)
      << get.body;
  EXPECT_EQ(ReadFile(server_->ObjectFile("k")), "kept");
}

TEST_F(S3TestServerTest, KillRefusesConnectionsAndRestartBringsTheDataBack) {
  Put("k", "before the outage");
  const int port = server_->port();
  server_->Kill();
  EXPECT_EQ(Request(*server_, "k", /*put=*/false).result,
            CURLE_COULDNT_CONNECT);

  const Status restarted = server_->Restart();
  ASSERT_TRUE(restarted) << restarted.error().message;
  EXPECT_EQ(server_->port(), port);
  const Reply got = Request(*server_, "k", /*put=*/false);
  ASSERT_EQ(got.result, CURLE_OK) << curl_easy_strerror(got.result);
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "before the outage");
}

TEST_F(S3TestServerTest, AFrozenServerTimesOutAndAnswersOnceThawed) {
  Put("k", "v");
  server_->Freeze();
  EXPECT_EQ(Request(*server_, "k", /*put=*/false, "",
                    S3TestServer::kSecretAccessKey, /*timeout_ms=*/1000)
                .result,
            CURLE_OPERATION_TIMEDOUT);
  server_->Thaw();
  const Reply got = Request(*server_, "k", /*put=*/false);
  ASSERT_EQ(got.result, CURLE_OK) << curl_easy_strerror(got.result);
  EXPECT_EQ(got.body, "v");
}

// A test binary that dies without its destructors (a crash, a SIGKILL of
// ctest's timeout) leaves no server and no directory: the reaper removes
// them.
TEST(S3TestServerReaperTest, StopsTheServerWhenTheTestProcessDies) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto started = S3TestServer::Start("b");
    std::string line = "error";
    if (started) {
      line = std::to_string((*started)->port()) + " " +
             (*started)->data_dir().parent_path().string();
      (void)started->release();  // never destroyed: the reaper's work
    }
    (void)!write(fds[1], line.data(), line.size());
    _exit(0);
  }
  close(fds[1]);
  std::string line(256, '\0');
  const ssize_t n = read(fds[0], line.data(), line.size());
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_GT(n, 0);
  line.resize(static_cast<size_t>(n));
  std::istringstream fields(line);
  int port = 0;
  std::string dir;
  ASSERT_TRUE(fields >> port >> dir) << line;

  // The reaper runs as soon as the child is gone; wait for it, bounded.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    gone = !std::filesystem::exists(dir) && Refused(port);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(Refused(port));
}

}  // namespace
}  // namespace regfs::registry::testing
