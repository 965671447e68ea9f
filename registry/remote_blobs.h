// Blobs in an object store (issue 17): the registry's blob keys as S3
// objects under one prefix, PREFIX/blobs/KEY, with what a blob store
// needs of them: upload, download with the hash checked, byte-for-byte
// comparison, listing and removal.
//
// Thread-safe (S3Client is).
#ifndef REGFS_REGISTRY_REMOTE_BLOBS_H_
#define REGFS_REGISTRY_REMOTE_BLOBS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/hasher.h"
#include "registry/s3_client.h"

namespace regfs::registry {

// Where a shared store keeps its blobs in S3 (shared_store.h), as its
// configuration says.
struct S3StoreSettings {
  std::string bucket;
  std::string prefix;    // without slashes at either end; may be empty
  std::string endpoint;  // empty: AWS_ENDPOINT_URL, else AWS's
  std::string region;    // empty: the AWS conventions (DefaultAwsRegion)
  // nullopt: path-style with an endpoint, virtual-hosted on AWS.
  std::optional<bool> path_style;

  std::string Url() const;  // "s3://BUCKET/PREFIX"
};

struct RemoteBlob {
  std::string key;  // the blob's key, without the prefix
  uint64_t size = 0;
  int64_t last_modified_ms = 0;
};

class RemoteBlobs final {
 public:
  // The client for `settings`, with the environment's credentials
  // (LoadAwsCredentials); each call bounded by `timeout` (retries
  // included). NotFound when there are no credentials.
  [[nodiscard]] static Result<std::unique_ptr<RemoteBlobs>> Open(
      const S3StoreSettings& settings, std::chrono::seconds timeout);
  RemoteBlobs(std::unique_ptr<S3Client> client, std::string prefix,
              std::string url);

  // "s3://BUCKET/PREFIX", for messages.
  const std::string& url() const { return url_; }
  S3Client& client() { return *client_; }

  // That the bucket can be used: init checks it before writing anything.
  [[nodiscard]] Status Check();

  // The blob's size, or nullopt when there is no such object.
  [[nodiscard]] Result<std::optional<uint64_t>> SizeOf(std::string_view key);

  // Uploads the `size` bytes of `fd` as blob `key`.
  [[nodiscard]] Status Upload(std::string_view key, int fd, uint64_t size,
                              const S3Progress& progress = {});

  // Downloads blob `key` into `fd` (from its offset 0; it should be an
  // empty file) while hashing it with `hasher`; Corruption unless the
  // bytes hash to the key's digest and number `size` (nullopt: any).
  [[nodiscard]] Status Download(std::string_view key,
                                std::optional<uint64_t> size, int fd,
                                Hasher& hasher);

  // Reads blob `key` through `hasher` without keeping it, for fsck;
  // Corruption as Download.
  [[nodiscard]] Status Check(std::string_view key, uint64_t size,
                             Hasher& hasher);

  // Whether blob `key` holds exactly the `size` bytes of `fd`.
  [[nodiscard]] Result<bool> SameContent(std::string_view key, int fd,
                                         uint64_t size);

  // Every blob in the bucket under the prefix.
  [[nodiscard]] Result<std::vector<RemoteBlob>> List();

  [[nodiscard]] Status Remove(std::string_view key);

  // Aborts the multipart uploads under the prefix started before
  // `before_ms`; returns how many. A server that does not list them
  // (s3rver) gives 0 and sets *unsupported.
  [[nodiscard]] Result<uint64_t> AbortUploadsBefore(int64_t before_ms,
                                                    bool* unsupported);

 private:
  std::string ObjectKey(std::string_view key) const;

  std::unique_ptr<S3Client> client_;
  std::string prefix_;  // "PREFIX/blobs/" or "blobs/"
  std::string url_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_REMOTE_BLOBS_H_
