// Time travel, read-only: the registry right after an event, replayed
// from the history (replay.h), and the collections that held a name then.
#include <algorithm>
#include <map>

#include "registry/registry_impl.h"

namespace regfs::registry {

Result<uint64_t> Registry::SeqAt(std::string_view point,
                                 std::optional<uint64_t> view) {
  auto moment = ParseMoment(point);
  REGFS_TRY(moment);
  auto last = LastSeq();
  if (!last) return last;
  const uint64_t newest = view ? std::min(*view, *last) : *last;
  // A view frozen at `newest` has no later events: they are its future.
  auto after_view = [&](uint64_t seq) {
    const std::string what = moment->kind == Moment::Kind::kEvent
                                 ? fmt::format("event {}", seq)
                                 : fmt::format("{} (event {})", point, seq);
    return Fail(Code::kNotFound,
                fmt::format("{} is after event {}, the moment this view is "
                            "frozen at",
                            what, newest));
  };
  switch (moment->kind) {
    case Moment::Kind::kNow:
      return newest;
    case Moment::Kind::kEvent:
      if (moment->value > *last) {
        return Fail(Code::kNotFound,
                    fmt::format("there is no event {}, it is in the future: "
                                "the newest is {}",
                                moment->value, *last));
      }
      if (moment->value > newest) return after_view(moment->value);
      return moment->value;
    case Moment::Kind::kTime:
      break;
  }
  const TimeMs time = static_cast<TimeMs>(moment->value);
  if (const TimeMs now = NowMs(); time > now) {
    return Fail(Code::kNotFound,
                fmt::format("{} is in the future (it is now {}): name a "
                            "moment that has passed, or now",
                            point, FormatTime(now)));
  }
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT coalesce(max(seq), 0) FROM history WHERE time_ms <= ?1");
  s->BindInt64(1, time);
  auto row = s->Step();
  REGFS_TRY(row);
  const auto seq = static_cast<uint64_t>(s->ColumnInt64(0));
  if (seq > newest) return after_view(seq);
  return seq;
}

// A deleted collection as time travel shows it: no versions, no aliases.
Collection DeletedCollectionFromRow(sql::Statement& s) {
  Collection c;
  c.id = s.ColumnInt64(0);
  c.name = s.ColumnText(1);
  c.kind = static_cast<Kind>(s.ColumnInt64(2));
  c.created = s.ColumnInt64(3);
  c.creator_uid = static_cast<uid_t>(s.ColumnInt64(4));
  c.creator = s.ColumnText(5);
  return c;
}

Result<std::optional<Collection>> Registry::Impl::IncarnationAt(
    std::string_view name, uint64_t seq) {
  using Found = std::optional<Collection>;
  {
    REGFS_STMT(s, *db,
               "SELECT event FROM history WHERE collection = ?1 AND seq <= ?2 "
               "AND event IN ('collection.create', 'collection.delete') "
               "ORDER BY seq DESC LIMIT 1");
    s->BindText(1, name).BindInt64(2, static_cast<int64_t>(seq));
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row ||
        s->ColumnText(0) != EventTypeName(EventType::kCollectionCreate))
      return Found();
  }
  {
    REGFS_STMT(s, *db,
               "SELECT id, name, kind, created_ms, creator_uid, creator FROM "
               "deleted_collections WHERE name = ?1 AND deleted_seq > ?2 "
               "ORDER BY deleted_seq LIMIT 1");
    s->BindText(1, name).BindInt64(2, static_cast<int64_t>(seq));
    auto row = s->Step();
    REGFS_TRY(row);
    if (*row) return Found(DeletedCollectionFromRow(*s));
  }
  auto now = QueryCollections(*db, name, std::nullopt);
  REGFS_TRY(now);
  if (now->empty()) return Found();
  return Found(std::move(now->front()));
}

