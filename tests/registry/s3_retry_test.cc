// The S3 client's retries and resumption (registry/s3_client.h) against a
// canned HTTP server: each connection gets the next reply of a script,
// exactly as written (a 503, a body cut short), and the requests are kept
// so that a test can look at their headers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/mutex.h"
#include "registry/s3_client.h"
#include "registry/unique_fd.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;

// Serves one reply per connection, in order, then closes the connection;
// past the script, closes connections at once.
class CannedServer final {
 public:
  explicit CannedServer(std::vector<std::string> replies)
      : replies_(std::move(replies)) {
    listener_.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&address),
                   sizeof(address)),
              0);
    EXPECT_EQ(listen(listener_.get(), 16), 0);
    getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address),
                &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::vector<std::string> requests() {
    MutexLock lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (size_t next = 0;; ++next) {
      UniqueFd connection(
          accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection.valid()) return;
      std::string request = ReadRequest(connection.get());
      {
        MutexLock lock(mu_);
        requests_.push_back(std::move(request));
      }
      if (next >= replies_.size()) continue;
      const std::string& reply = replies_[next];
      size_t sent = 0;
      while (sent < reply.size()) {
        const ssize_t n =
            write(connection.get(), reply.data() + sent, reply.size() - sent);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
    }
  }

  // The request's head and body (by its Content-Length), with a 100
  // Continue when the client waits for one.
  static std::string ReadRequest(int fd) {
    std::string data;
    char buffer[65536];
    size_t expected = std::string::npos;
    while (data.size() < expected) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      data.append(buffer, static_cast<size_t>(n));
      if (expected != std::string::npos) continue;  // the body goes on
      const size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const std::string_view head = std::string_view(data).substr(0, end);
      size_t body = 0;
      if (const size_t at = head.find("Content-Length: ");
          at != std::string_view::npos) {
        body = std::stoul(std::string(head.substr(at + 16, 20)));
      }
      expected = end + 4 + body;
      if (head.find("Expect: 100-continue") != std::string_view::npos) {
        constexpr std::string_view kGoOn = "HTTP/1.1 100 Continue\r\n\r\n";
        if (write(fd, kGoOn.data(), kGoOn.size()) < 0) break;
      }
    }
    return data;
  }

  UniqueFd listener_;
  int port_ = 0;
  const std::vector<std::string> replies_;
  std::thread thread_;
  Mutex mu_;
  std::vector<std::string> requests_ GUARDED_BY(mu_);
};

std::string Reply(std::string status, std::string headers, std::string body,
                  std::optional<size_t> length = std::nullopt) {
  return "HTTP/1.1 " + status + "\r\nConnection: close\r\n" + headers +
         "Content-Length: " + std::to_string(length.value_or(body.size())) +
         "\r\n\r\n" + body;
}

std::string ErrorXml(std::string_view code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" +
         std::string(code) + "</Code><Message>canned</Message></Error>";
}

class S3RetryTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Client> Client(const CannedServer& server,
                                   std::string token = "") {
    S3Config config;
    config.endpoint = server.endpoint();
    config.bucket = "bk";
    config.path_style = true;
    config.budget = std::chrono::milliseconds(5000);
    config.backoff_base = std::chrono::milliseconds(1);
    config.backoff_max = std::chrono::milliseconds(10);
    config.max_attempts = 3;
    auto client =
        S3Client::Create(config, {"AKIDTEST", "canned-secret", token});
    EXPECT_TRUE(client) << Describe(client);
    return client ? std::move(*client) : nullptr;
  }

  static Result<std::string> Read(S3Client& client, uint64_t offset = 0) {
    std::string out;
    REGFS_TRY(client.Get(
        "ab/cd", offset, std::nullopt,
        [&out](std::span<const std::byte> bytes) -> Status {
          out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          return {};
        }));
    return out;
  }
};

