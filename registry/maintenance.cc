// Maintenance: fsck, gc and verifying a version's blobs.
#include <fmt/ranges.h>

#include <algorithm>

#include "registry/registry_impl.h"

namespace regfs::registry {

Result<FsckReport> Registry::Fsck(FsckOptions options) {
  FsckReport report;
  std::vector<std::pair<std::string, uint64_t>> blobs;  // key, size
  {
    auto lock = impl_->Lock();
    Connection& db = *impl_->db;
    auto check = [&](const char* sql, std::string_view what) -> Status {
      auto s_or = db.Cached(sql);
      REGFS_TRY(s_or);
      auto& s = *s_or;
      for (;;) {
        auto row = s->Step();
        REGFS_TRY(row);
        if (!*row) return {};
        report.problems.push_back(
            fmt::format("{}: {}", what, s->ColumnText(0)));
      }
    };
    REGFS_TRY(
        check("SELECT integrity_check FROM pragma_integrity_check "
              "WHERE integrity_check <> 'ok'",
              "database"));
    REGFS_TRY(
        check("SELECT c.name || '/' || a.name FROM aliases a "
              "JOIN collections c ON c.id = a.collection_id "
              "WHERE a.version_id NOT IN (SELECT id FROM versions)",
              "alias names a missing version"));
    REGFS_TRY(
        check("SELECT c.name || '/v' || v.number FROM versions v "
              "JOIN collections c ON c.id = v.collection_id "
              "WHERE v.number >= c.next_version",
              "version number not below the collection's next number"));
    REGFS_TRY(
        check("SELECT 'v' || v.number || ' of collection ' || "
              "v.collection_id FROM versions v WHERE v.collection_id "
              "NOT IN (SELECT id FROM collections)",
              "version of a missing collection"));
    REGFS_TRY(
        check("SELECT c.name || '/v' || v.number FROM versions v "
              "JOIN collections c ON c.id = v.collection_id "
              "WHERE (c.kind = 1) <> (v.blob IS NOT NULL)",
              "version of the wrong kind"));
    REGFS_TRY(
        check("SELECT 'events ' || count(*) || ', last seq ' || "
              "coalesce(max(seq), 0) FROM history "
              "HAVING count(*) <> coalesce(max(seq), 0)",
              "history has gaps"));
    auto s_or = db.Cached(
        "SELECT blob, size FROM versions WHERE blob IS NOT NULL "
        "UNION SELECT blob, size FROM tree_entries WHERE blob IS NOT NULL");
    REGFS_TRY(s_or);
    auto& s = *s_or;
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      blobs.emplace_back(s->ColumnText(0),
                         static_cast<uint64_t>(s->ColumnInt64(1)));
    }
    auto n_or = db.Cached("SELECT count(*) FROM versions");
    REGFS_TRY(n_or);
    auto& n = *n_or;
    REGFS_TRY(n->Step());
    report.versions = static_cast<uint64_t>(n->ColumnInt64(0));
  }
  // Hash every blob without the lock: blobs are immutable.
  std::sort(blobs.begin(), blobs.end());
  for (size_t i = 0; i < blobs.size(); ++i) {
    const auto& [key, size] = blobs[i];
    if (i > 0 && blobs[i - 1].first == key) {
      if (blobs[i - 1].second != size) {
        report.problems.push_back(
            fmt::format("blob {} is recorded with two sizes", key));
      }
      continue;
    }
    ++report.blobs;
    report.bytes += size;
    auto s = impl_->blobs.Verify(key, size);
    if (!s && !impl_->blobs.Exists(key)) {
      // Re-check under the lock: a concurrent delete + gc may have removed
      // a blob that is no longer referenced.
      auto lock = impl_->Lock();
      auto still_or = impl_->db->Cached(
          "SELECT 1 FROM versions WHERE blob = ?1 "
          "UNION SELECT 1 FROM tree_entries WHERE blob = ?1");
      REGFS_TRY(still_or);
      auto& still = *still_or;
      still->BindText(1, key);
      auto row = still->Step();
      REGFS_TRY(row);
      if (!*row) continue;
    }
    if (!s) {
      auto files = impl_->FilesOfBlob(key);
      REGFS_TRY(files);
      report.problems.push_back(
          files->empty() ? s.error().message
                         : fmt::format("{} (in {})", s.error().message,
                                       fmt::join(*files, ", ")));
      report.affected.insert(report.affected.end(), files->begin(),
                             files->end());
      continue;
    }
    if (options.repair) REGFS_TRY(impl_->RepairVerity(key, report));
  }
  std::sort(report.affected.begin(), report.affected.end());
  report.affected.erase(
      std::unique(report.affected.begin(), report.affected.end()),
      report.affected.end());
  if (options.repair) report.verity_supported = impl_->blobs.verity_supported();
  return report;
}

