// Time travel, read-only: the registry right after an event, replayed
// from the history (replay.h), and the collections that held a name then.
#include "registry/sql/time_travel.h"

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
  auto seq = sql::LastSeqAt(*impl_->db, time);
  REGFS_TRY(seq);
  if (*seq > newest) return after_view(*seq);
  return *seq;
}

Result<std::optional<Collection>> Registry::Impl::IncarnationAt(
    std::string_view name, uint64_t seq) {
  using Found = std::optional<Collection>;
  auto last = sql::LastLifeEvent(*db, name, seq);
  REGFS_TRY(last);
  if (*last != EventType::kCollectionCreate) return Found();
  auto deleted = sql::FirstDeletedAfter(*db, name, seq);
  REGFS_TRY(deleted);
  if (*deleted) return deleted;
  auto now = QueryCollections(*db, name, std::nullopt);
  REGFS_TRY(now);
  if (now->empty()) return Found();
  return Found(std::move(now->front()));
}

Result<std::vector<Collection>> Registry::Impl::IncarnationsAt(uint64_t seq) {
  // Whether each name held a collection right after `seq`.
  std::map<std::string, bool> existed;
  auto events = sql::LifeEventsUntil(*db, seq);
  REGFS_TRY(events);
  for (const sql::LifeEvent& e : *events) {
    existed[e.collection] = e.type == EventType::kCollectionCreate;
  }
  // Of each name, the first collection deleted after `seq` was the one then.
  std::map<std::string, Collection> deleted;
  auto gone = sql::DeletedAfter(*db, seq);
  REGFS_TRY(gone);
  for (Collection& c : *gone) deleted.try_emplace(c.name, std::move(c));
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
  return sql::VersionsCreatedBy(*impl_->db, c->id, seq);
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
  auto events = sql::ReplayEvents(*db, c->name, seq);
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
    // Runs only here, under `lock`; the analysis checks a lambda as a
    // function of its own.
    impl_->batch.mutex().AssertHeld();
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
