// Push: a new version from files and directories.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "registry/registry_impl.h"

namespace regfs::registry {

namespace {

// What a user asked to push, before any byte is copied.
struct PushItem {
  std::string path;  // relative path inside the tree, '/'-separated
  std::filesystem::path source;
  bool is_dir = false;
  bool executable = false;
};

// What a pushed path is. Without `follow`, a symbolic link is refused
// with a message that names -L; with it, the link's final target is
// taken, and `source` becomes that target's path (Stage opens sources
// with O_NOFOLLOW). A dangling link or a loop of links is an error.
Result<struct stat> StatPushed(std::filesystem::path& source, bool follow) {
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) {
    return std::unexpected(PosixError("cannot push", source.string(), errno));
  }
  if (!S_ISLNK(st.st_mode)) return st;
  if (!follow) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a symbolic link: push what links point to "
                            "with -L (--follow-symlinks), or remove it",
                            source.string()));
  }
  if (::stat(source.c_str(), &st) != 0) {
    const int err = errno;
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(source, ec);
    if (err == ENOENT) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is a dangling symbolic link (to {})",
                              source.string(), target.string()));
    }
    if (err == ELOOP) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is a loop of symbolic links (to {})",
                              source.string(), target.string()));
    }
    return std::unexpected(PosixError("cannot push", source.string(), err));
  }
  std::error_code ec;
  auto resolved = std::filesystem::canonical(source, ec);
  if (ec) {
    return std::unexpected(
        PosixError("cannot push", source.string(), ec.value()));
  }
  source = std::move(resolved);
  return st;
}

// The directories being walked, to stop at a link back to one of them.
using DirChain = std::vector<std::pair<dev_t, ino_t>>;

Status AddTreeItems(const std::filesystem::path& dir, const std::string& prefix,
                    bool follow, DirChain& chain,
                    std::vector<PushItem>& items) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::unexpected(PosixError("open", dir.string(), ec.value()));
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    std::filesystem::path source = entry.path();
    auto st = StatPushed(source, follow);
    if (!st) return std::unexpected(st.error());
    if (S_ISDIR(st->st_mode)) {
      const std::pair id(st->st_dev, st->st_ino);
      if (std::find(chain.begin(), chain.end(), id) != chain.end()) {
        return Fail(Code::kInvalidArgument,
                    fmt::format("{} links back to {}, which holds it: a "
                                "loop cannot be pushed",
                                entry.path().string(), source.string()));
      }
      items.push_back({rel, source, true, false});
      chain.push_back(id);
      auto s = AddTreeItems(source, rel, follow, chain, items);
      chain.pop_back();
      if (!s) return s;
    } else if (S_ISREG(st->st_mode)) {
      items.push_back({rel, source, false, (st->st_mode & S_IXUSR) != 0});
    } else {
      const char* what = S_ISFIFO(st->st_mode)   ? "a FIFO"
                         : S_ISSOCK(st->st_mode) ? "a socket"
                                                 : "a device";
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} is {}: a pushed tree may hold only "
                              "directories and regular files",
                              entry.path().string(), what));
    }
  }
  return {};
}

// Classifies the pushed paths: one regular file is a file version,
// anything else a tree.
Result<std::vector<PushItem>> PlanPush(const PushRequest& request,
                                       bool& is_tree) {
  if (request.paths.empty()) {
    return Fail(Code::kInvalidArgument,
                "nothing to push: name a file or directory");
  }
  std::vector<PushItem> items;
  std::set<std::string> top;
  const bool single_dir = request.paths.size() == 1;
  for (const auto& path : request.paths) {
    std::filesystem::path source = path;
    auto stat_or = StatPushed(source, request.follow_symlinks);
    if (!stat_or) return std::unexpected(stat_or.error());
    const struct stat& st = *stat_or;
    std::string name =
        std::filesystem::path(path).lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") {
      name = std::filesystem::absolute(path)
                 .lexically_normal()
                 .filename()
                 .string();
    }
    if (S_ISREG(st.st_mode)) {
      if (!top.insert(name).second) {
        return Fail(Code::kInvalidArgument,
                    fmt::format("two pushed paths are named '{}'", name));
      }
      items.push_back({name, source, false, (st.st_mode & S_IXUSR) != 0});
    } else if (S_ISDIR(st.st_mode)) {
      std::string prefix;
      if (!single_dir) {
        if (!top.insert(name).second) {
          return Fail(Code::kInvalidArgument,
                      fmt::format("two pushed paths are named '{}'", name));
        }
        items.push_back({name, source, true, false});
        prefix = name;
      }
      DirChain chain = {{st.st_dev, st.st_ino}};
      if (auto s = AddTreeItems(source, prefix, request.follow_symlinks, chain,
                                items);
          !s) {
        return std::unexpected(s.error());
      }
    } else {
      return Fail(
          Code::kInvalidArgument,
          fmt::format("{} is not a regular file or directory", path.string()));
    }
  }
  is_tree = !(items.size() == 1 && !items[0].is_dir &&
              std::filesystem::is_regular_file(request.paths[0]));
  std::sort(
      items.begin(), items.end(),
      [](const PushItem& a, const PushItem& b) { return a.path < b.path; });
  return items;
}

}  // namespace