Result<std::vector<Collection>> Registry::Impl::IncarnationsAt(uint64_t seq) {
  // Whether each name held a collection right after `seq`.
  std::map<std::string, bool> existed;
  {
    REGFS_STMT(s, *db,
               "SELECT collection, event FROM history WHERE seq <= ?1 AND "
               "event IN ('collection.create', 'collection.delete') "
               "ORDER BY seq");
    s->BindInt64(1, static_cast<int64_t>(seq));
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      existed[s->ColumnText(0)] =
          s->ColumnText(1) == EventTypeName(EventType::kCollectionCreate);
    }
  }
  // Of each name, the first collection deleted after `seq` was the one then.
  std::map<std::string, Collection> deleted;
  {
    REGFS_STMT(s, *db,
               "SELECT id, name, kind, created_ms, creator_uid, creator FROM "
               "deleted_collections WHERE deleted_seq > ?1 "
               "ORDER BY deleted_seq");
    s->BindInt64(1, static_cast<int64_t>(seq));
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      Collection c = DeletedCollectionFromRow(*s);
      deleted.try_emplace(c.name, std::move(c));
    }
  }
  auto now = QueryCollections(*db, std::nullopt, std::nullopt);
  REGFS_TRY(now);
  std::vector<Collection> out;
  for (Collection& c : *now) {
    if (deleted.contains(c.name)) continue;
    const auto it = existed.find(c.name);
    if (it != existed.end() && it->second) out.push_back(std::move(c));
  }
  for (auto& [name, c] : deleted) {
    const auto it = existed.find(name);
    if (it != existed.end() && it->second) out.push_back(std::move(c));
  }
  std::sort(
      out.begin(), out.end(),
      [](const Collection& a, const Collection& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<Collection>> Registry::CollectionsAt(uint64_t seq) {
  auto lock = impl_->Lock();
  return impl_->IncarnationsAt(seq);
}

Result<Collection> Registry::GetCollectionAt(std::string_view name,
                                             uint64_t seq) {
  REGFS_TRY(ValidateName(name, "collection"));
  auto lock = impl_->Lock();
  auto c = impl_->IncarnationAt(name, seq);
  REGFS_TRY(c);
  if (!*c) {
    return Fail(
        Code::kNotFound,
        fmt::format("there was no collection '{}' after event {}", name, seq));
  }
  return std::move(**c);
}

Result<std::vector<Version>> Registry::VersionsAt(std::string_view collection,
                                                  uint64_t seq) {
  auto lock = impl_->Lock();
  // The collection of that name then: a deleted one has no versions left.
  auto then = impl_->IncarnationAt(collection, seq);
  REGFS_TRY(then);
  auto c = *then ? Result<CollectionRow>(CollectionRow{
                       (*then)->id, (*then)->name, (*then)->kind, 0})
                 : impl_->FindCollection(collection);
  REGFS_TRY(c);
  // A live version was never deleted, so it was live at every event since
  // its creation.
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "AND v.created_seq <= ?2 ORDER BY v.number",
      kVersionColumns);
  REGFS_STMT(s, *impl_->db, sql.c_str());
  s->BindInt64(1, c->id).BindInt64(2, static_cast<int64_t>(seq));
  std::vector<Version> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    out.push_back(VersionFromRow(*s));
  }
  return out;
}

Result<CollectionReplay> Registry::Impl::Replay(
    std::string_view collection, uint64_t seq,
    std::optional<std::string> watch) {
  // By name: a collection deleted since is replayed too.
  auto c = FindCollection(collection);
  if (!c && c.error().IsNotFound() && ValidateName(collection, "collection")) {
    c = CollectionRow{0, std::string(collection), Kind::kEmpty, 0};
  }
  REGFS_TRY(c);
  REGFS_STMT(s, *db,
             "SELECT seq, time_ms, event, collection, alias, old_version, "
             "new_version, uid, user, interface, detail FROM history "
             "WHERE seq <= ?2 AND (collection = ?1 OR event IN "
             "('name.protect', 'name.unprotect')) ORDER BY seq");
  s->BindText(1, c->name).BindInt64(2, static_cast<int64_t>(seq));
  auto events = ReadEvents(*s);
  REGFS_TRY(events);
  CollectionReplay replay(c->name, std::move(watch));
  for (const Event& e : *events) replay.Apply(e);
  if (!replay.exists()) {
    return Fail(Code::kNotFound,
                fmt::format("collection '{}' did not exist yet after event {}",
                            c->name, seq));
  }
  return replay;
}