Result<GcReport> Registry::Gc(const Identity& who) {
  auto lock = impl_->Lock();
  Connection& db = *impl_->db;
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "collect garbage"));
  // The write lock keeps pushes from installing a blob between the query
  // and the removal; nothing is written, so the transaction rolls back.
  auto tx = Transaction::Begin(db);
  REGFS_TRY(tx);
  std::vector<std::string> referenced;
  auto s_or = db.Cached(
      "SELECT blob FROM versions WHERE blob IS NOT NULL "
      "UNION SELECT blob FROM tree_entries WHERE blob IS NOT NULL");
  REGFS_TRY(s_or);
  auto& s = *s_or;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    referenced.push_back(s->ColumnText(0));
  }
  std::sort(referenced.begin(), referenced.end());
  auto collected = impl_->blobs.Collect(referenced);
  REGFS_TRY(collected);
  return GcReport{*collected};
}

Result<std::vector<std::string>> Registry::Impl::FilesOfBlob(
    std::string_view key) {
  auto lock = Lock();
  // Tree entries are walked up to their version's root to name their path.
  auto s_or = db->Cached(
      "WITH RECURSIVE up(entry, parent, path) AS ("
      "  SELECT id, parent_id, name FROM tree_entries WHERE blob = ?1"
      "  UNION ALL"
      "  SELECT up.entry, t.parent_id, t.name || '/' || up.path"
      "  FROM up JOIN tree_entries t ON t.id = up.parent) "
      "SELECT c.name || '/v' || v.number || '/' || up.path FROM up "
      "JOIN tree_entries e ON e.id = up.entry "
      "JOIN versions v ON v.id = e.version_id "
      "JOIN collections c ON c.id = v.collection_id WHERE up.parent = 0 "
      "UNION "
      "SELECT c.name || '/v' || v.number FROM versions v "
      "JOIN collections c ON c.id = v.collection_id WHERE v.blob = ?1 "
      "ORDER BY 1");
  REGFS_TRY(s_or);
  auto& s = *s_or;
  s->BindText(1, key);
  std::vector<std::string> files;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) return files;
    files.push_back(s->ColumnText(0));
  }
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
    auto c = impl_->FindCollection(collection);
    REGFS_TRY(c);
    auto v = impl_->FindVersion(c->id, number);
    REGFS_TRY(v);
    if (!*v) {
      return Fail(Code::kNotFound, fmt::format("{} has no version {}", c->name,
                                               VersionName(number)));
    }
    const std::string name = fmt::format("{}/{}", c->name, VersionName(number));
    if ((*v)->kind == Kind::kFile) {
      files.push_back({name, (*v)->blob, (*v)->size});
    } else {
      auto s_or = impl_->db->Cached(
          "WITH RECURSIVE down(id, path, blob, size) AS ("
          "  SELECT id, name, blob, size FROM tree_entries"
          "  WHERE version_id = ?1 AND parent_id = 0"
          "  UNION ALL"
          "  SELECT t.id, down.path || '/' || t.name, t.blob, t.size"
          "  FROM tree_entries t JOIN down ON t.parent_id = down.id) "
          "SELECT path, blob, size FROM down WHERE blob IS NOT NULL "
          "ORDER BY path");
      REGFS_TRY(s_or);
      auto& s = *s_or;
      s->BindInt64(1, (*v)->id);
      for (;;) {
        auto row = s->Step();
        REGFS_TRY(row);
        if (!*row) break;
        files.push_back({name + "/" + s->ColumnText(0), s->ColumnText(1),
                         static_cast<uint64_t>(s->ColumnInt64(2))});
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
