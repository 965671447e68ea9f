#include "registry/s3_upload.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>

#include "registry/mutex.h"
#include "registry/s3_xml.h"

namespace regfs::registry::s3 {
namespace {

// S3's limit on the parts of one upload.
constexpr uint64_t kMaxParts = 10000;

// One multipart upload in flight, shared by its part threads.
class Upload final {
 public:
  Upload(Transport& transport, std::string_view key, int fd, uint64_t size,
         uint64_t part_size, const S3Progress& progress)
      : transport_(transport),
        key_(key),
        fd_(fd),
        size_(size),
        part_size_(part_size),
        parts_(static_cast<int>((size + part_size - 1) / part_size)),
        etags_(static_cast<size_t>(parts_)),
        progress_(progress) {}

  int parts() const { return parts_; }

  // CreateMultipartUpload.
  Status Start() {
    Request request{.method = "POST",
                    .key = key_,
                    .query = CanonicalQuery({{"uploads", ""}}),
                    .content_type = "application/octet-stream"};
    REGFS_ASSIGN_OR_RETURN(const Reply reply, transport_.Call(request));
    REGFS_ASSIGN_OR_RETURN(id_, s3xml::ParseUploadId(reply.body));
    return {};
  }

  // Takes parts and sends them until none is left or one has failed.
  void Work() {
    std::vector<std::byte> buffer;  // reused: one part in memory per thread
    for (;;) {
      const int index = next_.fetch_add(1);
      if (index >= parts_ || failed_.load()) return;
      Status sent = SendPart(index, buffer);
      if (!sent) {
        Failed(std::move(sent).error());
        return;
      }
    }
  }

  // The first failure of a part, if any.
  std::optional<Error> failure() {
    MutexLock lock(mu_);
    return first_error_;
  }

  Status Complete();
  void Abort();

 private:
  Status SendPart(int index, std::vector<std::byte>& buffer) {
    const uint64_t offset = static_cast<uint64_t>(index) * part_size_;
    const size_t length =
        static_cast<size_t>(std::min(part_size_, size_ - offset));
    REGFS_TRY(ReadAt(fd_, offset, length, buffer));
    Request request{
        .method = "PUT",
        .key = key_,
        .query = CanonicalQuery(
            {{"partNumber", std::to_string(index + 1)}, {"uploadId", id_}}),
        .body = buffer,
        .content_type = "application/octet-stream"};
    REGFS_ASSIGN_OR_RETURN(const Reply reply, transport_.Call(request));
    if (reply.etag.empty()) {
      return Fail(Code::kIoError,
                  fmt::format("{}: part {} got no ETag",
                              transport_.Describe(request), index + 1));
    }
    etags_[static_cast<size_t>(index)] = reply.etag;  // this thread's slot
    MutexLock lock(mu_);
    done_ += length;
    if (progress_) progress_(done_, size_);
    return {};
  }

  void Failed(Error error) {
    failed_.store(true);
    MutexLock lock(mu_);
    if (!first_error_) first_error_ = std::move(error);
  }

  Transport& transport_;
  const std::string key_;
  const int fd_;
  const uint64_t size_;
  const uint64_t part_size_;
  const int parts_;
  std::string id_;
  std::atomic<int> next_{0};
  std::atomic<bool> failed_{false};
  // Slot i is written by the thread that sent part i+1, read after all
  // threads are joined.
  std::vector<std::string> etags_;
  const S3Progress& progress_;

  Mutex mu_;  // a leaf lock; held while the progress callback runs
  std::optional<Error> first_error_ GUARDED_BY(mu_);
  uint64_t done_ GUARDED_BY(mu_) = 0;
};

// CompleteMultipartUpload. A 200 reply may still carry an <Error> (S3
// fails a completion late that way). A completion whose reply was lost
// and whose retry finds the upload gone (404) succeeded if the object is
// there with the whole size.
Status Upload::Complete() {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags_.size(); ++i) {
    xml +=
        fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                    i + 1, s3xml::EscapeText(etags_[i]));
  }
  xml += "</CompleteMultipartUpload>";
  Request request{.method = "POST",
                  .key = key_,
                  .query = CanonicalQuery({{"uploadId", id_}}),
                  .body = std::as_bytes(std::span(xml)),
                  .content_type = "application/xml"};
  const std::string what = transport_.Describe(request);
  Result<Reply> reply = transport_.Call(request);
  if (!reply && reply.error().IsNotFound()) {
    Request head{.method = "HEAD", .key = key_};
    Result<Reply> object = transport_.Call(head);
    if (object && object->content_length == size_) return {};
  }
  if (!reply) return std::unexpected(std::move(reply).error());
  const s3xml::ErrorReply error = s3xml::ParseError(reply->body);
  if (!error.code.empty()) {
    return Fail(Code::kIoError,
                fmt::format("{}: {}: {}", what, error.code, error.message));
  }
  return {};
}

// AbortMultipartUpload; a refusal is logged, the caller's first failure
// being the one that matters.
void Upload::Abort() {
  if (id_.empty()) return;
  Request request{.method = "DELETE",
                  .key = key_,
                  .query = CanonicalQuery({{"uploadId", id_}})};
  Result<Reply> reply = transport_.Call(request);
  if (!reply && !reply.error().IsNotFound()) {
    spdlog::warn("aborting the multipart upload of {}: {}", key_,
                 reply.error().message);
  }
}

}  // namespace

Status ReadAt(int fd, uint64_t offset, size_t length,
              std::vector<std::byte>& buffer) {
  buffer.resize(length);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, buffer.data() + done, length - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return std::unexpected(
          PosixError("pread", fmt::format("fd {}", fd), errno));
    if (n == 0) {
      return Fail(Code::kIoError,
                  fmt::format("pread fd {}: the file ends at {}, before {}", fd,
                              offset + done, offset + length));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Status PutSingle(Transport& transport, std::string_view key, int fd,
                 uint64_t size, const S3Progress& progress) {
  std::vector<std::byte> body;
  REGFS_TRY(ReadAt(fd, 0, static_cast<size_t>(size), body));
  if (progress) progress(0, size);
  Request request{.method = "PUT",
                  .key = std::string(key),
                  .body = body,
                  .content_type = "application/octet-stream"};
  REGFS_TRY(transport.Call(request));
  if (progress) progress(size, size);
  return {};
}

Status PutMultipart(Transport& transport, std::string_view key, int fd,
                    uint64_t size, const S3Progress& progress) {
  const uint64_t mib = uint64_t{1} << 20;
  uint64_t part_size = transport.config().part_size;
  if (size > part_size * kMaxParts) {  // larger parts, rounded up to a MiB
    part_size = ((size + kMaxParts - 1) / kMaxParts + mib - 1) / mib * mib;
  }
  Upload upload(transport, key, fd, size, part_size, progress);
  REGFS_TRY(upload.Start());
  if (progress) progress(0, size);
  const int threads =
      std::max(1, std::min(transport.config().parallel_parts, upload.parts()));
  {
    std::vector<std::jthread> helpers;
    for (int i = 1; i < threads; ++i)
      helpers.emplace_back([&upload] { upload.Work(); });
    upload.Work();
  }  // joins the helpers
  Status status = {};
  if (std::optional<Error> failure = upload.failure()) {
    status = std::unexpected(std::move(*failure));
  } else {
    status = upload.Complete();
  }
  if (!status) upload.Abort();
  return status;
}

}  // namespace regfs::registry::s3
