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
    char buffer[4096];
    size_t expected = std::string::npos;
    while (data.size() < expected) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      data.append(buffer, static_cast<size_t>(n));
      const size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (expected == std::string::npos &&
          data.find("Expect: 100-continue") < end) {
        constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (write(fd, kContinue.data(), kContinue.size()) < 0) break;
      }
      size_t body = 0;
      const size_t at = data.find("Content-Length: ");
      if (at != std::string::npos && at < end) {
        body = std::stoul(data.substr(at + 16));
      }
      expected = end + 4 + body;
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

}  // namespace
}  // namespace regfs::registry