TEST_F(S3RetryTest, Retries5xxAnd429ThenSucceeds) {
  CannedServer server({Reply("503 Slow Down", "", ErrorXml("SlowDown")),
                       Reply("429 Too Many Requests", "", ""),
                       Reply("200 OK", "", "content")});
  auto got = Read(*Client(server));
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, "content");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(S3RetryTest, GivesUpAfterMaxAttemptsWithTheLastCause) {
  CannedServer server({Reply("500 Internal", "", ErrorXml("InternalError")),
                       Reply("502 Bad Gateway", "", ""),
                       Reply("503 Slow Down", "", ErrorXml("SlowDown")),
                       Reply("200 OK", "", "too late")});
  auto got = Read(*Client(server));
  ASSERT_EQ(CodeOf(got), Code::kIoError) << Describe(got);
  EXPECT_NE(got.error().message.find("(3 attempts in "), std::string::npos)
      << got.error().message;
  EXPECT_NE(got.error().message.find("HTTP 503 SlowDown: canned"),
            std::string::npos)
      << got.error().message;
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(S3RetryTest, DoesNotRetryA4xx) {
  CannedServer server({Reply("400 Bad Request", "", ErrorXml("InvalidRequest")),
                       Reply("200 OK", "", "never")});
  auto got = Read(*Client(server));
  ASSERT_EQ(CodeOf(got), Code::kInvalidArgument) << Describe(got);
  EXPECT_EQ(got.error().message,
            "s3 GET bk/ab/cd: HTTP 400 InvalidRequest: canned");
  EXPECT_EQ(server.requests().size(), 1u);
}

// The first reply stops after 5 of its 10 bytes: the read goes on with a
// Range from byte 5, for the same object (If-Match its ETag), and the sink
// sees each byte once.
TEST_F(S3RetryTest, ResumesABodyCutShort) {
  CannedServer server(
      {Reply("200 OK", "ETag: \"e1\"\r\n", "01234", 10),
       Reply("206 Partial Content",
             "ETag: \"e1\"\r\nContent-Range: bytes 5-9/10\r\n", "56789")});
  auto got = Read(*Client(server));
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, "0123456789");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].find("Range:"), std::string::npos);
  EXPECT_NE(requests[1].find("Range: bytes=5-\r\n"), std::string::npos)
      << requests[1];
  EXPECT_NE(requests[1].find("If-Match: \"e1\"\r\n"), std::string::npos);
}

TEST_F(S3RetryTest, RefusesARangeThatStartsElsewhere) {
  CannedServer server({Reply("206 Partial Content",
                             "Content-Range: bytes 0-9/10\r\n", "0123456789")});
  auto got = Read(*Client(server), 5);
  ASSERT_EQ(CodeOf(got), Code::kIoError) << Describe(got);
  EXPECT_TRUE(got.error().message.starts_with("s3 GET bk/ab/cd: "));
}

// Every request is signed by curl and carries the SHA-256 of its body and
// the session token; the secret itself never goes on the wire.
TEST_F(S3RetryTest, SignsAndHashesEveryRequest) {
  CannedServer server({Reply("200 OK", "", "")});
  auto client = Client(server, "the-token");
  const std::string body = "abc";
  UniqueFd fd(memfd_create("s3-retry-test", MFD_CLOEXEC));
  ASSERT_EQ(write(fd.get(), body.data(), body.size()), 3);
  ASSERT_TRUE(client->Put("ab/cd", fd.get(), body.size()));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& put = requests[0];
  EXPECT_TRUE(put.starts_with("PUT /bk/ab/cd HTTP/1.1\r\n")) << put;
  EXPECT_NE(
      put.find("x-amz-content-sha256: "
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
               "0015ad\r\n"),
      std::string::npos)
      << put;
  EXPECT_NE(put.find("x-amz-security-token: the-token\r\n"), std::string::npos);
  EXPECT_NE(put.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
            std::string::npos);
  const size_t signed_headers = put.find("SignedHeaders=");
  ASSERT_NE(signed_headers, std::string::npos);
  const std::string list = put.substr(
      signed_headers, put.find(',', signed_headers) - signed_headers);
  EXPECT_NE(list.find("x-amz-content-sha256"), std::string::npos) << list;
  EXPECT_NE(list.find("x-amz-security-token"), std::string::npos) << list;
  EXPECT_EQ(put.find("canned-secret"), std::string::npos);
}

