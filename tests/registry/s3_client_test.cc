// The S3 client (registry/s3_client.h) against a throwaway s3rver, which
// checks SigV4 signatures (s3_test_server.h): each test starts its own.
#include "registry/s3_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "registry/unique_fd.h"
#include "tests/registry/s3_test_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::S3TestServer;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// `size` bytes that differ from one offset to the next, so that a byte
// in the wrong place shows.
std::string Pattern(size_t size, uint32_t seed = 1) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    bytes[i] = static_cast<char>(x >> 24);
  }
  return bytes;
}

// A file descriptor holding `content` (an anonymous memory file).
UniqueFd FileWith(const std::string& content) {
  UniqueFd fd(memfd_create("s3-client-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n =
        write(fd.get(), content.data() + done, content.size() - done);
    EXPECT_GT(n, 0);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return fd;
}

template <class T>
Status StatusOf(const Result<T>& result) {
  if (!result) return std::unexpected(result.error());
  return {};
}

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = S3TestServer::Start();
    ASSERT_TRUE(server) << Describe(server);
    server_ = std::move(*server);
    client_ = MakeClient(Config());
    ASSERT_NE(client_, nullptr);
  }

  S3Config Config() const {
    S3Config config;
    config.endpoint = server_->endpoint();
    config.region = S3TestServer::kRegion;
    config.bucket = server_->bucket();
    config.path_style = true;
    config.budget = milliseconds(5000);
    config.backoff_base = milliseconds(20);
    config.backoff_max = milliseconds(200);
    return config;
  }

  std::unique_ptr<S3Client> MakeClient(S3Config config,
                                       AwsCredentials credentials = {
                                           S3TestServer::kAccessKeyId,
                                           S3TestServer::kSecretAccessKey,
                                           ""}) {
    auto client = S3Client::Create(std::move(config), std::move(credentials));
    EXPECT_TRUE(client) << Describe(client);
    return client ? std::move(*client) : nullptr;
  }

  Status PutString(S3Client& client, const std::string& key,
                   const std::string& content,
                   const S3Progress& progress = {}) {
    const UniqueFd fd = FileWith(content);
    return client.Put(key, fd.get(), content.size(), progress);
  }

  Result<std::string> GetString(S3Client& client, const std::string& key,
                                uint64_t offset = 0,
                                std::optional<uint64_t> length = std::nullopt) {
    std::string out;
    REGFS_TRY(client.Get(
        key, offset, length,
        [&out](std::span<const std::byte> bytes) -> Status {
          out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          return {};
        }));
    return out;
  }

  std::unique_ptr<S3TestServer> server_;
  std::unique_ptr<S3Client> client_;
};

TEST_F(S3ClientTest, SmallObjectRoundTrip) {
  ASSERT_TRUE(client_->CheckBucket()) << Describe(client_->CheckBucket());
  const std::string content = "hello, bucket";
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  auto put = PutString(*client_, "ab/cdef", content,
                       [&](uint64_t done, uint64_t total) {
                         progress.emplace_back(done, total);
                       });
  ASSERT_TRUE(put) << Describe(put);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(),
            std::make_pair(uint64_t{content.size()}, uint64_t{content.size()}));

  auto head = client_->Head("ab/cdef");
  ASSERT_TRUE(head) << Describe(head);
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((*head)->key, "ab/cdef");
  EXPECT_EQ((*head)->size, content.size());
  const int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_GT((*head)->last_modified_ms, now_ms - 3600'000);

  auto got = GetString(*client_, "ab/cdef");
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, content);
}

// s3rver does not check the token; this shows that the signed header
// does not break the signature.
TEST_F(S3ClientTest, ASessionTokenGoesAlong) {
  auto client = MakeClient(
      Config(), {S3TestServer::kAccessKeyId, S3TestServer::kSecretAccessKey,
                 "session-token/+="});
  ASSERT_TRUE(PutString(*client, "k", "with a token"));
  auto got = GetString(*client, "k");
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, "with a token");
}

