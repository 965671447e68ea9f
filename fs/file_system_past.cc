// The mount's read-only views of the past (DESIGN.md "Consistency"):
//   .regfs/at/<moment>/<collection>/   aliases as they were then, each
//                                      version as a link to the live one
//   <collection>/<alias>@{N}           the alias's N-th previous target
//   a frozen mount (--as-of)           the whole tree as it was then
// The registry replays its history (Registry::*At); these handlers only
// name the results. Every change in a view of the past is EROFS.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fs/file_system.h"
#include "fs/file_system_internal.h"
#include "registry/history.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Alias;
using registry::Code;
using registry::Result;
using registry::Version;

namespace {

// Whether `moment` names a fixed point of the past: an event number, or a
// time at least a second ago. "now" and later times follow new events, so
// the kernel must not cache what they show.
bool FixedMoment(std::string_view moment) {
  auto m = registry::ParseMoment(moment);
  if (!m) return false;
  switch (m->kind) {
    case registry::Moment::Kind::kNow:
      return false;
    case registry::Moment::Kind::kEvent:
      return true;
    case registry::Moment::Kind::kTime:
      return static_cast<registry::TimeMs>(m->value) <
             registry::NowMs() - 1000;
  }
  return false;
}

LinkNode PastVersionLink(const Version& v) {
  LinkNode link;
  link.collection_id = v.collection_id;
  link.collection = v.collection;
  link.name = registry::VersionName(v.number);
  link.version = v.number;
  link.target = PastVersionTarget(v.collection, v.number);
  link.updated = v.created;
  link.updated_uid = v.creator_uid;
  link.updated_by = v.creator;
  return link;
}

}  // namespace

bool FileSystem::ReadOnlyView(const Node& dir, std::string_view name) const {
  return options_.as_of.has_value() || dir.type == NodeType::kPast ||
         dir.ino == kAtDirIno || registry::ParseReflogName(name).has_value();
}

EntryReply FileSystem::PastEntry(PastNode node) {
  const double timeout =
      FixedMoment(node.moment) ? options_.version_timeout : kUncachedTimeout;
  const bool is_link = node.kind == PastNode::Kind::kLink;
  LinkNode link = node.link;
  const Ino ino = past_.Intern(std::move(node));
  const struct stat attr = is_link
                               ? LinkStat(ino, link)
                               : DirStat(ino, 0555, options_.owner_uid, started_);
  return MakeEntry(ino, attr, timeout, timeout);
}

Reply FileSystem::LookupMoment(const Request& r, std::string_view name) {
  // A frozen mount's `now` is its moment, and what came after is its
  // future: the registry refuses both a moment after it and a real one.
  auto seq = registry_.SeqAt(name, options_.as_of);
  if (!seq) {
    const auto what = [&] { return fmt::format("lookup of .regfs/at/{}", name); };
    const int err = LookupErrnoFor(r, what, seq.error());
    if (err != ENOENT) return ErrorReply{err};
    return Refuse(r, what, err, seq.error().message);
  }
  PastNode node;
  node.kind = PastNode::Kind::kMoment;
  node.seq = *seq;
  node.moment = std::string(name);
  return PastEntry(std::move(node));
}