// A multipart upload whose part is refused is aborted, and the refusal is
// the error; one whose completion fails inside a 200 reply (as S3 may
// answer) is aborted too. Parts go one at a time here, in order.
class S3MultipartFailureTest : public S3RetryTest {
 protected:
  static constexpr uint64_t kPart = uint64_t{5} << 20;

  Status Put(const CannedServer& server) {
    S3Config config;
    config.endpoint = server.endpoint();
    config.bucket = "bk";
    config.path_style = true;
    config.multipart_threshold = kPart;
    config.part_size = kPart;
    config.parallel_parts = 1;
    config.max_attempts = 1;
    auto client = S3Client::Create(config, {"AKIDTEST", "canned-secret", ""});
    if (!client) return std::unexpected(client.error());
    UniqueFd fd(memfd_create("s3-retry-test", MFD_CLOEXEC));
    EXPECT_EQ(ftruncate(fd.get(), 2 * kPart), 0);
    return (*client)->Put("ab/cd", fd.get(), 2 * kPart);
  }

  static std::string Started() {
    return Reply("200 OK", "",
                 "<InitiateMultipartUploadResult><Bucket>bk</Bucket>"
                 "<Key>ab/cd</Key><UploadId>up1</UploadId>"
                 "</InitiateMultipartUploadResult>");
  }
};

TEST_F(S3MultipartFailureTest, ARefusedPartAbortsTheUpload) {
  CannedServer server({Started(), Reply("200 OK", "ETag: \"p1\"\r\n", ""),
                       Reply("400 Bad Request", "", ErrorXml("InvalidPart")),
                       Reply("204 No Content", "", "")});
  auto put = Put(server);
  ASSERT_EQ(CodeOf(put), Code::kInvalidArgument) << Describe(put);
  EXPECT_NE(put.error().message.find("InvalidPart"), std::string::npos);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_TRUE(requests[0].starts_with("POST /bk/ab/cd?uploads= "));
  EXPECT_TRUE(
      requests[1].starts_with("PUT /bk/ab/cd?partNumber=1&uploadId=up1 "));
  EXPECT_TRUE(
      requests[2].starts_with("PUT /bk/ab/cd?partNumber=2&uploadId=up1 "));
  EXPECT_TRUE(requests[3].starts_with("DELETE /bk/ab/cd?uploadId=up1 "))
      << requests[3].substr(0, 100);
}

TEST_F(S3MultipartFailureTest, AnErrorInsideACompletionAbortsTheUpload) {
  CannedServer server({Started(), Reply("200 OK", "ETag: \"p1\"\r\n", ""),
                       Reply("200 OK", "ETag: \"p2\"\r\n", ""),
                       Reply("200 OK", "", ErrorXml("InternalError")),
                       Reply("404 Not Found", "", ErrorXml("NoSuchUpload"))});
  auto put = Put(server);
  ASSERT_EQ(CodeOf(put), Code::kIoError) << Describe(put);
  EXPECT_NE(put.error().message.find("InternalError"), std::string::npos);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_TRUE(requests[3].starts_with("POST /bk/ab/cd?uploadId=up1 "));
  EXPECT_TRUE(requests[3].ends_with(
      "<CompleteMultipartUpload>"
      "<Part><PartNumber>1</PartNumber><ETag>&quot;p1&quot;</ETag></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;p2&quot;</ETag></Part>"
      "</CompleteMultipartUpload>"))
      << requests[3];
  EXPECT_TRUE(requests[4].starts_with("DELETE /bk/ab/cd?uploadId=up1 "));
}

}  // namespace
}  // namespace regfs::registry
