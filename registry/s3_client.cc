#include "registry/s3_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <utility>

#include "registry/s3_transport.h"
#include "registry/s3_upload.h"
#include "registry/s3_xml.h"

namespace regfs::registry {
namespace {

using s3::Reply;
using s3::Request;

constexpr uint64_t kMinPartSize = uint64_t{5} << 20;
// S3's longest key, in bytes.
constexpr size_t kMaxKey = 1024;

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey) {
    return Fail(
        Code::kInvalidArgument,
        fmt::format("an S3 key has 1 to {} bytes: \"{}\"", kMaxKey, key));
  }
  return {};
}

Status CheckConfig(const S3Config& config, const AwsCredentials& credentials) {
  auto refuse = [](std::string why) {
    return Fail(Code::kInvalidArgument, "S3 configuration: " + why);
  };
  if (config.bucket.empty() || config.bucket.find('/') != std::string::npos) {
    return refuse(fmt::format("bad bucket \"{}\"", config.bucket));
  }
  if (config.region.empty() ||
      config.region.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return refuse(fmt::format("bad region \"{}\"", config.region));
  }
  if (config.part_size < kMinPartSize) {
    return refuse(fmt::format("parts of {} bytes; S3 wants at least 5 MiB",
                              config.part_size));
  }
  if (config.parallel_parts < 1 || config.max_attempts < 1 ||
      config.list_page_size < 1 || config.list_page_size > 1000) {
    return refuse(
        "parallel_parts and max_attempts must be positive, "
        "list_page_size 1 to 1000");
  }
  if (credentials.access_key_id.empty() ||
      credentials.secret_access_key.empty()) {
    return refuse("no access key id or no secret access key");
  }
  return {};
}

// A 206 reply must start where the range asked.
Status CheckRangeStart(std::string_view what, const Reply& reply,
                       uint64_t start) {
  if (reply.status != 206) return {};
  if (!reply.content_range.starts_with(fmt::format("bytes {}-", start))) {
    return Fail(
        Code::kIoError,
        fmt::format("{}: the server sent the range \"{}\" for bytes {}-", what,
                    reply.content_range, start));
  }
  return {};
}

// The progress of a ranged read that may resume: the next byte wanted and
// how many remain (nullopt: to the end).
struct ReadState {
  uint64_t next = 0;
  std::optional<uint64_t> left;
  uint64_t attempt_start = 0;
  std::string etag;  // of the first reply: a resumed read wants the same object
};

}  // namespace

struct S3Client::Impl {
  Impl(S3Config config, s3::Endpoint endpoint, AwsCredentials credentials)
      : transport(std::move(config), std::move(endpoint),
                  std::move(credentials)) {}
  s3::Transport transport;
};

S3Client::S3Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config,
                                                   AwsCredentials credentials) {
  REGFS_TRY(CheckConfig(config, credentials));
  REGFS_ASSIGN_OR_RETURN(s3::Endpoint endpoint, s3::ParseEndpoint(config));
  auto impl = std::make_unique<Impl>(std::move(config), std::move(endpoint),
                                     std::move(credentials));
  return std::unique_ptr<S3Client>(new S3Client(std::move(impl)));
}

const S3Config& S3Client::config() const { return impl_->transport.config(); }

Status S3Client::CheckBucket() {
  REGFS_TRY(impl_->transport.Call(Request{.method = "HEAD"}));
  return {};
}

Result<std::optional<S3Object>> S3Client::Head(std::string_view key) {
  REGFS_TRY(CheckKey(key));
  Result<Reply> reply =
      impl_->transport.Call(Request{.method = "HEAD", .key = std::string(key)});
  if (!reply && reply.error().IsNotFound()) return std::nullopt;
  if (!reply) return std::unexpected(std::move(reply).error());
  S3Object object{.key = std::string(key),
                  .size = reply->content_length.value_or(0)};
  if (!reply->last_modified.empty()) {
    const time_t seconds = curl_getdate(reply->last_modified.c_str(), nullptr);
    if (seconds > 0)
      object.last_modified_ms = static_cast<int64_t>(seconds) * 1000;
  }
  return object;
}

Status S3Client::Put(std::string_view key, int fd, uint64_t size,
                     const S3Progress& progress) {
  REGFS_TRY(CheckKey(key));
  if (size == 0 || size < config().multipart_threshold) {
    return s3::PutSingle(impl_->transport, key, fd, size, progress);
  }
  return s3::PutMultipart(impl_->transport, key, fd, size, progress);
}

