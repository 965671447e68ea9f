// Maintenance: fsck, gc and verifying a version's blobs.
#include "registry/sql/maintenance.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "registry/registry_impl.h"

namespace regfs::registry {

Result<FsckReport> Registry::Fsck(FsckOptions options) {
  FsckReport report;
  auto blobs = impl_->FsckDatabase(report);
  REGFS_TRY(blobs);
  // Hash every blob without the lock: blobs are immutable. A key recorded
  // with several sizes comes once per size, sorted.
  for (size_t i = 0; i < blobs->size(); ++i) {
    const sql::BlobRef& blob = (*blobs)[i];
    if (i > 0 && (*blobs)[i - 1].key == blob.key) {
      if ((*blobs)[i - 1].size != blob.size) {
        report.problems.push_back(
            fmt::format("blob {} is recorded with two sizes", blob.key));
      }
      continue;
    }
    REGFS_TRY(impl_->FsckBlob(blob, options.repair, options.contents, report));
  }
  std::sort(report.affected.begin(), report.affected.end());
  report.affected.erase(
      std::unique(report.affected.begin(), report.affected.end()),
      report.affected.end());
  if (options.repair) report.verity_supported = impl_->blobs.verity_supported();
  return report;
}

Result<std::vector<sql::BlobRef>> Registry::Impl::FsckDatabase(
    FsckReport& report) {
  auto lock = Lock();
  auto found = sql::FindInconsistencies(*db);
  REGFS_TRY(found);
  for (const sql::Inconsistency& problem : *found) {
    report.problems.push_back(
        fmt::format("{}: {}", problem.check, problem.detail));
  }
  auto versions = sql::CountVersions(*db);
  REGFS_TRY(versions);
  report.versions = *versions;
  return sql::ReferencedBlobs(*db);
}

Status Registry::Impl::FsckBlob(const sql::BlobRef& blob, bool repair,
                                bool contents, FsckReport& report) {
  ++report.blobs;
  report.bytes += blob.size;
  auto s = blobs.Verify(blob.key, blob.size, contents);
  // S3 out of reach is no finding about the blob: fsck fails.
  if (!s && blobs.remote() && s.error().code != Code::kCorruption) return s;
  if (!s && !blobs.Present(blob.key).value_or(true)) {
    // Re-check under the lock: a concurrent delete + gc may have removed
    // a blob that is no longer referenced.
    auto lock = Lock();
    auto still = sql::IsBlobReferenced(*db, blob.key);
    REGFS_TRY(still);
    if (!*still) return {};
  }
  if (!s) {
    auto files = FilesOfBlob(blob.key);
    REGFS_TRY(files);
    report.problems.push_back(files->empty()
                                  ? s.error().message
                                  : fmt::format("{} (in {})", s.error().message,
                                                fmt::join(*files, ", ")));
    report.affected.insert(report.affected.end(), files->begin(), files->end());
    return {};
  }
  if (repair && !blobs.remote()) REGFS_TRY(RepairVerity(blob.key, report));
  return {};
}

Result<GcReport> Registry::Gc(const Identity& who) {
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, Role::kAdmin, "collect garbage"));
  }
  // Drafts first: a published leftover's links go, and its blobs stay.
  REGFS_ASSIGN_OR_RETURN(const DraftLimits limits, GetDraftLimits());
  REGFS_ASSIGN_OR_RETURN(DraftGcReport drafts, CollectDrafts(limits.idle));
  const BlobStore& blobs = impl_->blobs;
  // A store in S3: listing the bucket may take long, so it runs without
  // the lock; what it lists is decided under it.
  std::vector<RemoteBlob> candidates;
  if (blobs.remote()) {
    REGFS_ASSIGN_OR_RETURN(candidates,
                           blobs.RemoteCandidates(impl_->gc_grace));
  }
  auto lock = impl_->Lock();
  Connection& db = *impl_->db;
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "collect garbage"));
  // The write lock keeps pushes from installing a blob between the query
  // and the removal; nothing is written, so the transaction rolls back.
  auto tx = Transaction::Begin(db);
  REGFS_TRY(tx);
  auto referenced_rows = sql::ReferencedBlobs(db);
  REGFS_TRY(referenced_rows);
  std::vector<std::string> referenced;  // sorted, as Collect needs
  for (sql::BlobRef& blob : *referenced_rows) {
    if (referenced.empty() || referenced.back() != blob.key) {
      referenced.push_back(std::move(blob.key));
    }
  }
  auto collected =
      blobs.remote()
          ? blobs.CollectRemote(candidates, referenced, impl_->gc_grace)
          : blobs.Collect(referenced);
  REGFS_TRY(collected);
  return GcReport{*collected, std::move(drafts)};
}

Result<std::vector<std::string>> Registry::Impl::FilesOfBlob(
    std::string_view key) {
  auto lock = Lock();
  return sql::FilesOfBlob(*db, key);
}

Status Registry::Impl::RepairVerity(const std::string& key,
                                    FsckReport& report) {
  auto verity = blobs.Protect(key);
  if (!verity) {
    report.problems.push_back(fmt::format(
        "blob {}: cannot enable fs-verity: {}", key, verity.error().message));
  } else if (*verity == VerityState::kEnabled) {
    ++report.verity_blobs;
  }
  return {};
}

Result<UniqueFd> Registry::OpenBlob(std::string_view key) {
  return impl_->blobs.OpenVerified(key);
}

Status Registry::VerifyVersion(std::string_view collection, uint64_t number) {
  struct File {
    std::string path;  // "models/v1" or "zoo/v0/sub/file.bin"
    std::string blob;
    uint64_t size;
  };
  std::vector<File> files;
  {
    auto lock = impl_->Lock();
    REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                           impl_->FindCollection(collection));
    REGFS_ASSIGN_OR_RETURN(const Version v, impl_->RequireVersion(c, number));
    const std::string name = fmt::format("{}/{}", c.name, VersionName(number));
    if (v.kind == Kind::kFile) {
      files.push_back({name, v.blob, v.size});
    } else {
      auto tree = sql::TreeFiles(*impl_->db, v.id);
      REGFS_TRY(tree);
      for (sql::TreeFile& file : *tree) {
        files.push_back({fmt::format("{}/{}", name, file.path),
                         std::move(file.blob), file.size});
      }
    }
  }
  // Blobs are immutable: hash them without the lock.
  for (const File& file : files) {
    auto s = impl_->blobs.Verify(file.blob, file.size);
    if (!s) {
      return Fail(s.error().code,
                  fmt::format("{}: {}", file.path, s.error().message));
    }
  }
  return {};
}

}  // namespace regfs::registry