Reply FileSystem::LookupInPast(const Request& r, const Node& dir,
                               std::string_view name) {
  const PastNode& at = *dir.past;
  const auto what = [&] {
    return fmt::format("lookup of {}/{}", PathOf(dir), name);
  };
  PastNode node;
  node.seq = at.seq;
  node.moment = at.moment;
  switch (at.kind) {
    case PastNode::Kind::kMoment: {
      auto c = registry_.GetCollectionAt(name, at.seq);
      if (!c) return ErrorReply{LookupErrnoFor(r, what, c.error())};
      node.kind = PastNode::Kind::kCollection;
      node.collection_id = c->id;
      node.collection = c->name;
      return PastEntry(std::move(node));
    }
    case PastNode::Kind::kCollection: {
      if (auto reflog = registry::ParseReflogName(name)) {
        return LookupReflog(r, dir, name, *reflog, at.seq, at.moment);
      }
      node.kind = PastNode::Kind::kLink;
      node.collection_id = at.collection_id;
      node.collection = at.collection;
      if (const auto number = registry::ParseVersionName(name)) {
        auto v =
            registry_.GetVersionByNumberAt(at.collection_id, *number, at.seq);
        if (!v) return ErrorReply{LookupErrnoFor(r, what, v.error())};
        node.link = PastVersionLink(*v);
        return PastEntry(std::move(node));
      }
      auto alias = registry_.GetAliasAt(at.collection, name, at.seq);
      if (!alias) return ErrorReply{LookupErrnoFor(r, what, alias.error())};
      node.link = LinkNodeOf(*alias, at.collection_id);
      return PastEntry(std::move(node));
    }
    case PastNode::Kind::kLink:
      break;
  }
  return ErrorReply{ENOTDIR};
}

Reply FileSystem::LookupReflog(const Request& r, const Node& dir,
                               std::string_view name,
                               const registry::ReflogName& reflog,
                               std::optional<uint64_t> at,
                               std::string_view moment) {
  auto alias =
      registry_.GetAliasBefore(dir.collection, reflog.alias, reflog.back, at);
  if (!alias) {
    const auto what = [&] {
      return fmt::format("lookup of {}/{}", PathOf(dir), name);
    };
    return ErrorReply{LookupErrnoFor(r, what, alias.error())};
  }
  // In the live tree its meaning moves with every change of the alias:
  // never cached (the empty moment), and a new inode whenever it names
  // something else. Under .regfs/at/<moment>/ it is as fixed as the moment.
  PastNode node;
  node.kind = PastNode::Kind::kLink;
  node.moment = std::string(moment);
  node.seq = alias->revision;
  node.collection_id = dir.collection_id;
  node.collection = dir.collection;
  node.link = LinkNodeOf(*alias, dir.collection_id);
  node.link.name = std::string(name);
  return PastEntry(std::move(node));
}

Result<std::vector<DirEntry>> FileSystem::ListPast(const Node& dir) {
  std::vector<DirEntry> entries;
  entries.push_back({".", dir.ino, S_IFDIR});
  entries.push_back({"..", kRootIno, S_IFDIR});
  if (dir.ino == kAtDirIno) return entries;  // moments are looked up
  const PastNode& at = *dir.past;
  PastNode node;
  node.seq = at.seq;
  node.moment = at.moment;
  if (at.kind == PastNode::Kind::kMoment) {
    REGFS_ASSIGN_OR_RETURN(const auto collections,
                           registry_.CollectionsAt(at.seq));
    node.kind = PastNode::Kind::kCollection;
    for (const registry::Collection& c : collections) {
      node.collection_id = c.id;
      node.collection = c.name;
      entries.push_back({c.name, past_.Intern(node), S_IFDIR});
    }
    return entries;
  }
  if (at.kind != PastNode::Kind::kCollection) {
    return registry::Fail(Code::kInvalidArgument, "not a directory");
  }
  node.kind = PastNode::Kind::kLink;
  node.collection_id = at.collection_id;
  node.collection = at.collection;
  REGFS_ASSIGN_OR_RETURN(const auto versions,
                         registry_.VersionsAt(at.collection, at.seq));
  for (const Version& v : versions) {
    node.link = PastVersionLink(v);
    entries.push_back({node.link.name, past_.Intern(node), S_IFLNK});
  }
  REGFS_ASSIGN_OR_RETURN(const auto aliases,
                         registry_.AliasesAt(at.collection, at.seq));
  for (const Alias& a : aliases) {
    node.link = LinkNodeOf(a, at.collection_id);
    entries.push_back({a.name, past_.Intern(node), S_IFLNK});
  }
  return entries;
}

}  // namespace regfs::fs