TEST_F(S3ClientTest, EmptyObject) {
  ASSERT_TRUE(PutString(*client_, "empty", ""));
  auto head = client_->Head("empty");
  ASSERT_TRUE(head && head->has_value()) << Describe(head);
  EXPECT_EQ((*head)->size, 0u);
  auto got = GetString(*client_, "empty");
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, "");
  got = GetString(*client_, "empty", 0, 0);
  ASSERT_TRUE(got) << Describe(got);
}

TEST_F(S3ClientTest, MultipartRoundTrip) {
  S3Config config = Config();
  config.multipart_threshold = 5 * kMiB;
  config.part_size = 5 * kMiB;
  config.parallel_parts = 2;
  auto client = MakeClient(config);
  const std::string content = Pattern(12 * kMiB + 12345);
  std::vector<uint64_t> done;
  auto put = PutString(*client, "big/object", content,
                       [&](uint64_t d, uint64_t total) {
                         EXPECT_EQ(total, content.size());
                         done.push_back(d);
                       });
  ASSERT_TRUE(put) << Describe(put);
  // The start, three parts, in order (one call at a time).
  ASSERT_EQ(done.size(), 4u);
  EXPECT_EQ(done.front(), 0u);
  EXPECT_EQ(done.back(), content.size());
  EXPECT_TRUE(std::is_sorted(done.begin(), done.end()));

  auto head = client->Head("big/object");
  ASSERT_TRUE(head && head->has_value()) << Describe(head);
  EXPECT_EQ((*head)->size, content.size());
  auto got = GetString(*client, "big/object");
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_TRUE(*got == content) << "the bytes differ";
  // Across the boundary of the first two parts.
  got = GetString(*client, "big/object", 5 * kMiB - 10, 20);
  ASSERT_TRUE(got) << Describe(got);
  EXPECT_EQ(*got, content.substr(5 * kMiB - 10, 20));
}

TEST_F(S3ClientTest, AFailedMultipartUploadLeavesNoObject) {
  S3Config config = Config();
  config.multipart_threshold = 5 * kMiB;
  config.part_size = 5 * kMiB;
  auto client = MakeClient(config);
  // The file is shorter than the size given: the last part cannot be read.
  const std::string content = Pattern(11 * kMiB);
  const UniqueFd fd = FileWith(content);
  auto put = client->Put("cut/short", fd.get(), 16 * kMiB);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, Code::kIoError);
  EXPECT_NE(put.error().message.find("pread"), std::string::npos)
      << put.error().message;
  auto head = client->Head("cut/short");
  ASSERT_TRUE(head) << Describe(head);
  EXPECT_FALSE(head->has_value());
}

TEST_F(S3ClientTest, RangedReads) {
  const std::string content = Pattern(100000);
  ASSERT_TRUE(PutString(*client_, "r", content));
  struct Case {
    uint64_t offset;
    std::optional<uint64_t> length;
  };
  for (const Case c :
       {Case{0, 1}, Case{1, 99}, Case{99990, 10}, Case{50000, std::nullopt},
        Case{99999, std::nullopt}, Case{0, 100000}}) {
    auto got = GetString(*client_, "r", c.offset, c.length);
    ASSERT_TRUE(got) << c.offset << ": " << Describe(got);
    EXPECT_TRUE(*got ==
                content.substr(c.offset, c.length.value_or(std::string::npos)))
        << c.offset;
  }
  // Past the end.
  auto got = GetString(*client_, "r", 99990, 20);
  EXPECT_EQ(CodeOf(got), Code::kInvalidArgument) << Describe(got);
  got = GetString(*client_, "r", 200000, std::nullopt);
  EXPECT_EQ(CodeOf(got), Code::kInvalidArgument) << Describe(got);
}

TEST_F(S3ClientTest, ASinkErrorStopsTheRead) {
  ASSERT_TRUE(PutString(*client_, "k", Pattern(1000)));
  auto read = client_->Get("k", 0, std::nullopt,
                           [](std::span<const std::byte>) -> Status {
                             return Fail(Code::kCorruption, "the sink says no");
                           });
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Code::kCorruption);
  EXPECT_EQ(read.error().message, "the sink says no");
}