Result<Version> Registry::Push(const Identity& who,
                               const PushRequest& request) {
  // Cheap checks first, so that a refused push copies nothing.
  REGFS_TRY(ValidateCollectionName(request.collection));
  for (const auto& alias : request.aliases) {
    if (alias == kLatest) {
      return Fail(Code::kNotPermitted,
                  "'latest' is maintained by the registry: it always names the "
                  "newest version");
    }
    REGFS_TRY(ValidateAliasName(alias));
  }
  for (const auto& tag : request.tags) REGFS_TRY(ValidateTag(tag));
  for (const auto& [key, value] : request.metadata)
    REGFS_TRY(ValidateMetaKey(key));
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, kRoleToChange, "push versions"));
    for (const auto& alias : request.aliases) {
      REGFS_TRY(impl_->CheckAliasName(who, alias, "set"));
    }
  }
  bool is_tree = false;
  auto items = PlanPush(request, is_tree);
  if (!items) return std::unexpected(items.error());

  // Copy and hash every file, without the lock.
  uint64_t total = 0;
  for (const auto& item : *items) {
    if (item.is_dir) continue;
    struct stat st;
    if (::stat(item.source.c_str(), &st) == 0)
      total += static_cast<uint64_t>(st.st_size);
  }
  std::vector<StagedBlob> staged(items->size());
  uint64_t done_before = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].is_dir) continue;
    ProgressFn progress;
    if (request.progress) {
      progress = [&](uint64_t done, uint64_t) {
        request.progress(done_before + done,
                         std::max(total, done_before + done));
      };
    }
    auto blob = impl_->blobs.Stage((*items)[i].source, progress);
    if (!blob) return std::unexpected(blob.error());
    done_before += blob->size();
    staged[i] = std::move(*blob);
  }
  if (impl_->options.fail_point == BlobStore::FailPoint::kAfterStage) {
    return Fail(Code::kIoError, "injected failure after staging");
  }

  // The version's digest: the file's, or the hash of the tree's manifest.
  std::string tree_digest;
  uint64_t size = 0, files = 0;
  {
    std::string manifest;
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      manifest += item.path;
      manifest += '\0';
      if (item.is_dir) {
        manifest += "dir\n";
        continue;
      }
      manifest += item.executable ? "exec" : "file";
      manifest += '\0';
      manifest += std::to_string(staged[i].size());
      manifest += '\0';
      manifest += staged[i].digest();
      manifest += '\n';
      size += staged[i].size();
      ++files;
    }
    tree_digest = Xxh3Hex(manifest);
  }
  std::string filename;
  for (const auto& path : request.paths) {
    if (!filename.empty()) filename += ",";
    std::string name = path.lexically_normal().filename().string();
    if (name.empty() || name == "." || name == "..") {
      name = std::filesystem::absolute(path)
                 .lexically_normal()
                 .filename()
                 .string();
    }
    filename += name;
  }

  auto lock = impl_->Lock();
  Database& db = *impl_->db;
  auto tx = Transaction::Begin(db);
  if (!tx) return std::unexpected(tx.error());
  REGFS_TRY(impl_->Require(who, kRoleToChange, "push versions"));
  auto c = impl_->FindCollection(request.collection);
  if (!c) {
    if (!c.error().IsNotFound()) return std::unexpected(c.error());
    c = impl_->InsertCollection(who, request.collection);
    if (!c) return std::unexpected(c.error());
  }
  // One file pushed to a tree collection is a tree of one file.
  if (c->kind == Kind::kTree) is_tree = true;
  const Kind kind = is_tree ? Kind::kTree : Kind::kFile;
  const std::string digest = is_tree ? tree_digest : staged[0].digest();
  if (c->kind == Kind::kFile && is_tree) {
    return Fail(Code::kConflict,
                fmt::format("collection {} holds single files: push one file, "
                            "or push the tree to a new collection",
                            Quote(c->name)));
  }

  std::vector<std::string> keys(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    if ((*items)[i].is_dir) continue;
    auto key = impl_->blobs.Install(staged[i]);
    if (!key) return std::unexpected(key.error());
    keys[i] = std::move(*key);
  }
  if (impl_->options.fail_point == BlobStore::FailPoint::kAfterInstall) {
    return Fail(Code::kIoError, "injected failure after installing blobs");
  }

  const uint64_t number = static_cast<uint64_t>(c->next_version);
  auto seq = impl_->Append(
      who, EventType::kVersionCreate, c->name, "", std::nullopt, number,
      nlohmann::json{
          {"digest", digest}, {"size", size}, {"filename", filename}});
  if (!seq) return std::unexpected(seq.error());
  {
    REGFS_STMT(s, db,
               "INSERT INTO versions (collection_id, number, created_ms, "
               "creator_uid, creator, size, files, digest, blob, filename, "
               "description, created_seq) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    s->BindInt64(1, c->id)
        .BindInt64(2, static_cast<int64_t>(number))
        .BindInt64(3, NowMs())
        .BindInt64(4, static_cast<int64_t>(who.uid))
        .BindText(5, who.user)
        .BindInt64(6, static_cast<int64_t>(size))
        .BindInt64(7, static_cast<int64_t>(files))
        .BindText(8, digest);
    if (is_tree) {
      s->BindNull(9);
    } else {
      s->BindText(9, keys[0]);
    }
    s->BindText(10, filename)
        .BindText(11, request.description)
        .BindInt64(12, static_cast<int64_t>(*seq));
    REGFS_TRY(s->Run());
  }
  const int64_t version_id = db.LastInsertRowId();
  {
    REGFS_STMT(
        s, db,
        "UPDATE collections SET next_version = ?1, kind = ?2 WHERE id = ?3");
    s->BindInt64(1, static_cast<int64_t>(number + 1))
        .BindInt64(2, static_cast<int64_t>(kind))
        .BindInt64(3, c->id);
    REGFS_TRY(s->Run());
  }
  if (is_tree) {
    std::map<std::string, int64_t> dir_ids;  // relative path -> entry id
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      const size_t slash = item.path.rfind('/');
      const std::string parent =
          slash == std::string::npos ? "" : item.path.substr(0, slash);
      const std::string name =
          slash == std::string::npos ? item.path : item.path.substr(slash + 1);
      REGFS_STMT(s, db,
                 "INSERT INTO tree_entries (version_id, parent_id, name, "
                 "is_dir, executable, size, blob) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      s->BindInt64(1, version_id)
          .BindInt64(2, parent.empty() ? 0 : dir_ids.at(parent))
          .BindText(3, name)
          .BindInt64(4, int64_t{item.is_dir ? 1 : 0})
          .BindInt64(5, int64_t{item.executable ? 1 : 0})
          .BindInt64(6,
                     item.is_dir ? 0 : static_cast<int64_t>(staged[i].size()));
      if (item.is_dir) {
        s->BindNull(7);
      } else {
        s->BindText(7, keys[i]);
      }
      REGFS_TRY(s->Run());
      if (item.is_dir) dir_ids[item.path] = db.LastInsertRowId();
    }
  }
  for (const auto& tag : request.tags) {
    REGFS_STMT(s, db,
               "INSERT OR IGNORE INTO tags (version_id, tag) VALUES (?1, ?2)");
    s->BindInt64(1, version_id).BindText(2, tag);
    REGFS_TRY(s->Run());
  }
  for (const auto& [key, value] : request.metadata) {
    REGFS_STMT(s, db,
               "INSERT OR REPLACE INTO metadata (version_id, key, value) "
               "VALUES (?1, ?2, ?3)");
    s->BindInt64(1, version_id).BindText(2, key).BindText(3, value);
    REGFS_TRY(s->Run());
  }
  auto version = impl_->FindVersion(c->id, number);
  if (!version) return std::unexpected(version.error());
  for (const auto& alias : request.aliases) {
    REGFS_TRY(impl_->CheckAliasName(who, alias, "set"));
    REGFS_TRY(impl_->WriteAlias(who, *c, alias, **version));
  }
  REGFS_TRY(tx->Commit());
  Version result = std::move(**version);
  if (auto s = impl_->FillDetails(result); !s)
    return std::unexpected(s.error());
  return result;
}

}  // namespace regfs::registry
