#include "registry/remote_blobs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "registry/blob_store.h"

namespace regfs::registry {
namespace {

Status WriteAllAt(int fd, std::span<const std::byte> data, uint64_t offset,
                  std::string_view what) {
  while (!data.empty()) {
    const ssize_t n =
        ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(PosixError("write", what, errno));
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

// Reads `size` bytes of `fd` at `offset`, retrying short reads; fewer
// only at the end of the file.
Result<size_t> PreadFull(int fd, std::byte* data, size_t size,
                         uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, data + done, size - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return std::unexpected(PosixError("read", "a staged blob", errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// What a download or check found, against what the key promises.
Status CheckDigest(std::string_view url_key, std::string_view key, uint64_t got,
                   std::optional<uint64_t> size, const std::string& digest) {
  if (size && got != *size) {
    return Fail(Code::kCorruption,
                fmt::format("blob {} in {} has {} bytes, expected {}", key,
                            url_key, got, *size));
  }
  if (digest != BlobStore::DigestOf(key)) {
    return Fail(Code::kCorruption,
                fmt::format("blob {} in {} has hash {}: its content changed",
                            key, url_key, digest));
  }
  return {};
}

}  // namespace

std::string S3StoreSettings::Url() const {
  return prefix.empty() ? fmt::format("s3://{}", bucket)
                        : fmt::format("s3://{}/{}", bucket, prefix);
}

Result<std::unique_ptr<RemoteBlobs>> RemoteBlobs::Open(
    const S3StoreSettings& settings, std::chrono::seconds timeout) {
  const std::string prefix = settings.prefix.empty()
                                 ? std::string("blobs/")
                                 : settings.prefix + "/blobs/";
  auto credentials = LoadAwsCredentials();
  if (!credentials) {
    return std::make_unique<RemoteBlobs>(std::unexpected(credentials.error()),
                                         prefix, settings.Url());
  }
  S3Config config;
  config.bucket = settings.bucket;
  config.region =
      settings.region.empty() ? DefaultAwsRegion() : settings.region;
  config.endpoint = settings.endpoint;
  if (config.endpoint.empty()) {
    if (const char* env = std::getenv("AWS_ENDPOINT_URL"); env && *env) {
      config.endpoint = env;
    }
  }
  config.path_style = settings.path_style.value_or(!config.endpoint.empty());
  config.budget = timeout;
  return std::make_unique<RemoteBlobs>(
      S3Client::Create(config, std::move(*credentials)), prefix,
      settings.Url());
}

RemoteBlobs::RemoteBlobs(Result<std::unique_ptr<S3Client>> client,
                         std::string prefix, std::string url)
    : prefix_(std::move(prefix)), url_(std::move(url)) {
  if (client) {
    client_ = std::move(*client);
  } else {
    unusable_ = Error{client.error().code,
                      fmt::format("{}: {}", url_, client.error().message)};
  }
}

Result<S3Client*> RemoteBlobs::Client() const {
  if (!client_) return std::unexpected(*unusable_);
  return client_.get();
}

std::string RemoteBlobs::ObjectKey(std::string_view key) const {
  return prefix_ + std::string(key);
}

Status RemoteBlobs::Check() {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  auto checked = client->CheckBucket();
  if (!checked) {
    return Fail(checked.error().code,
                fmt::format("{}: {}", url_, checked.error().message));
  }
  return {};
}

Result<std::optional<uint64_t>> RemoteBlobs::SizeOf(std::string_view key) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  REGFS_ASSIGN_OR_RETURN(const auto head, client->Head(ObjectKey(key)));
  if (!head) return std::optional<uint64_t>();
  return std::optional<uint64_t>(head->size);
}

Status RemoteBlobs::Upload(std::string_view key, int fd, uint64_t size,
                           const S3Progress& progress) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  return client->Put(ObjectKey(key), fd, size, progress);
}

Status RemoteBlobs::Download(std::string_view key, std::optional<uint64_t> size,
                             int fd, Hasher& hasher) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  uint64_t done = 0;
  const std::string what = fmt::format("{}/{}", url_, key);
  REGFS_TRY(client->Get(ObjectKey(key), 0, std::nullopt,
                        [&](std::span<const std::byte> data) -> Status {
                          if (size && done + data.size() > *size) {
                            return Fail(Code::kCorruption,
                                        fmt::format("blob {} in {} has more "
                                                    "than {} bytes",
                                                    key, url_, *size));
                          }
                          hasher.Update(data);
                          REGFS_TRY(WriteAllAt(fd, data, done, what));
                          done += data.size();
                          return {};
                        }));
  return CheckDigest(url_, key, done, size, hasher.Final());
}

Status RemoteBlobs::Check(std::string_view key, uint64_t size, Hasher& hasher) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  uint64_t done = 0;
  REGFS_TRY(client->Get(ObjectKey(key), 0, std::nullopt,
                        [&](std::span<const std::byte> data) -> Status {
                          hasher.Update(data);
                          done += data.size();
                          return {};
                        }));
  return CheckDigest(url_, key, done, size, hasher.Final());
}

Result<bool> RemoteBlobs::SameContent(std::string_view key, int fd,
                                      uint64_t size) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  REGFS_ASSIGN_OR_RETURN(const auto remote, SizeOf(key));
  if (!remote || *remote != size) return false;
  uint64_t offset = 0;
  bool same = true;
  std::vector<std::byte> local;
  auto compared = client->Get(
      ObjectKey(key), 0, std::nullopt,
      [&](std::span<const std::byte> data) -> Status {
        if (!same) return {};
        if (offset + data.size() > size) {
          same = false;
          return {};
        }
        local.resize(data.size());
        REGFS_ASSIGN_OR_RETURN(
            const size_t n, PreadFull(fd, local.data(), data.size(), offset));
        same =
            n == data.size() && std::memcmp(local.data(), data.data(), n) == 0;
        offset += data.size();
        return {};
      });
  REGFS_TRY(compared);
  return same && offset == size;
}

Result<std::vector<RemoteBlob>> RemoteBlobs::List() {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  REGFS_ASSIGN_OR_RETURN(auto objects, client->List(prefix_));
  std::vector<RemoteBlob> blobs;
  blobs.reserve(objects.size());
  for (S3Object& object : objects) {
    if (!object.key.starts_with(prefix_)) continue;
    std::string key = object.key.substr(prefix_.size());
    if (key.empty() || key.find('/') != std::string::npos) continue;
    blobs.push_back({std::move(key), object.size, object.last_modified_ms});
  }
  return blobs;
}

Status RemoteBlobs::Remove(std::string_view key) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  return client->Delete(ObjectKey(key));
}

Result<uint64_t> RemoteBlobs::AbortUploadsBefore(int64_t before_ms,
                                                 bool* unsupported) {
  REGFS_ASSIGN_OR_RETURN(S3Client * client, Client());
  *unsupported = false;
  auto uploads = client->ListUploads(prefix_);
  if (!uploads) {
    if (uploads.error().code == Code::kInvalidArgument) {
      *unsupported = true;
      return uint64_t{0};
    }
    return std::unexpected(uploads.error());
  }
  uint64_t aborted = 0;
  for (const S3Upload& upload : *uploads) {
    if (upload.initiated_ms >= before_ms) continue;
    REGFS_TRY(client->AbortUpload(upload.key, upload.upload_id));
    ++aborted;
  }
  return aborted;
}

}  // namespace regfs::registry
