// A small S3 client on libcurl (issue 17): the requests a blob store
// needs, signed with AWS Signature Version 4 (curl's CURLOPT_AWS_SIGV4),
// for AWS S3, MinIO, Ceph RGW and the like.
//
// - Every request carries x-amz-content-sha256: the SHA-256 of its body
//   (curl signs that header but does not add it).
// - Connections are kept and reused: a pool of curl handles, one per
//   request in flight.
// - A failed request (no connection, a timeout, a 5xx reply but 501, a 429
//   or a body cut short) is retried with exponential backoff and full
//   jitter, within `S3Config::budget` for each request with its retries; a
//   4xx reply is not retried. A read that fails after some bytes resumes
//   where it stopped (a ranged GET, If-Match the first reply's ETag).
// - Large objects go up in parts, several at once; a multipart upload that
//   fails is aborted.
// - Secrets never appear in an error message or a log line.
//
// Errors: kNotFound for a missing object or bucket, kPermissionDenied for
// 403 (wrong keys, or not allowed), kInvalidArgument for another 4xx (and
// a redirect to another region, and 501, a request the server lacks),
// kIoError when the server cannot be reached or keeps failing within the
// budget. Messages name the request ("s3 GET bucket/key: ...").
//
// Thread-safe: calls may run concurrently from any threads.
#ifndef REGFS_REGISTRY_S3_CLIENT_H_
#define REGFS_REGISTRY_S3_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"

namespace regfs::registry {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// The credentials of the AWS conventions: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN) from the environment;
// else the profile AWS_PROFILE (default "default") of
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).
// kNotFound, saying where it looked, when there are none.
[[nodiscard]] Result<AwsCredentials> LoadAwsCredentials();

// The region of the AWS conventions: AWS_REGION, AWS_DEFAULT_REGION, the
// profile's `region` in AWS_CONFIG_FILE (default ~/.aws/config), else
// "us-east-1".
std::string DefaultAwsRegion();

struct S3Config {
  // Where the service is: "https://s3.eu-west-1.amazonaws.com",
  // "http://127.0.0.1:9000". Empty: AWS's endpoint for `region`.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path-style addressing (ENDPOINT/BUCKET/KEY), as MinIO and most
  // self-hosted servers want; else virtual-hosted (BUCKET.HOST/KEY), as
  // AWS prefers.
  bool path_style = false;

  // Bounds: connecting; a transfer slower than 1 KiB/s for `stall` (curl
  // counts it in whole seconds, at least one); and `budget`, for one
  // request with its retries: it runs from the start of the call, and
  // anew from each byte that moves. An attempt still waiting when it is
  // spent is dropped, and no attempt starts after it; a transfer that
  // keeps moving is never cut by it. A multipart upload has one budget per
  // request (the start, each part, the completion). So a dead or frozen
  // server fails a read after about `budget` (curl looks at an idle
  // transfer once a second), an upload (whose body may move into the
  // socket) after `budget` + `stall` at most.
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds stall{15000};
  std::chrono::milliseconds budget{30000};
  int max_attempts = 6;  // in a row: a read that got bytes counts anew
  std::chrono::milliseconds backoff_base{100};  // doubles each retry
  std::chrono::milliseconds backoff_max{5000};

  // Uploads of at least `multipart_threshold` bytes go in parts of
  // `part_size` (at least 5 MiB, as S3 wants; larger, by whole MiB, when
  // S3's 10,000 parts would not hold the object), `parallel_parts` at once.
  uint64_t multipart_threshold = uint64_t{64} << 20;
  uint64_t part_size = uint64_t{16} << 20;
  int parallel_parts = 4;

  // Keys per page of a listing (ListObjectsV2's max-keys, 1 to 1000);
  // tests use small pages.
  int list_page_size = 1000;
};

struct S3Object {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_ms = 0;  // Unix time; 0 when the reply lacks it
};

struct S3Upload {  // a multipart upload that was started, not finished
  std::string key;
  std::string upload_id;
  int64_t initiated_ms = 0;
};

// Called as bytes move: (bytes done, bytes total); for an upload, at its
// start, after each part, and at its end; one call at a time.
using S3Progress = std::function<void(uint64_t, uint64_t)>;
// Receives an object's bytes in order; an error stops the read.
using S3Sink = std::function<Status(std::span<const std::byte>)>;

class S3Client final {
 public:
  // InvalidArgument for a malformed endpoint (http or https, no
  // credentials, query or fragment in it), an empty bucket or region, parts
  // smaller than 5 MiB, or empty credentials. Calls must have returned
  // before the client is destroyed.
  [[nodiscard]] static Result<std::unique_ptr<S3Client>> Create(
      S3Config config, AwsCredentials credentials);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const;

  // That the bucket exists and these credentials may use it (HEAD of the
  // bucket): kNotFound, kPermissionDenied or kIoError, for init.
  [[nodiscard]] Status CheckBucket();

  // The object's size and time, or nullopt when there is none.
  [[nodiscard]] Result<std::optional<S3Object>> Head(std::string_view key);

  // Uploads the `size` bytes of `fd` (read with pread from offset 0) as
  // `key`: one PUT, or a multipart upload from `multipart_threshold` on
  // (aborted when it fails). Memory: the whole object below the threshold,
  // else parallel_parts × part_size.
  [[nodiscard]] Status Put(std::string_view key, int fd, uint64_t size,
                           const S3Progress& progress = {});

  // Reads `length` bytes of `key` from `offset` into `sink`, in order and
  // each once (nullopt: to the end). kNotFound when there is no such
  // object; kInvalidArgument when it ends at or before `offset` (but an
  // empty object read whole), or before offset + `length` (after the
  // bytes it has); the sink's error if it returns one.
  [[nodiscard]] Status Get(std::string_view key, uint64_t offset,
                           std::optional<uint64_t> length, const S3Sink& sink);

  // Every object whose key starts with `prefix` (ListObjectsV2, page by
  // page), in key order.
  [[nodiscard]] Result<std::vector<S3Object>> List(std::string_view prefix);

  // Removes `key`; a missing object is not an error.
  [[nodiscard]] Status Delete(std::string_view key);

  // The unfinished multipart uploads under `prefix`. kInvalidArgument
  // when the server does not implement the listing (s3rver).
  [[nodiscard]] Result<std::vector<S3Upload>> ListUploads(
      std::string_view prefix);
  // Aborts an unfinished multipart upload; one already gone is not an
  // error.
  [[nodiscard]] Status AbortUpload(std::string_view key,
                                   std::string_view upload_id);

 private:
  struct Impl;
  explicit S3Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "s3://BUCKET/PREFIX" parsed: the bucket, and the key prefix without
// leading or trailing slashes (may be empty). InvalidArgument otherwise.
struct S3Url {
  std::string bucket;
  std::string prefix;
};
[[nodiscard]] Result<S3Url> ParseS3Url(std::string_view url);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_S3_CLIENT_H_
