// Copying a file into another while hashing it, as a push stages a blob:
// inside the kernel where it can (copy_file_range, hashed through a
// mapping of what landed), else through a buffer; with a head start on
// writing it back for a durable store. And the read helpers that go with
// it. Internal to registry/ (blob_store.cc).
#ifndef REGFS_REGISTRY_COPY_HASH_H_
#define REGFS_REGISTRY_COPY_HASH_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "registry/blob_store.h"
#include "registry/error.h"
#include "registry/hasher.h"

namespace regfs::registry {

// Reads up to `size` bytes of `fd`, retrying short reads; returns the
// bytes read (fewer only at the end of the file). `path` names it in errors.
[[nodiscard]] Result<size_t> ReadFull(int fd, std::byte* data, size_t size,
                                      const std::filesystem::path& path);

// A read buffer for a file of `size` bytes: at most 1 MiB, and not
// zero-filled; `capacity` says how big it is.
std::unique_ptr<std::byte[]> ChunkBuffer(uint64_t size, size_t& capacity);

// Copies the `total` bytes of `in` to `out` (the temporary file `temp`)
// while hashing them into `hasher`, reporting `progress`; returns the
// bytes copied. `durable`: start writing them back as they are copied.
[[nodiscard]] Result<uint64_t> CopyAndHash(
    int in, int out, uint64_t total, Hasher& hasher,
    const ProgressFn& progress, const std::filesystem::path& source,
    const std::filesystem::path& temp, bool durable);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_COPY_HASH_H_
