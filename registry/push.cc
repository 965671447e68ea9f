// Push: a new version from files and directories.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "registry/registry_impl.h"
#include "registry/sql/collections.h"
#include "registry/sql/versions.h"

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
    REGFS_TRY(st);
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

// The name a pushed path goes by: the last component of its absolute
// form ("run" for "run/", the current directory's name for ".").
std::string PushedName(const std::filesystem::path& path) {
  std::filesystem::path normal =
      std::filesystem::absolute(path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  return normal.filename().string();
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
    REGFS_TRY(stat_or);
    const struct stat& st = *stat_or;
    const std::string name = PushedName(path);
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
      REGFS_TRY(
          AddTreeItems(source, prefix, request.follow_symlinks, chain, items));
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

// What needs no copying and no lock: the names in the request.
Status CheckRequest(const PushRequest& request) {
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
  for (const auto& [key, value] : request.metadata) {
    REGFS_TRY(ValidateMetaKey(key));
  }
  return {};
}

// Copies (or, with `adopt`, hard-links) and hashes every file into one
// staging area, reporting the bytes done against the total. staged[i]
// belongs to items[i] (empty for a directory).
Result<std::vector<StagedBlob>> StageAll(BlobStore& blobs,
                                         const std::vector<PushItem>& items,
                                         const ProgressFn& report, bool adopt) {
  uint64_t total = 0;
  for (const auto& item : items) {
    struct stat st;
    if (!item.is_dir && ::stat(item.source.c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_size);
    }
  }
  REGFS_ASSIGN_OR_RETURN(const auto area, blobs.NewStagingArea());
  std::vector<StagedBlob> staged(items.size());
  uint64_t done_before = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].is_dir) continue;
    ProgressFn progress;
    if (report) {
      progress = [&](uint64_t done, uint64_t) {
        report(done_before + done, std::max(total, done_before + done));
      };
    }
    REGFS_ASSIGN_OR_RETURN(
        staged[i], adopt ? blobs.Adopt(items[i].source, progress, area)
                         : blobs.Stage(items[i].source, progress, area));
    done_before += staged[i].size();
  }
  return staged;
}

// What the version's row records of its content.
struct Content {
  std::string tree_digest;  // the hash of the tree's manifest
  uint64_t size = 0;
  uint64_t files = 0;
  std::string filename;  // the pushed paths' names, comma-separated
};

Content Summarize(const PushRequest& request, const PushSource& source,
                  const std::vector<PushItem>& items,
                  const std::vector<StagedBlob>& staged) {
  Content content;
  std::string manifest;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
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
    content.size += staged[i].size();
    ++content.files;
  }
  content.tree_digest = Xxh3Hex(manifest);
  content.filename = source.filename.empty() ? PushedFilename(request.paths)
                                             : source.filename;
  return content;
}

// Moves every staged blob into the store; keys[i] is items[i]'s blob.
Result<std::vector<std::string>> InstallAll(BlobStore& blobs,
                                            const std::vector<PushItem>& items,
                                            std::vector<StagedBlob>& staged) {
  std::vector<std::string> keys(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].is_dir) continue;
    REGFS_ASSIGN_OR_RETURN(keys[i], blobs.Install(staged[i]));
  }
  return keys;
}

// The row of a new version, and what goes with it.
struct NewVersion {
  int64_t collection_id = 0;
  uint64_t number = 0;
  Kind kind = Kind::kFile;
  std::string digest;
  std::string blob;  // a file version's; empty for a tree
  uint64_t seq = 0;  // of its version.create event
};

// Inserts the version's row and advances its collection's numbering.
Result<int64_t> InsertVersion(Connection& db, const Identity& who,
                              const NewVersion& v, const Content& content,
                              const PushRequest& request) {
  Version row;
  row.collection_id = v.collection_id;
  row.number = v.number;
  row.kind = v.kind;
  row.created = NowMs();
  row.creator_uid = who.uid;
  row.creator = who.user;
  row.size = content.size;
  row.files = content.files;
  row.digest = v.digest;
  row.blob = v.blob;
  row.filename = content.filename;
  row.description = request.description;
  row.created_seq = v.seq;
  REGFS_ASSIGN_OR_RETURN(const int64_t version_id, sql::InsertVersion(db, row));
  REGFS_TRY(sql::SetKindAndNextVersion(db, v.collection_id, v.kind,
                                       static_cast<int64_t>(v.number + 1)));
  return version_id;
}