Status S3Client::Get(std::string_view key, uint64_t offset,
                     std::optional<uint64_t> length, const S3Sink& sink) {
  REGFS_TRY(CheckKey(key));
  if (length == 0) {  // no bytes, but the object must exist
    REGFS_ASSIGN_OR_RETURN(const auto object, Head(key));
    if (!object) {
      return Fail(Code::kNotFound,
                  fmt::format("s3 GET {}/{}: HTTP 404 (not found)",
                              config().bucket, key));
    }
    return {};
  }
  Request request{.method = "GET", .key = std::string(key)};
  const std::string what = impl_->transport.Describe(request);
  ReadState state{.next = offset, .left = length};
  s3::Stream stream;
  stream.prepare = [&state](Request& request) {
    state.attempt_start = state.next;
    request.if_match = state.etag;
    if (state.left) {
      request.range =
          fmt::format("bytes={}-{}", state.next, state.next + *state.left - 1);
    } else if (state.next > 0) {
      request.range = fmt::format("bytes={}-", state.next);
    }
  };
  stream.deliver = [&](const Reply& reply,
                       std::span<const std::byte> bytes) -> Result<bool> {
    if (state.next == state.attempt_start) {  // the first bytes of this reply
      if (reply.status == 200 && state.next != 0) {
        return Fail(Code::kIoError,
                    what + ": the server ignored the Range header");
      }
      REGFS_TRY(CheckRangeStart(what, reply, state.next));
      if (state.etag.empty()) state.etag = reply.etag;
    }
    const size_t take = state.left
                            ? std::min<uint64_t>(bytes.size(), *state.left)
                            : bytes.size();
    REGFS_TRY(sink(bytes.first(take)));
    state.next += take;
    if (state.left) *state.left -= take;
    return !state.left || *state.left > 0;
  };
  REGFS_TRY(impl_->transport.Call(std::move(request), &stream));
  if (state.left && *state.left > 0) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{}: the object ends at byte {}, before {}", what,
                            state.next, state.next + *state.left));
  }
  return {};
}

Result<std::vector<S3Object>> S3Client::List(std::string_view prefix) {
  std::vector<S3Object> objects;
  std::optional<std::string> token;
  do {
    std::vector<std::pair<std::string, std::string>> params = {
        {"list-type", "2"},
        {"max-keys", std::to_string(config().list_page_size)},
        {"prefix", std::string(prefix)}};
    if (token) params.emplace_back("continuation-token", *token);
    Request request{.method = "GET",
                    .query = s3::CanonicalQuery(std::move(params))};
    const std::string what = impl_->transport.Describe(request);
    REGFS_ASSIGN_OR_RETURN(const Reply reply,
                           impl_->transport.Call(std::move(request)));
    Result<s3xml::ListPage> page = s3xml::ParseListObjects(reply.body);
    if (!page)
      return Fail(page.error().code, what + ": " + page.error().message);
    for (S3Object& object : page->objects) objects.push_back(std::move(object));
    token = std::move(page->next_token);
  } while (token);
  return objects;
}

Status S3Client::Delete(std::string_view key) {
  REGFS_TRY(CheckKey(key));
  Result<Reply> reply = impl_->transport.Call(
      Request{.method = "DELETE", .key = std::string(key)});
  if (!reply && !reply.error().IsNotFound())
    return std::unexpected(std::move(reply).error());
  return {};
}

Result<std::vector<S3Upload>> S3Client::ListUploads(std::string_view prefix) {
  std::vector<S3Upload> uploads;
  std::optional<std::pair<std::string, std::string>> markers;
  do {
    std::vector<std::pair<std::string, std::string>> params = {
        {"uploads", ""}, {"prefix", std::string(prefix)}};
    if (markers) {
      params.emplace_back("key-marker", markers->first);
      params.emplace_back("upload-id-marker", markers->second);
    }
    Request request{.method = "GET",
                    .query = s3::CanonicalQuery(std::move(params))};
    const std::string what = impl_->transport.Describe(request);
    Result<Reply> reply = impl_->transport.Call(std::move(request));
    if (!reply && reply.error().message.find("HTTP 501") != std::string::npos) {
      return Fail(
          Code::kInvalidArgument,
          what + ": the server does not list multipart uploads (HTTP 501)");
    }
    if (!reply) return std::unexpected(std::move(reply).error());
    Result<s3xml::UploadsPage> page = s3xml::ParseListUploads(reply->body);
    if (!page)
      return Fail(page.error().code, what + ": " + page.error().message);
    for (S3Upload& upload : page->uploads) {
      if (upload.key.starts_with(prefix)) uploads.push_back(std::move(upload));
    }
    markers = std::move(page->next_markers);
  } while (markers);
  return uploads;
}

Status S3Client::AbortUpload(std::string_view key, std::string_view upload_id) {
  REGFS_TRY(CheckKey(key));
  if (upload_id.empty())
    return Fail(Code::kInvalidArgument, "an empty upload id");
  Request request{
      .method = "DELETE",
      .key = std::string(key),
      .query = s3::CanonicalQuery({{"uploadId", std::string(upload_id)}})};
  Result<Reply> reply = impl_->transport.Call(std::move(request));
  if (!reply && !reply.error().IsNotFound())
    return std::unexpected(std::move(reply).error());
  return {};
}

}  // namespace regfs::registry
