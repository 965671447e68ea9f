#include "registry/blob_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "registry/copy_hash.h"

namespace regfs::registry {
namespace {

constexpr std::string_view kTempDir = "tmp";

Status SyncDir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    return std::unexpected(PosixError("open", dir.string(), errno));
  if (::fsync(fd.get()) != 0) {
    return std::unexpected(PosixError("fsync", dir.string(), errno));
  }
  return {};
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// A file written, truncated or appended to while it was copied would make
// a version that never existed on disk (a prefix, a mix of old and new):
// refuse unless the open file still has the size, mtime and ctime it had
// before the copy, and the copy holds exactly that many bytes.
Status CheckUnchanged(int fd, const struct stat& before, uint64_t copied,
                      const std::filesystem::path& source) {
  struct stat after;
  if (::fstat(fd, &after) != 0) {
    return std::unexpected(PosixError("stat", source.string(), errno));
  }
  if (after.st_size == before.st_size &&
      copied == static_cast<uint64_t>(before.st_size) &&
      SameTime(after.st_mtim, before.st_mtim) &&
      SameTime(after.st_ctim, before.st_ctim)) {
    return {};
  }
  return Fail(Code::kConflict,
              fmt::format("{} changed while it was being pushed ({} bytes "
                          "when the push began, {} now, {} copied); push it "
                          "again when it is complete",
                          source.string(), before.st_size, after.st_size,
                          copied));
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

std::string BlobStore::KeyFor(std::string_view digest, int suffix) {
  return suffix == 0 ? std::string(digest)
                     : fmt::format("{}.{}", digest, suffix);
}

StagingArea::~StagingArea() {
  // Its StagedBlobs unlinked their files; a file left (a link into place
  // that failed half-way) goes with the directory.
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

StagedBlob::StagedBlob(StagedBlob&& other) noexcept
    : temp_(std::move(other.temp_)),
      area_(std::move(other.area_)),
      digest_(std::move(other.digest_)),
      size_(other.size_),
      verity_(other.verity_),
      verified_key_(std::move(other.verified_key_)),
      remote_key_(std::move(other.remote_key_)),
      uploaded_ms_(other.uploaded_ms_) {
  other.temp_.clear();
}

StagedBlob& StagedBlob::operator=(StagedBlob&& other) noexcept {
  if (this != &other) {
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_ = std::move(other.temp_);
    other.temp_.clear();
    area_ = std::move(other.area_);
    digest_ = std::move(other.digest_);
    size_ = other.size_;
    verity_ = other.verity_;
    verified_key_ = std::move(other.verified_key_);
    remote_key_ = std::move(other.remote_key_);
    uploaded_ms_ = other.uploaded_ms_;
  }
  return *this;
}

StagedBlob::~StagedBlob() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

BlobStore::BlobStore(std::filesystem::path root, HasherFactory hasher,
                     bool durable)
    : root_(std::move(root)), hasher_(std::move(hasher)), durable_(durable) {
  if (!hasher_) hasher_ = NewXxh3Hasher;
}

Status BlobStore::Create() const {
  for (const auto& dir : {root_, root_ / kTempDir}) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return std::unexpected(PosixError("mkdir", dir.string(), errno));
    }
  }
  return {};
}

std::string_view BlobStore::DigestOf(std::string_view key) {
  return key.substr(0, key.find('.'));
}

std::filesystem::path BlobStore::PathOf(std::string_view key) const {
  return root_ / std::string(key.substr(0, 2)) / std::string(key);
}

bool BlobStore::Exists(std::string_view key) const {
  struct stat st;
  return ::stat(PathOf(key).c_str(), &st) == 0;
}

Result<bool> BlobStore::SameContent(int fd,
                                    const std::filesystem::path& blob) const {
  UniqueFd other(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!other.valid())
    return std::unexpected(PosixError("open", blob.string(), errno));
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::fstat(other.get(), &b) != 0) {
    return std::unexpected(PosixError("fstat", blob.string(), errno));
  }
  if (a.st_size != b.st_size) return false;
  size_t cap = 0;
  auto x = ChunkBuffer(static_cast<uint64_t>(a.st_size), cap);
  auto y = ChunkBuffer(static_cast<uint64_t>(a.st_size), cap);
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd, x.get(), cap, off);
    if (n < 0) return std::unexpected(PosixError("read", "staged blob", errno));
    if (n == 0) return true;
    auto m = ReadFull(other.get(), y.get(), static_cast<size_t>(n), blob);
    REGFS_TRY(m);
    if (*m != static_cast<size_t>(n) ||
        std::memcmp(x.get(), y.get(), static_cast<size_t>(n)) != 0) {
      return false;
    }
    off += n;
  }
}