Status InsertTree(Connection& db, int64_t version_id,
                  const std::vector<PushItem>& items,
                  const std::vector<StagedBlob>& staged,
                  const std::vector<std::string>& keys) {
  std::map<std::string, int64_t> dir_ids;  // relative path -> entry id
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    const size_t slash = item.path.rfind('/');
    const std::string parent =
        slash == std::string::npos ? "" : item.path.substr(0, slash);
    const std::string name =
        slash == std::string::npos ? item.path : item.path.substr(slash + 1);
    TreeEntry entry;
    entry.version_id = version_id;
    entry.parent_id = parent.empty() ? 0 : dir_ids.at(parent);
    entry.name = name;
    entry.is_dir = item.is_dir;
    entry.executable = item.executable;
    entry.size = item.is_dir ? 0 : staged[i].size();
    if (!item.is_dir) entry.blob = keys[i];
    REGFS_ASSIGN_OR_RETURN(const int64_t id, sql::InsertTreeEntry(db, entry));
    if (item.is_dir) dir_ids[item.path] = id;
  }
  return {};
}

Status InsertLabels(Connection& db, int64_t version_id,
                    const PushRequest& request) {
  for (const auto& tag : request.tags) {
    REGFS_TRY(sql::AddTag(db, version_id, tag));
  }
  for (const auto& [key, value] : request.metadata) {
    REGFS_TRY(sql::PutMetadata(db, version_id, key, value));
  }
  return {};
}

// The kind the pushed version has in `c`: one file pushed to a tree
// collection is a tree of one file; a tree may not go to a collection of
// files.
Result<Kind> KindIn(const CollectionRow& c, bool is_tree) {
  if (c.kind == Kind::kTree) return Kind::kTree;
  if (c.kind == Kind::kFile && is_tree) {
    return Fail(Code::kConflict,
                fmt::format("collection {} holds single files: push one file, "
                            "or push the tree to a new collection",
                            Quote(c.name)));
  }
  return is_tree ? Kind::kTree : Kind::kFile;
}

// The kind a published draft makes in `c`: a file draft a file version,
// a directory a tree; the collection's kind must be that one, or none yet.
Result<Kind> DraftKindIn(const CollectionRow& c, bool is_tree,
                         const std::filesystem::path& draft) {
  const Kind kind = is_tree ? Kind::kTree : Kind::kFile;
  if (c.kind == Kind::kEmpty || c.kind == kind) return kind;
  return Fail(Code::kInvalidArgument,
              fmt::format("{} holds {}; {} is {}", c.name,
                          c.kind == Kind::kTree ? "tree versions (directories)"
                                                : "file versions",
                          draft.filename().string(),
                          is_tree ? "a directory" : "a file"));
}

// The kind of the version in `c`.
Result<Kind> KindFor(const PushSource& source, const PushRequest& request,
                     const CollectionRow& c, bool is_tree) {
  if (!source.draft) return KindIn(c, is_tree);
  return DraftKindIn(c, is_tree, request.paths[0]);
}

// A publish onto a version's name ("v7") takes that number only if it is
// the collection's next: a lower one was taken first (by another publish,
// or long ago), a higher one would leave a gap.
Status CheckNumber(const PushSource& source, const CollectionRow& c) {
  if (!source.number) return {};
  const auto next = static_cast<uint64_t>(c.next_version);
  if (*source.number == next) return {};
  if (*source.number < next) {
    return Fail(Code::kAlreadyExists,
                fmt::format("{}/v{} is taken (another publish took it "
                            "first); the next version of {} is now v{}",
                            c.name, *source.number, c.name, next));
  }
  return Fail(Code::kInvalidArgument,
              fmt::format("v{} is not the next version of {}: the next is "
                          "v{} (or publish onto latest)",
                          *source.number, c.name, next));
}

}  // namespace

Result<CollectionRow> Registry::Impl::FindOrInsertCollection(
    const Identity& who, std::string_view name) {
  auto c = FindCollection(name);
  if (c || !c.error().IsNotFound()) return c;
  return InsertCollection(who, name);
}

