#include "registry/blob_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "registry/unique_fd.h"

namespace regfs::registry {
namespace {

int64_t AtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_atim.tv_sec) * 1000 +
         st.st_atim.tv_nsec / 1000000;
}

bool IsHexKey(std::string_view dir, std::string_view key) {
  if (dir.size() != 2 || !key.starts_with(dir)) return false;
  const size_t dot = key.find('.');
  const std::string_view digest = key.substr(0, dot);
  return !digest.empty() &&
         std::all_of(digest.begin(), digest.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A fetch's temporary file in blobs/tmp, locked by this process for its
// whole life (gc removes only unlocked ones), unlinked unless renamed.
class FetchTemp final {
 public:
  static Result<FetchTemp> Create(const std::filesystem::path& dir) {
    FetchTemp temp;
    std::string templ = (dir / "fetch-XXXXXX").string();
    UniqueFd fd(::mkstemp(templ.data()));
    if (!fd.valid())
      return std::unexpected(PosixError("mkstemp", templ, errno));
    temp.path_ = templ;
    if (::flock(fd.get(), LOCK_EX) != 0) {
      const int err = errno;
      ::unlink(templ.c_str());
      return std::unexpected(PosixError("flock", templ, err));
    }
    temp.fd_ = std::move(fd);
    return temp;
  }
  FetchTemp() = default;
  FetchTemp(FetchTemp&&) = default;
  FetchTemp& operator=(FetchTemp&&) = default;
  ~FetchTemp() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  // In place: no longer ours to remove, nor to hold locked.
  void Installed() {
    path_.clear();
    fd_.Reset();
  }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

}  // namespace

BlobCache::BlobCache(
    std::filesystem::path root, uint64_t limit, RemoteBlobs& remote,
    HasherFactory hasher,
    std::function<std::filesystem::path(std::string_view)> path_of)
    : root_(std::move(root)),
      limit_(limit),
      remote_(remote),
      hasher_(std::move(hasher)),
      path_of_(std::move(path_of)) {}

Result<bool> BlobCache::Fetch(std::string_view key,
                              std::optional<uint64_t> size) {
  const std::string k(key);
  const std::filesystem::path path = path_of_(key);
  {
    MutexLock lock(fetching_.mu);
    while (fetching_.busy.contains(k)) fetching_.cv.Wait(fetching_.mu);
    if (::access(path.c_str(), F_OK) == 0) return false;
    fetching_.busy.insert(k);
  }
  // Ends our claim on `k` whatever happens below, and wakes the waiters.
  struct Release {
    Fetching& fetching;
    const std::string& key;
    ~Release() {
      MutexLock lock(fetching.mu);
      fetching.busy.erase(key);
      fetching.cv.NotifyAll();
    }
  } release{fetching_, k};

  REGFS_ASSIGN_OR_RETURN(FetchTemp temp, FetchTemp::Create(root_ / "tmp"));
  auto hasher = hasher_();
  if (auto got = remote_.Download(key, size, temp.fd(), *hasher); !got) {
    spdlog::error("cannot fetch blob {} from {}: {}", key, remote_.url(),
                  got.error().message);
    return std::unexpected(got.error());
  }
  struct stat st;
  if (::fstat(temp.fd(), &st) != 0) {
    return std::unexpected(PosixError("fstat", temp.path().string(), errno));
  }
  if (::fchmod(temp.fd(), 0444) != 0) {
    return std::unexpected(PosixError("chmod", temp.path().string(), errno));
  }
  const std::filesystem::path dir = path.parent_path();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(PosixError("mkdir", dir.string(), errno));
  }
  if (::rename(temp.path().c_str(), path.c_str()) != 0) {
    return std::unexpected(PosixError("rename", path.string(), errno));
  }
  // Counted while still locked, so that the eviction it may start keeps
  // it: a blob larger than the cache's bound must still reach the reader
  // who asked for it (it goes at the next eviction once closed).
  Added(static_cast<uint64_t>(st.st_size));
  temp.Installed();
  return true;
}

Result<bool> BlobCache::Pin(int fd, const std::filesystem::path& path) {
  // Waits out an eviction that holds the file exclusively right now.
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) {
      return std::unexpected(PosixError("flock", path.string(), errno));
    }
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(PosixError("fstat", path.string(), errno));
  }
  if (st.st_nlink == 0) return false;  // evicted before we held it
  // The last use, for eviction: explicit, so that noatime cannot hide it.
  const struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  (void)::futimens(fd, times);
  return true;
}

bool BlobCache::IsOpen(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return false;
  return ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0;
}

void BlobCache::Added(uint64_t bytes) {
  bool over = false;
  {
    MutexLock lock(evict_mu_);
    if (total_) {
      *total_ += bytes;
      over = *total_ > limit_;
    } else {
      over = true;  // not counted yet: Evict counts
    }
  }
  if (!over) return;
  if (auto evicted = Evict(limit_ / 10 * 9); !evicted) {
    spdlog::warn("blob cache {}: cannot evict: {}", root_.string(),
                 evicted.error().message);
  }
}

Result<std::vector<CachedBlob>> BlobCache::List() const {
  std::vector<CachedBlob> blobs;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(root_, ec)) {
    const std::string name = dir.path().filename().string();
    if (name.size() != 2 || !dir.is_directory()) continue;
    std::error_code inner;
    for (const auto& file :
         std::filesystem::directory_iterator(dir.path(), inner)) {
      std::string key = file.path().filename().string();
      if (!IsHexKey(name, key)) continue;
      struct stat st;
      if (::stat(file.path().c_str(), &st) != 0) continue;  // just evicted
      blobs.push_back({std::move(key), static_cast<uint64_t>(st.st_size),
                       AtimeMs(st), IsOpen(file.path())});
    }
    if (inner) {
      return std::unexpected(
          PosixError("list", dir.path().string(), inner.value()));
    }
  }
  if (ec)
    return std::unexpected(PosixError("list", root_.string(), ec.value()));
  std::sort(
      blobs.begin(), blobs.end(), [](const CachedBlob& a, const CachedBlob& b) {
        return a.used_ms != b.used_ms ? a.used_ms < b.used_ms : a.key < b.key;
      });
  return blobs;
}

Result<CacheEviction> BlobCache::Evict(uint64_t target) {
  MutexLock lock(evict_mu_);
  REGFS_ASSIGN_OR_RETURN(const std::vector<CachedBlob> blobs, List());
  uint64_t total = 0;
  for (const CachedBlob& blob : blobs) total += blob.size;
  CacheEviction report;
  for (const CachedBlob& blob : blobs) {
    if (total <= target) break;
    if (blob.open) {
      ++report.kept_open;
      continue;
    }
    const std::filesystem::path path = path_of_(blob.key);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) continue;  // gone meanwhile
    // Held exclusively while it is unlinked: a reader opening it now
    // waits, then finds it unlinked and fetches it again (Pin).
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      ++report.kept_open;
      continue;
    }
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return std::unexpected(PosixError("unlink", path.string(), errno));
    }
    total -= blob.size;
    ++report.blobs;
    report.bytes += blob.size;
  }
  total_ = total;
  return report;
}

}  // namespace regfs::registry