namespace {

// A file to push, open, and what fstat said of it then.
struct Source {
  UniqueFd fd;
  struct stat st {};
};

// Opens `source` for a push: a regular file, never followed if it is a
// symbolic link.
Result<Source> OpenSource(const std::filesystem::path& source) {
  Source in;
  in.fd.Reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.fd.valid()) {
    if (errno == ELOOP) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is a symbolic link: only regular files can "
                              "be pushed",
                              source.string()));
    }
    return std::unexpected(PosixError("open", source.string(), errno));
  }
  if (::fstat(in.fd.get(), &in.st) != 0) {
    return std::unexpected(PosixError("stat", source.string(), errno));
  }
  if (!S_ISREG(in.st.st_mode)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is not a regular file", source.string()));
  }
  ::posix_fadvise(in.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return in;
}

}  // namespace

Result<std::shared_ptr<const StagingArea>> BlobStore::NewStagingArea() const {
  // gc removes the areas it can lock. Between mkdtemp and our flock it may
  // take this one for abandoned and remove it: then the path no longer
  // names our directory, and we start over with a new one.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string templ = (root_ / kTempDir / "push-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return std::unexpected(PosixError("mkdtemp", templ, errno));
    }
    UniqueFd fd(::open(templ.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;
      return std::unexpected(PosixError("open", templ, errno));
    }
    if (::flock(fd.get(), LOCK_EX) != 0) {
      ::rmdir(templ.c_str());
      return std::unexpected(PosixError("flock", templ, errno));
    }
    struct stat by_fd {}, by_path {};
    if (::fstat(fd.get(), &by_fd) != 0) {
      return std::unexpected(PosixError("fstat", templ, errno));
    }
    if (::stat(templ.c_str(), &by_path) == 0 &&
        by_path.st_ino == by_fd.st_ino && by_path.st_dev == by_fd.st_dev) {
      return std::shared_ptr<const StagingArea>(
          new StagingArea(std::move(templ), std::move(fd)));
    }
  }
  return Fail(Code::kIoError, fmt::format("{}: staging areas keep disappearing",
                                          (root_ / kTempDir).string()));
}

Result<BlobStore::TempFile> BlobStore::CreateTemp(
    std::shared_ptr<const StagingArea> area,
    const std::filesystem::path* link_from) const {
  if (area == nullptr) {
    REGFS_ASSIGN_OR_RETURN(area, NewStagingArea());
  }
  // The area is locked: gc leaves what is in it alone.
  std::string templ;
  UniqueFd writer;
  for (;;) {
    templ = (area->dir_ / "blob-XXXXXX").string();
    writer.Reset(::mkostemp(templ.data(), O_CLOEXEC));
    if (!writer.valid()) {
      return std::unexpected(PosixError("mkstemp", templ, errno));
    }
    if (link_from == nullptr) break;
    // The unique name, for a link of the draft's file.
    writer.Reset();
    ::unlink(templ.c_str());
    if (::link(link_from->c_str(), templ.c_str()) == 0) break;
    if (errno != EEXIST) {
      return std::unexpected(PosixError("link", templ, errno));
    }
  }
  TempFile temp;
  temp.staged.temp_ = std::move(templ);
  temp.staged.area_ = std::move(area);
  REGFS_ASSIGN_OR_RETURN(temp.file, OpenStaged(temp.staged));
  temp.writer = std::move(writer);
  return temp;
}