// Checks `who` may push with these aliases: the role, taken once, and
// each alias's protection (CheckRequest has checked their names).
Result<Role> Registry::Impl::CheckPusher(
    const Identity& who, const std::vector<std::string>& aliases) {
  REGFS_ASSIGN_OR_RETURN(const Role role,
                         Require(who, kRoleToChange, "push versions"));
  for (const auto& alias : aliases) {
    REGFS_TRY(CheckProtection(role, alias, "set"));
  }
  return role;
}

Result<Version> Registry::Push(const Identity& who,
                               const PushRequest& request) {
  return impl_->PushVersion(who, request, PushSource{});
}

Status Registry::CheckPush(const Identity& who, const PushRequest& request) {
  REGFS_TRY(CheckRequest(request));
  auto lock = impl_->Lock();
  REGFS_TRY(impl_->CheckPusher(who, request.aliases));
  return {};
}

Result<Version> Registry::Impl::PushVersion(const Identity& who,
                                            const PushRequest& request,
                                            const PushSource& source) {
  // Cheap checks first, so that a refused push copies nothing.
  REGFS_TRY(CheckRequest(request));
  {
    auto lock = Lock();
    REGFS_TRY(CheckPusher(who, request.aliases));
  }
  bool is_tree = false;
  REGFS_ASSIGN_OR_RETURN(const std::vector<PushItem> items,
                         PlanPush(request, is_tree));
  if (source.draft) {  // a draft of the wrong kind is refused untouched
    auto lock = Lock();
    REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                           FindCollection(request.collection));
    REGFS_TRY(KindFor(source, request, c, is_tree));
    REGFS_TRY(CheckNumber(source, c));
  }
  // Copy (or link) and hash every file, without the lock.
  REGFS_ASSIGN_OR_RETURN(
      std::vector<StagedBlob> staged,
      StageAll(blobs, items, request.progress, source.draft));
  if (options.fail_point == BlobStore::FailPoint::kAfterStage) {
    return Fail(Code::kIoError, "injected failure after staging");
  }
  const Content content = Summarize(request, source, items, staged);

  auto lock = Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db));
  // Checked again inside the transaction: roles and protection may have
  // changed while the files were copied.
  REGFS_ASSIGN_OR_RETURN(const Role role,
                         Require(who, kRoleToChange, "push versions"));
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                         source.draft
                             ? FindCollection(request.collection)
                             : FindOrInsertCollection(who, request.collection));
  REGFS_ASSIGN_OR_RETURN(const Kind kind, KindFor(source, request, c, is_tree));
  // The compare-and-swap of a publish onto "vN": inside the transaction,
  // so that of two racing publishes exactly one takes the number.
  REGFS_TRY(CheckNumber(source, c));
  REGFS_ASSIGN_OR_RETURN(const std::vector<std::string> keys,
                         InstallAll(blobs, items, staged));
  if (options.fail_point == BlobStore::FailPoint::kAfterInstall) {
    return Fail(Code::kIoError, "injected failure after installing blobs");
  }
  NewVersion v{c.id, static_cast<uint64_t>(c.next_version), kind,
               kind == Kind::kTree ? content.tree_digest : staged[0].digest(),
               kind == Kind::kTree ? "" : keys[0]};
  REGFS_ASSIGN_OR_RETURN(
      v.seq,
      Append(who, EventType::kVersionCreate, c.name, "", std::nullopt, v.number,
             nlohmann::json{{"digest", v.digest},
                            {"size", content.size},
                            {"filename", content.filename}}));
  REGFS_ASSIGN_OR_RETURN(const int64_t version_id,
                         InsertVersion(*db, who, v, content, request));
  if (kind == Kind::kTree) {
    REGFS_TRY(InsertTree(*db, version_id, items, staged, keys));
  }
  REGFS_TRY(InsertLabels(*db, version_id, request));
  REGFS_ASSIGN_OR_RETURN(auto version, FindVersion(c.id, v.number));
  for (const auto& alias : request.aliases) {
    REGFS_TRY(CheckProtection(role, alias, "set"));
    REGFS_TRY(WriteAlias(who, c, alias, *version));
  }
  REGFS_TRY(tx.Commit());
  Version result = std::move(*version);
  REGFS_TRY(FillDetails(result));
  return result;
}

std::string PushedFilename(const std::vector<std::filesystem::path>& paths) {
  std::string filename;
  for (const auto& path : paths) {
    if (!filename.empty()) filename += ",";
    filename += PushedName(path);
  }
  return filename;
}

}  // namespace regfs::registry