Result<Alias> Registry::Impl::AliasFromState(std::string_view collection,
                                             std::string_view name,
                                             const AliasState& state,
                                             bool is_protected) {
  Alias a;
  a.collection = std::string(collection);
  a.name = std::string(name);
  a.version = state.version;
  a.revision = state.seq;
  a.is_latest = name == kLatest;
  a.is_protected = is_protected && !a.is_latest;
  a.updated = state.time;
  a.updated_uid = state.uid;
  a.updated_by = state.user;
  auto c = FindCollection(collection);
  if (!c && c.error().IsNotFound()) return a;  // deleted with its versions
  REGFS_TRY(c);
  auto v = FindVersion(c->id, state.version);
  REGFS_TRY(v);
  if (*v) a.version_id = (*v)->id;
  return a;
}

Result<std::vector<Alias>> Registry::AliasesAt(std::string_view collection,
                                               uint64_t seq) {
  auto lock = impl_->Lock();
  auto replay = impl_->Replay(collection, seq, std::nullopt);
  REGFS_TRY(replay);
  std::vector<Alias> out;
  auto add = [&](std::string_view name, const AliasState& state) -> Status {
    auto a = impl_->AliasFromState(collection, name, state,
                                   replay->IsProtected(name));
    REGFS_TRY(a);
    out.push_back(std::move(*a));
    return {};
  };
  if (auto latest = replay->latest()) REGFS_TRY(add(kLatest, *latest));
  for (const auto& [name, state] : replay->aliases())
    REGFS_TRY(add(name, state));
  std::sort(out.begin(), out.end(),
            [](const Alias& a, const Alias& b) { return a.name < b.name; });
  return out;
}

Result<Alias> Registry::GetAliasAt(std::string_view collection,
                                   std::string_view name, uint64_t seq) {
  auto lock = impl_->Lock();
  if (ParseVersionName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a version, not an alias", name));
  }
  auto replay = impl_->Replay(collection, seq, std::nullopt);
  REGFS_TRY(replay);
  auto state = replay->Find(name);
  if (!state) {
    return Fail(Code::kNotFound,
                fmt::format("{} had no alias '{}' after event {}", collection,
                            name, seq));
  }
  return impl_->AliasFromState(collection, name, *state,
                               replay->IsProtected(name));
}

Result<Alias> Registry::GetAliasBefore(std::string_view collection,
                                       std::string_view name, uint64_t back,
                                       std::optional<uint64_t> at) {
  auto lock = impl_->Lock();
  if (ParseVersionName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is a version, not an alias", name));
  }
  auto last = impl_->LastSeq();
  REGFS_TRY(last);
  const uint64_t until = at ? std::min(*at, *last) : *last;
  auto replay = impl_->Replay(collection, until, std::string(name));
  REGFS_TRY(replay);
  const auto& timeline = replay->timeline();
  if (back >= timeline.size()) {
    return Fail(
        Code::kNotFound,
        fmt::format("{}/{} has had {} target(s){}, not {}", collection, name,
                    timeline.size(),
                    at ? fmt::format(" by event {}", until) : "", back + 1));
  }
  const auto& state = timeline[timeline.size() - 1 - back];
  if (!state) {
    return Fail(Code::kNotFound,
                fmt::format("{}/{}@{{{}}}: the alias did not exist then",
                            collection, name, back));
  }
  return impl_->AliasFromState(collection, name, *state,
                               replay->IsProtected(name));
}

}  // namespace regfs::registry