Result<UniqueFd> BlobStore::OpenStaged(const StagedBlob& staged) const {
  UniqueFd fd(::open(staged.temp_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::unexpected(PosixError("open", staged.temp_.string(), errno));
  }
  return fd;
}

Status BlobStore::FindIdentical(StagedBlob& staged, int fd) const {
  for (int suffix = 0;; ++suffix) {
    const std::string key = KeyFor(staged.digest_, suffix);
    if (!Exists(key)) return {};
    auto same = SameContent(fd, PathOf(key));
    REGFS_TRY(same);
    if (*same) {
      staged.verified_key_ = key;
      return {};
    }
  }
}

Result<StagedBlob> BlobStore::Adopt(
    const std::filesystem::path& source, const ProgressFn& progress,
    std::shared_ptr<const StagingArea> area) const {
  REGFS_ASSIGN_OR_RETURN(Source in, OpenSource(source));
  struct stat tmp;
  if (::stat((root_ / kTempDir).c_str(), &tmp) != 0) {
    return std::unexpected(
        PosixError("stat", (root_ / kTempDir).string(), errno));
  }
  if (tmp.st_dev != in.st.st_dev) return Stage(source, progress, area);
  REGFS_ASSIGN_OR_RETURN(TempFile temp, CreateTemp(std::move(area), &source));
  StagedBlob& staged = temp.staged;
  // The link changed its ctime: what follows must leave it as it is now.
  if (::fstat(in.fd.get(), &in.st) != 0) {
    return std::unexpected(PosixError("stat", source.string(), errno));
  }
  const uint64_t size = static_cast<uint64_t>(in.st.st_size);
  ProgressFn report;
  if (progress) {
    report = [&](uint64_t done, uint64_t) {
      progress(done, std::max(size, done));
    };
  }
  // The disk writes the draft back while this thread hashes it from the
  // page cache: a publish then waits for the disk alone, not for the disk
  // and then the hash (a 1 GiB draft: 0.52 s, not 0.52 + 0.16 s).
  int synced = 0;
  std::thread sync;
  if (durable_) {
    sync = std::thread([&synced, fd = temp.file.get()] {
      synced = ::fsync(fd) == 0 ? 0 : errno;
    });
  }
  auto hashed = HashFile(temp.file.get(), staged.temp_, report);
  if (sync.joinable()) sync.join();
  REGFS_TRY(hashed);
  REGFS_TRY(CheckUnchanged(in.fd.get(), in.st, hashed->first, source));
  if (synced != 0) {
    return std::unexpected(PosixError("fsync", source.string(), synced));
  }
  staged.size_ = hashed->first;
  staged.digest_ = std::move(hashed->second);
  // fs-verity would make the draft read-only at once: Install() enables it
  // once the publish is past its checks.
  REGFS_TRY(remote_ ? FindOrUpload(staged, temp.file.get())
                    : FindIdentical(staged, temp.file.get()));
  return std::move(staged);
}

Result<std::optional<std::string>> BlobStore::KeyOfLink(
    const std::filesystem::path& file) const {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  // Gone since its directory was read: its draft was published or removed
  // meanwhile, and `regfs gc` goes on.
  if (!fd.valid() && errno == ENOENT) return std::nullopt;
  if (!fd.valid())
    return std::unexpected(PosixError("open", file.string(), errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(PosixError("fstat", file.string(), errno));
  }
  if (!S_ISREG(st.st_mode) || st.st_nlink < 2) return std::nullopt;
  REGFS_ASSIGN_OR_RETURN(const auto hashed, HashFile(fd.get(), file));
  for (int suffix = 0;; ++suffix) {
    const std::string key = KeyFor(hashed.second, suffix);
    struct stat blob;
    if (::stat(PathOf(key).c_str(), &blob) != 0) return std::nullopt;
    if (blob.st_ino == st.st_ino && blob.st_dev == st.st_dev) return key;
  }
}

Result<StagedBlob> BlobStore::Stage(
    const std::filesystem::path& source, const ProgressFn& progress,
    std::shared_ptr<const StagingArea> area) const {
  REGFS_ASSIGN_OR_RETURN(Source in, OpenSource(source));
  REGFS_ASSIGN_OR_RETURN(TempFile temp, CreateTemp(std::move(area)));
  StagedBlob& staged = temp.staged;
  auto hasher = hasher_();
  auto done = CopyAndHash(in.fd.get(), temp.writer.get(),
                          static_cast<uint64_t>(in.st.st_size), *hasher,
                          progress, source, staged.temp_, durable_);
  REGFS_TRY(done);
  REGFS_TRY(CheckUnchanged(in.fd.get(), in.st, *done, source));
  if (durable_ && ::fsync(temp.writer.get()) != 0) {
    return std::unexpected(PosixError("fsync", staged.temp_.string(), errno));
  }
  temp.writer.Reset();  // fs-verity needs every writer gone
  staged.digest_ = hasher->Final();
  staged.size_ = *done;

  // Look for an identical blob now, outside the registry's lock; Install()
  // re-checks that it still exists.
  REGFS_TRY(remote_ ? FindOrUpload(staged, temp.file.get())
                    : FindIdentical(staged, temp.file.get()));
  // A new content: protect it before it is in place (and read-only).
  if (staged.verified_key_.empty()) {
    auto verity = EnableVerityOn(temp.file.get(), staged.temp_);
    REGFS_TRY(verity);
    staged.verity_ = *verity == VerityState::kEnabled;
  }
  return std::move(staged);
}

Result<std::string> BlobStore::Install(StagedBlob& staged) const {
  REGFS_ASSIGN_OR_RETURN(const UniqueFd file, OpenStaged(staged));
  if (remote_) return InstallRemote(staged, file.get());
  for (int suffix = 0;; ++suffix) {
    const std::string key = KeyFor(staged.digest_, suffix);
    if (Exists(key)) {
      if (key == staged.verified_key_) return key;
      auto same = SameContent(file.get(), PathOf(key));
      REGFS_TRY(same);
      if (*same) return key;
      continue;  // a different content with the same hash
    }
    REGFS_TRY(MoveIntoPlace(staged, file.get(), key));
    return key;
  }
}

Status BlobStore::MoveIntoPlace(StagedBlob& staged, int fd,
                                const std::string& key) const {
  const std::filesystem::path path = PathOf(key);
  const std::filesystem::path dir = path.parent_path();
  bool new_dir = false;
  if (::mkdir(dir.c_str(), 0700) == 0) {
    new_dir = true;
  } else if (errno != EEXIST) {
    return std::unexpected(PosixError("mkdir", dir.string(), errno));
  }
  if (!staged.verity_) {  // an identical blob vanished since Stage()
    auto verity = EnableVerityOn(fd, staged.temp_);
    REGFS_TRY(verity);
    staged.verity_ = *verity == VerityState::kEnabled;
  }
  if (::fchmod(fd, 0444) != 0) {
    return std::unexpected(PosixError("chmod", staged.temp_.string(), errno));
  }
  if (::rename(staged.temp_.c_str(), path.c_str()) != 0) {
    return std::unexpected(PosixError("rename", path.string(), errno));
  }
  staged.temp_.clear();
  if (!durable_) return {};
  REGFS_TRY(SyncDir(dir));
  if (new_dir) REGFS_TRY(SyncDir(root_));
  return {};
}

Status BlobStore::Verify(std::string_view key, uint64_t size,
                         bool deep) const {
  if (remote_) return VerifyRemote(key, size, deep);
  const std::filesystem::path path = PathOf(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return Fail(Code::kCorruption, fmt::format("blob {} is missing", key));
    }
    return std::unexpected(PosixError("open", path.string(), errno));
  }
  auto hashed = HashFile(fd.get(), path);
  REGFS_TRY(hashed);
  const auto& [total, digest] = *hashed;
  if (total != size) {
    return Fail(
        Code::kCorruption,
        fmt::format("blob {} has {} bytes, expected {}", key, total, size));
  }
  if (digest != DigestOf(key)) {
    return Fail(
        Code::kCorruption,
        fmt::format("blob {} has hash {}: its content changed", key, digest));
  }
  return {};
}

// Reads with pread, not through a mapping: a page that cannot be read (a
// disk error, or the file truncated meanwhile) must be an error for this
// one blob, not a SIGBUS that takes the whole daemon down.
Result<std::pair<uint64_t, std::string>> BlobStore::HashFile(
    int fd, const std::filesystem::path& path,
    const ProgressFn& progress) const {
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = size_t{1} << 20;
  std::vector<std::byte> buffer(kChunk);
  auto hasher = hasher_();
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(),
                              static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(PosixError("read", path.string(), errno));
    }
    if (n == 0) break;
    hasher->Update(std::span(buffer.data(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
    if (progress) progress(total, total);
  }
  return std::pair(total, hasher->Final());
}

Result<VerityState> BlobStore::EnableVerityOn(
    int fd, const std::filesystem::path& path) const {
  if (verity_.load() == Verity::kUnsupported) return VerityState::kUnsupported;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(PosixError("stat", path.string(), errno));
  }
  // The ioctl wants write permission on the file (blobs are 0444).
  const bool writable = (st.st_mode & S_IWUSR) != 0;
  if (!writable && ::fchmod(fd, (st.st_mode & 07777) | S_IWUSR) != 0) {
    return std::unexpected(PosixError("chmod", path.string(), errno));
  }
  auto verity = EnableVerity(fd, path);
  if (!writable) (void)::fchmod(fd, st.st_mode & 07777);
  if (verity) {
    verity_.store(*verity == VerityState::kEnabled ? Verity::kSupported
                                                   : Verity::kUnsupported);
  }
  return verity;
}

std::optional<bool> BlobStore::verity_supported() const {
  switch (verity_.load()) {
    case Verity::kSupported:
      return true;
    case Verity::kUnsupported:
      return false;
    case Verity::kUnknown:
      break;
  }
  return std::nullopt;
}

Result<VerityState> BlobStore::Protect(std::string_view key) const {
  const std::filesystem::path path = PathOf(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::unexpected(PosixError("open", path.string(), errno));
  }
  if (HasVerity(fd.get())) return VerityState::kEnabled;
  return EnableVerityOn(fd.get(), path);
}

Result<UniqueFd> BlobStore::OpenVerified(std::string_view key) const {
  if (remote_) return OpenCached(key);
  const std::filesystem::path path = PathOf(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    const Error error = PosixError("open", path.string(), err);
    if (err != ENOENT) return std::unexpected(error);
    return Fail(Code::kCorruption,
                fmt::format("blob {} is missing: {}", key, error.message));
  }
  REGFS_TRY(VerifyOnce(fd.get(), key, path));
  return fd;
}

Status BlobStore::VerifyOnce(int fd, std::string_view key,
                             const std::filesystem::path& path) const {
  if (HasVerity(fd)) return {};  // the kernel checks every read

  const std::string k(key);
  {
    MutexLock lock(verified_.mu);
    while (verified_.busy.contains(k)) verified_.cv.Wait(verified_.mu);
    if (verified_.done.contains(k)) return {};
    verified_.busy.insert(k);
  }
  // Ends our claim on `k` whatever happens below, and wakes the waiters.
  bool intact = false;
  struct Release {
    VerifiedSet& set;
    const std::string& key;
    const bool& intact;
    ~Release() {
      MutexLock lock(set.mu);
      set.busy.erase(key);
      if (intact) {
        if (set.done.size() >= kMaxVerified) set.done.clear();
        set.done.insert(key);
      }
      set.cv.NotifyAll();
    }
  } release{verified_, k, intact};

  auto hashed = HashFile(fd, path);
  REGFS_TRY(hashed);
  if (hashed->second != DigestOf(key)) {
    return Fail(Code::kCorruption,
                fmt::format("blob {} has hash {}: its content changed", key,
                            hashed->second));
  }
  intact = true;
  // Protect it for the next opens; the bytes were checked either way.
  (void)EnableVerityOn(fd, path);
  return {};
}

Result<std::vector<std::string>> BlobStore::List() const {
  std::vector<std::string> keys;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(root_, ec)) {
    const std::string name = dir.path().filename().string();
    if (name.size() != 2 || !IsHex(name) || !dir.is_directory()) continue;
    for (const auto& file :
         std::filesystem::directory_iterator(dir.path(), ec)) {
      std::string key = file.path().filename().string();
      if (IsHex(DigestOf(key)) && key.starts_with(name)) keys.push_back(key);
    }
    if (ec) break;
  }
  if (ec)
    return std::unexpected(PosixError("list", root_.string(), ec.value()));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<BlobGcReport> BlobStore::Collect(
    const std::vector<std::string>& referenced) const {
  BlobGcReport report;
  auto keys = List();
  REGFS_TRY(keys);
  for (const auto& key : *keys) {
    if (std::binary_search(referenced.begin(), referenced.end(), key)) continue;
    const std::filesystem::path path = PathOf(key);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    if (::unlink(path.c_str()) != 0) {
      return std::unexpected(PosixError("unlink", path.string(), errno));
    }
    ++report.blobs_removed;
    report.bytes_removed += static_cast<uint64_t>(st.st_size);
  }
  // A live push holds its staging area flock()ed, a fetch into the cache
  // its loose temporary file (blob_cache.h); the others are left over
  // from killed processes.
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(root_ / kTempDir, ec)) {
    const std::filesystem::path& path = entry.path();
    std::error_code type_ec;
    if (entry.symlink_status(type_ec).type() ==
        std::filesystem::file_type::directory) {
      RemoveAbandonedArea(path, report.temps_removed);
      continue;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (::unlink(path.c_str()) == 0) ++report.temps_removed;
  }
  return report;
}

void BlobStore::RemoveAbandonedArea(const std::filesystem::path& dir,
                                    uint64_t& files_removed) const {
  UniqueFd fd(
      ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    if (::unlink(file.path().c_str()) == 0) ++files_removed;
  }
  // Removed while locked: a push that opened it meanwhile and waits for
  // the lock then finds its path gone, and makes another (NewStagingArea).
  ::rmdir(dir.c_str());
}

}  // namespace regfs::registry
