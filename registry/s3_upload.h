// Uploads of the S3 client (s3_client.h): one PUT, or a multipart upload
// whose parts go up from several threads. Internal to s3_client.cc.
#ifndef REGFS_REGISTRY_S3_UPLOAD_H_
#define REGFS_REGISTRY_S3_UPLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/s3_client.h"
#include "registry/s3_transport.h"

namespace regfs::registry::s3 {

// Reads `length` bytes of `fd` at `offset` into `buffer` (resized), with
// pread; kIoError when the file ends first.
[[nodiscard]] Status ReadAt(int fd, uint64_t offset, size_t length,
                            std::vector<std::byte>& buffer);

// Uploads `size` bytes of `fd` as `key` in one PUT.
[[nodiscard]] Status PutSingle(Transport& transport, std::string_view key,
                               int fd, uint64_t size,
                               const S3Progress& progress);

// Uploads `size` bytes of `fd` as `key` in parts of the config's
// part_size (more when 10,000 parts would not hold it), parallel_parts at
// once, each part read, hashed and sent by one thread, so that at most
// parallel_parts × part_size bytes are in memory. On any failure the
// upload is aborted and the first failure returned.
[[nodiscard]] Status PutMultipart(Transport& transport, std::string_view key,
                                  int fd, uint64_t size,
                                  const S3Progress& progress);

}  // namespace regfs::registry::s3

#endif  // REGFS_REGISTRY_S3_UPLOAD_H_