TEST_F(S3ClientTest, ListsPageByPage) {
  S3Config config = Config();
  config.list_page_size = 2;
  auto client = MakeClient(config);
  for (const std::string key :
       {"p/e", "p/a", "p/c", "p/b", "p/d", "q/a", "pz"}) {
    ASSERT_TRUE(PutString(*client, key, key + "!"));
  }
  auto listed = client->List("p/");
  ASSERT_TRUE(listed) << Describe(listed);
  std::vector<std::string> keys;
  for (const S3Object& object : *listed) {
    keys.push_back(object.key);
    EXPECT_EQ(object.size, object.key.size() + 1);
    EXPECT_GT(object.last_modified_ms, 0);
  }
  EXPECT_EQ(keys,
            (std::vector<std::string>{"p/a", "p/b", "p/c", "p/d", "p/e"}));
  listed = client->List("");
  ASSERT_TRUE(listed) << Describe(listed);
  EXPECT_EQ(listed->size(), 7u);
  listed = client->List("none/");
  ASSERT_TRUE(listed) << Describe(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(S3ClientTest, DeleteAndMissingObjects) {
  ASSERT_TRUE(PutString(*client_, "gone", "x"));
  ASSERT_TRUE(client_->Delete("gone"));
  auto head = client_->Head("gone");
  ASSERT_TRUE(head) << Describe(head);
  EXPECT_FALSE(head->has_value());
  EXPECT_TRUE(client_->Delete("gone")) << "a missing object is not an error";
  auto got = GetString(*client_, "gone");
  EXPECT_EQ(CodeOf(got), Code::kNotFound) << Describe(got);
  got = GetString(*client_, "never", 0, 0);
  EXPECT_EQ(CodeOf(got), Code::kNotFound) << Describe(got);
  EXPECT_EQ(CodeOf(client_->Head("")), Code::kInvalidArgument);
}

TEST_F(S3ClientTest, AMissingBucket) {
  S3Config config = Config();
  config.bucket = "no-such-bucket";
  auto client = MakeClient(config);
  EXPECT_EQ(CodeOf(client->CheckBucket()), Code::kNotFound);
}

TEST_F(S3ClientTest, AWrongSecretIsRefusedWithoutShowingIt) {
  const std::string secret = "not-the-S3RVER-secret-5f3a";
  auto client = MakeClient(Config(), {S3TestServer::kAccessKeyId, secret, ""});
  const std::vector<std::pair<std::string, Status>> calls = {
      {"CheckBucket", client->CheckBucket()},
      {"Put", PutString(*client, "k", "content")},
      {"Get", StatusOf(GetString(*client, "k"))},
      {"Head", StatusOf(client->Head("k"))},
      {"List", StatusOf(client->List(""))},
  };
  for (const auto& [name, status] : calls) {
    ASSERT_FALSE(status) << name;
    EXPECT_EQ(status.error().code, Code::kPermissionDenied)
        << name << ": " << Describe(status);
    EXPECT_EQ(status.error().message.find(secret), std::string::npos) << name;
  }
}

TEST_F(S3ClientTest, ListUploadsSaysTheServerDoesNotListThem) {
  auto uploads = client_->ListUploads("");
  ASSERT_EQ(CodeOf(uploads), Code::kInvalidArgument) << Describe(uploads);
  EXPECT_NE(uploads.error().message.find("does not list multipart uploads"),
            std::string::npos)
      << uploads.error().message;
}

TEST_F(S3ClientTest, ConcurrentCallsShareTheClient) {
  ASSERT_TRUE(PutString(*client_, "shared", Pattern(3000)));
  std::atomic<int> failures = 0;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          const std::string own =
              "t" + std::to_string(t) + "/" + std::to_string(i);
          if (!PutString(*client_, own, own)) ++failures;
          auto got = GetString(*client_, "shared",
                               static_cast<uint64_t>(i) * 100, 100);
          if (!got ||
              *got != Pattern(3000).substr(static_cast<size_t>(i) * 100, 100)) {
            ++failures;
          }
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  auto listed = client_->List("t");
  ASSERT_TRUE(listed) << Describe(listed);
  EXPECT_EQ(listed->size(), 60u);
}

// A generous bound: a call that ends within it did not hang.
constexpr auto kNoHang = std::chrono::seconds(8);

TEST_F(S3ClientTest, AKilledServerFailsWithinTheBudget) {
  ASSERT_TRUE(PutString(*client_, "k", "v"));
  S3Config config = Config();
  config.budget = milliseconds(2000);
  config.max_attempts = 1000;  // only the budget ends the retries
  auto client = MakeClient(config);
  server_->Kill();
  const auto start = Clock::now();
  auto got = GetString(*client, "k");
  const auto elapsed = Clock::now() - start;
  ASSERT_EQ(CodeOf(got), Code::kIoError) << Describe(got);
  EXPECT_NE(got.error().message.find("attempts in"), std::string::npos)
      << got.error().message;
  EXPECT_LT(elapsed, kNoHang);
}

TEST_F(S3ClientTest, AFrozenServerFailsWithinTheBudget) {
  ASSERT_TRUE(PutString(*client_, "k", "v"));
  S3Config config = Config();
  config.budget = milliseconds(1000);
  config.stall = milliseconds(1000);
  auto client = MakeClient(config);
  server_->Freeze();
  const auto start = Clock::now();
  auto head = client->Head("k");
  auto got = GetString(*client, "k");
  const auto elapsed = Clock::now() - start;
  server_->Thaw();
  EXPECT_EQ(CodeOf(head), Code::kIoError) << Describe(head);
  EXPECT_EQ(CodeOf(got), Code::kIoError) << Describe(got);
  EXPECT_LT(elapsed, 2 * kNoHang);
}

TEST_F(S3ClientTest, RetriesUntilTheServerIsBack) {
  ASSERT_TRUE(PutString(*client_, "k", "v"));
  S3Config config = Config();
  config.budget = milliseconds(30000);
  config.max_attempts = 100000;
  config.backoff_max = milliseconds(100);
  auto client = MakeClient(config);
  server_->Kill();
  Result<std::optional<S3Object>> head = std::nullopt;
  std::jthread caller([&] { head = client->Head("k"); });
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  caller.join();
  ASSERT_TRUE(head) << Describe(head);
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((*head)->size, 1u);
}

// The server dies in the middle of a body: the read resumes from the next
// byte once it is back, and the sink sees every byte once, in order.
TEST_F(S3ClientTest, AReadCutShortResumesWhereItStopped) {
  const std::string content = Pattern(24 * kMiB, 7);
  ASSERT_TRUE(PutString(*client_, "long", content));
  S3Config config = Config();
  config.budget = milliseconds(30000);
  config.max_attempts = 100000;
  config.backoff_max = milliseconds(100);
  auto client = MakeClient(config);
  std::string got;
  std::jthread restarter;
  auto read = client->Get(
      "long", 0, std::nullopt, [&](std::span<const std::byte> bytes) -> Status {
        if (got.empty()) {  // the first bytes: the server goes away mid-body
          server_->Kill();
          restarter = std::jthread([this] { EXPECT_TRUE(server_->Restart()); });
        }
        got.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return {};
      });
  if (restarter.joinable()) restarter.join();
  ASSERT_TRUE(read) << Describe(read);
  ASSERT_EQ(got.size(), content.size());
  EXPECT_TRUE(got == content) << "the bytes differ";
}

TEST_F(S3ClientTest, CreateRefusesBadConfigurations) {
  const AwsCredentials keys{"id", "secret", ""};
  auto refused = [&](auto change) {
    S3Config config = Config();
    change(config);
    return CodeOf(S3Client::Create(config, keys)) == Code::kInvalidArgument;
  };
  EXPECT_TRUE(refused([](S3Config& c) { c.bucket = ""; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.region = ""; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.region = "us:east"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.part_size = 5 * kMiB - 1; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.parallel_parts = 0; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.list_page_size = 1001; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "127.0.0.1:9000"; }));
  EXPECT_EQ(CodeOf(S3Client::Create(Config(), {"", "secret", ""})),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace regfs::registry
