// Copying a file while hashing it (copy_hash.h).
#include "registry/copy_hash.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <span>

namespace regfs::registry {
namespace {

constexpr size_t kChunk = 1 << 20;

Status WriteAll(int fd, const std::byte* data, size_t size,
                const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(PosixError("write", path.string(), errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// With `durable`, starts writing [offset, offset + length) of `fd` to disk
// now, so that the disk works while the next part is copied and hashed and
// the final fsync has less left to wait for. Only a head start: fsync is
// still what makes it durable.
void StartWriteback(int fd, uint64_t offset, uint64_t length, bool durable) {
  if (!durable || length == 0) return;
  (void)::sync_file_range(fd, static_cast<off_t>(offset),
                          static_cast<off_t>(length), SYNC_FILE_RANGE_WRITE);
}

// Copies `in` to `out` inside the kernel (copy_file_range) and hashes what
// landed in `out` through a read-only mapping: the bytes cross memory once,
// not twice through a user buffer. nullopt when this kernel or file system
// cannot copy between the two files (nothing was copied then).
Result<std::optional<uint64_t>> CopyInKernel(
    int in, int out, uint64_t total, Hasher& hasher, const ProgressFn& progress,
    const std::filesystem::path& source, bool durable) {
  constexpr size_t kStep = 64 << 20;  // progress granularity
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t done = 0;
  for (;;) {
    const ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, kStep, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                        errno == EOPNOTSUPP)) {
        return std::optional<uint64_t>();
      }
      return std::unexpected(
          PosixError("copy_file_range", source.string(), errno));
    }
    if (n == 0) return std::optional<uint64_t>(done);
    StartWriteback(out, done, static_cast<uint64_t>(n), durable);
    const uint64_t start = done / page * page;  // mmap wants page offsets
    const size_t length =
        static_cast<size_t>(done + static_cast<uint64_t>(n) - start);
    void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | MAP_POPULATE,
                       out, static_cast<off_t>(start));
    if (map == MAP_FAILED) {
      return std::unexpected(PosixError("mmap", "staged blob", errno));
    }
    hasher.Update(std::span(static_cast<const std::byte*>(map) + (done - start),
                            static_cast<size_t>(n)));
    ::munmap(map, length);
    done += static_cast<uint64_t>(n);
    if (progress) progress(done, std::max(total, done));
  }
}

// The portable path: read into a buffer, hash, write.
Result<std::optional<uint64_t>> CopyThroughBuffer(
    int in, int out, uint64_t total, Hasher& hasher, const ProgressFn& progress,
    const std::filesystem::path& source, const std::filesystem::path& temp,
    bool durable) {
  constexpr uint64_t kWritebackStep = 64 << 20;
  size_t cap = 0;
  auto buf = ChunkBuffer(total, cap);
  uint64_t done = 0;
  uint64_t written_back = 0;
  for (;;) {
    auto n = ReadFull(in, buf.get(), cap, source);
    REGFS_TRY(n);
    if (*n == 0) return std::optional<uint64_t>(done);
    if (done - written_back >= kWritebackStep) {
      StartWriteback(out, written_back, done - written_back, durable);
      written_back = done;
    }
    hasher.Update(std::span(buf.get(), *n));
    REGFS_TRY(WriteAll(out, buf.get(), *n, temp));
    done += *n;
    if (progress) progress(done, std::max(total, done));
  }
}

}  // namespace

// Reads up to `size` bytes, retrying short reads; returns bytes read.
Result<size_t> ReadFull(int fd, std::byte* data, size_t size,
                        const std::filesystem::path& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(PosixError("read", path.string(), errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// A read buffer for a file of `size` bytes: at most kChunk, and not
// zero-filled (a fresh 1 MiB vector costs 256 page faults and a memset,
// more than a small push does otherwise).
std::unique_ptr<std::byte[]> ChunkBuffer(uint64_t size, size_t& capacity) {
  capacity = static_cast<size_t>(std::clamp<uint64_t>(size + 1, 4096, kChunk));
  return std::unique_ptr<std::byte[]>(new std::byte[capacity]);
}

// Copies the `total` bytes of `in` to `out` (the temporary file `temp`)
// while hashing them; returns the bytes copied.
Result<uint64_t> CopyAndHash(int in, int out, uint64_t total, Hasher& hasher,
                             const ProgressFn& progress,
                             const std::filesystem::path& source,
                             const std::filesystem::path& temp, bool durable) {
  Result<std::optional<uint64_t>> copied =
      CopyInKernel(in, out, total, hasher, progress, source, durable);
  REGFS_TRY(copied);
  // Some file systems (procfs, sysfs, some FUSE ones) report a size but
  // copy nothing in the kernel: read them the portable way.
  if (!*copied || (**copied == 0 && total > 0)) {
    copied = CopyThroughBuffer(in, out, total, hasher, progress, source, temp,
                               durable);
    REGFS_TRY(copied);
  }
  return **copied;
}

}  // namespace regfs::registry
