// The HTTP side of the S3 client (s3_client.h): one signed request, its
// retries within the budget, and the pool of curl handles whose
// connections they reuse. Internal to s3_client.cc and s3_multipart.cc.
//
// Thread-safe: Call may run concurrently; each call takes a curl handle
// of its own from the pool (behind `mu_`, a leaf lock) for its duration.
#ifndef REGFS_REGISTRY_S3_TRANSPORT_H_
#define REGFS_REGISTRY_S3_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/error.h"
#include "registry/mutex.h"
#include "registry/s3_client.h"

typedef void CURL;  // NOLINT: curl.h's own declaration

namespace regfs::registry::s3 {

// The parsed endpoint: where requests go.
struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1", "[::1]", "s3.eu-west-1.amazonaws.com"
  std::string port;    // "" for the scheme's default
  std::string path;    // a base path without a trailing '/', often ""
};

// `config.endpoint` parsed (AWS's for the region when empty).
[[nodiscard]] Result<Endpoint> ParseEndpoint(const S3Config& config);

// A query string as SigV4 wants it: parameters sorted by name, names and
// values percent-encoded (RFC 3986, upper-case hex), "name=" for a
// parameter without a value. curl 7.88 signs the query as it is given.
std::string CanonicalQuery(
    std::vector<std::pair<std::string, std::string>> params);

// `key` percent-encoded for a URL path, keeping '/' and RFC 3986's
// unreserved characters.
std::string EncodePath(std::string_view key);

// The lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::span<const std::byte> bytes);

struct Request {
  std::string_view method;          // "GET", "HEAD", "PUT", "POST" or "DELETE"
  std::string key;                  // the object; empty: the bucket
  std::string query;                // CanonicalQuery's form, without '?'
  std::span<const std::byte> body;  // PUT and POST
  std::string content_type;         // PUT and POST; empty: none
  std::string range;                // "bytes=A-B"; empty: the whole
  std::string if_match;             // an ETag; empty: none
};

// What came back. `body` holds the reply's body unless a stream took it
// (a 2xx reply to a streamed request); an error body is kept to 64 KiB.
struct Reply {
  long status = 0;
  std::string body;
  std::string etag;
  std::string last_modified;
  std::string content_range;
  std::optional<uint64_t> content_length;
};

// A GET whose body goes to a consumer as it arrives, resumed after a
// retryable failure: `prepare` sets the request for the next attempt
// (its Range from where the bytes stopped); `deliver` gets the bytes of
// a 2xx reply with that reply's status and headers, and returns false
// once it has all it wants (the transfer stops, successfully) or an error
// (the transfer stops, and the call fails with it).
struct Stream {
  std::function<void(Request&)> prepare;
  std::function<Result<bool>(const Reply&, std::span<const std::byte>)> deliver;
};

// Where `request` goes: ENDPOINT/BUCKET/KEY?QUERY with path-style
// addressing, else SCHEME://BUCKET.HOST/KEY?QUERY.
std::string RequestUrl(const S3Config& config, const Endpoint& endpoint,
                       const Request& request);

struct Attempt;  // s3_transport.cc

class Transport final {
 public:
  Transport(S3Config config, Endpoint endpoint, AwsCredentials credentials);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  const S3Config& config() const { return config_; }

  // Sends `request` until it gets a 2xx reply, retrying failed connections,
  // timeouts, 5xx (but 501) and 429 replies and bodies cut short, with
  // exponential backoff and full jitter: at most `max_attempts` in a row
  // (a stream that received bytes starts the count again), none started
  // once `budget` has passed since the call began or since a byte last
  // moved. A non-2xx reply is returned as its Error (HttpError); a call
  // that keeps failing is kIoError with the last cause.
  [[nodiscard]] Result<Reply> Call(Request request,
                                   const Stream* stream = nullptr);

  // "s3 GET bucket/key", the name of a request in messages.
  std::string Describe(const Request& request) const;

 private:
  class Lease;

  CURL* Take();
  void Give(CURL* curl);
  void Configure(CURL* curl, Attempt& attempt) const;

  const S3Config config_;
  const Endpoint endpoint_;
  const AwsCredentials credentials_;
  const std::string sigv4_;  // "aws:amz:REGION:s3"

  Mutex mu_;
  std::vector<CURL*> idle_ GUARDED_BY(mu_);  // owned; their connections live on
};

// The Error of a non-2xx reply to the request `what` names: kNotFound for
// 404, kPermissionDenied for 403, kInvalidArgument for another 4xx, for
// 501 (not implemented) and for a 3xx (AWS's answer to the wrong region),
// kIoError for a 5xx. The message carries S3's error code and message
// when the body has them.
Error HttpError(std::string_view what, const Reply& reply);

}  // namespace regfs::registry::s3

#endif  // REGFS_REGISTRY_S3_TRANSPORT_H_
