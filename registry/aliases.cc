// Aliases: resolving names, and creating, moving, removing, renaming and
// exchanging aliases.
#include <algorithm>
#include <iterator>

#include "registry/registry_impl.h"
#include "registry/sql/aliases.h"

namespace regfs::registry {
namespace {

// Who set an alias, at `now`, by the event `seq`.
sql::AliasStamp StampOf(const Identity& who, uint64_t seq, TimeMs now) {
  return sql::AliasStamp{seq, now, who.uid, who.user};
}

}  // namespace

// "vN", "latest" or an alias of `c`, resolved now.
Result<Version> Registry::Impl::ResolveIn(const CollectionRow& c,
                                          std::string_view name) {
  if (auto n = ParseVersionName(name)) {
    auto v = FindVersion(c.id, *n);
    REGFS_TRY(v);
    if (!*v) {
      return Fail(Code::kNotFound,
                  fmt::format("{} has no version {}", c.name, name));
    }
    return **v;
  }
  if (name == kLatest) {
    auto latest = FindLatest(c.id);
    REGFS_TRY(latest);
    if (!*latest) {
      return Fail(Code::kNotFound, fmt::format("{} has no versions", c.name));
    }
    return (*latest)->first;
  }
  REGFS_ASSIGN_OR_RETURN(const auto alias, FindAlias(c, name));
  if (!alias) {
    REGFS_TRY(ValidateName(name, "alias"));
    return Fail(Code::kNotFound, fmt::format("{} has no version or alias {}",
                                             c.name, Quote(name)));
  }
  auto v = FindVersion(c.id, alias->number);
  REGFS_TRY(v);
  if (!*v) return Fail(Code::kCorruption, "alias names a missing version");
  return **v;
}

// The version a symlink target written into `c` names now.
Result<Version> Registry::Impl::ResolveTarget(const CollectionRow& c,
                                              std::string_view target) {
  auto name = ParseLinkTarget(c.name, target);
  REGFS_TRY(name);
  return ResolveIn(c, *name);
}

Result<std::optional<AliasRow>> Registry::Impl::FindAlias(
    const CollectionRow& c, std::string_view name) {
  return sql::FindAlias(*db, c.id, name);
}

// Two aliases of one collection may not differ only by case: AlreadyExists
// if `c` has an alias `name` but for case. Enforced here rather than by a
// unique index, which stores from before the rule may violate.
Status Registry::Impl::RequireNoAliasCaseTwin(const CollectionRow& c,
                                              std::string_view name,
                                              int64_t except_id) {
  auto twin = sql::AliasCaseTwin(*db, c.id, name, except_id);
  REGFS_TRY(twin);
  if (!*twin) return {};
  return Fail(Code::kAlreadyExists,
              fmt::format("{} already has an alias {}: alias names may not "
                          "differ only by case",
                          c.name, Quote(**twin)));
}

// Creates or moves `alias` of `c` to `target` inside the caller's
// transaction, with its history row. Moving to the same version records
// nothing.
Result<std::optional<WrittenAlias>> Registry::Impl::WriteAlias(
    const Identity& who, const CollectionRow& c, std::string_view alias,
    const Version& target) {
  REGFS_ASSIGN_OR_RETURN(const auto existing, FindAlias(c, alias));
  if (existing && existing->version_id == target.id) return std::nullopt;
  const TimeMs now = NowMs();
  if (existing) {
    auto seq = Append(who, EventType::kAliasMove, c.name, alias,
                      existing->number, target.number,
                      nlohmann::json::object(), now);
    REGFS_TRY(seq);
    REGFS_TRY(
        sql::MoveAlias(*db, existing->id, target.id, StampOf(who, *seq, now)));
    return WrittenAlias{existing->id, *seq, now};
  }
  REGFS_TRY(RequireNoAliasCaseTwin(c, alias));
  auto seq = Append(who, EventType::kAliasCreate, c.name, alias, std::nullopt,
                    target.number, nlohmann::json::object(), now);
  REGFS_TRY(seq);
  REGFS_ASSIGN_OR_RETURN(
      const int64_t id,
      sql::InsertAlias(*db, c.id, alias, target.id, StampOf(who, *seq, now)));
  return WrittenAlias{id, *seq, now};
}

Alias WrittenAlias::For(const CollectionRow& c, std::string_view name,
                        const Version& target, const Identity& who,
                        bool is_protected) const {
  Alias a;
  a.id = id;
  a.collection = c.name;
  a.name = std::string(name);
  a.version = target.number;
  a.version_id = target.id;
  a.revision = revision;
  a.is_protected = is_protected;
  a.updated = updated;
  a.updated_uid = who.uid;
  a.updated_by = who.user;
  return a;
}

// Begins the write transaction of a change to the aliases `names` of
// `collection` (each with the verb for messages), after the checks every
// alias change makes (CheckAliasName), taken inside the transaction.
// `in_batch`: inside a group commit's transaction (a savepoint).
Result<AliasChange> Registry::Impl::BeginAliasChange(
    const Identity& who, std::string_view collection,
    std::initializer_list<std::pair<std::string_view, std::string_view>> names,
    bool in_batch) {
  auto c = FindCollection(collection);
  REGFS_TRY(c);
  auto tx = in_batch ? Transaction::Nested(*db) : Transaction::Begin(*db);
  REGFS_TRY(tx);
  std::vector<bool> is_protected;
  for (const auto& [name, verb] : names) {
    REGFS_ASSIGN_OR_RETURN(const bool p, CheckAliasName(who, name, verb));
    is_protected.push_back(p);
  }
  return AliasChange{std::move(*c), std::move(*tx), std::move(is_protected)};
}

// The alias `name` of `c`, or NotFound.
Result<AliasRow> Registry::Impl::RequireAlias(const CollectionRow& c,
                                              std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(auto alias, FindAlias(c, name));
  if (!alias) {
    return Fail(Code::kNotFound,
                fmt::format("{} has no alias {}", c.name, Quote(name)));
  }
  return std::move(*alias);
}

Status Registry::Impl::DeleteAliasRow(const Identity& who,
                                      const CollectionRow& c,
                                      const AliasRow& alias) {
  auto seq = Append(who, EventType::kAliasRemove, c.name, alias.name,
                    alias.number, std::nullopt);
  REGFS_TRY(seq);
  return sql::DeleteAlias(*db, alias.id);
}

Result<Alias> Registry::Impl::AliasInfo(const CollectionRow& c,
                                        std::string_view name) {
  if (name == kLatest) {
    auto latest = FindLatest(c.id);
    REGFS_TRY(latest);
    if (!*latest) {
      return Fail(Code::kNotFound, fmt::format("{} has no versions", c.name));
    }
    Alias a;
    a.collection = c.name;
    a.name = kLatest;
    a.version = (*latest)->first.number;
    a.version_id = (*latest)->first.id;
    a.revision = (*latest)->second;
    a.is_latest = true;
    a.updated = (*latest)->first.created;
    a.updated_uid = (*latest)->first.creator_uid;
    a.updated_by = (*latest)->first.creator;
    return a;
  }
  REGFS_ASSIGN_OR_RETURN(auto alias, sql::GetAlias(*db, c, name));
  if (!alias) {
    REGFS_TRY(ValidateName(name, "alias"));
    return Fail(Code::kNotFound,
                fmt::format("{} has no alias {}", c.name, Quote(name)));
  }
  return std::move(*alias);
}

Result<std::vector<Alias>> Registry::Impl::ListAliases(const CollectionRow& c) {
  std::vector<Alias> out;
  auto latest = AliasInfo(c, kLatest);
  if (latest) {
    out.push_back(std::move(*latest));
  } else if (!latest.error().IsNotFound()) {
    return std::unexpected(latest.error());
  }
  REGFS_ASSIGN_OR_RETURN(auto aliases, sql::ListAliases(*db, c));
  std::move(aliases.begin(), aliases.end(), std::back_inserter(out));
  return out;
}

Result<std::vector<Alias>> Registry::ListAliases(std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  return impl_->ListAliases(*c);
}

Result<Alias> Registry::GetAlias(std::string_view collection,
                                 std::string_view name) {
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto hit = cache->GetAlias(collection, name)) return *hit;
  }
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto alias = impl_->AliasInfo(*c, name);
  if (alias && cache) cache->PutAlias(*alias);
  return alias;
}

Result<Version> Registry::Resolve(std::string_view collection,
                                  std::string_view name) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto v = impl_->ResolveIn(*c, name);
  if (!v) return v;
  REGFS_TRY(impl_->FillDetails(*v));
  return v;
}

// CheckSetAlias and CheckTarget: with an `alias`, the checks a move of it
// makes; without, that `who` may change aliases at all.
Result<Version> Registry::Impl::CheckMove(const Identity& who,
                                          std::string_view collection,
                                          std::optional<std::string_view> alias,
                                          std::string_view target) {
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c, FindCollection(collection));
  if (alias) {
    REGFS_TRY(CheckAliasName(who, *alias, "move"));
  } else {
    REGFS_TRY(Require(who, kRoleToChange, "change aliases"));
  }
  return ResolveTarget(c, target);
}

Result<Version> Registry::CheckSetAlias(const Identity& who,
                                        std::string_view collection,
                                        std::string_view alias,
                                        std::string_view target) {
  auto lock = impl_->Lock();
  return impl_->CheckMove(who, collection, alias, target);
}

Result<uint64_t> Registry::CheckTarget(const Identity& who,
                                       std::string_view collection,
                                       std::string_view target) {
  // A version target through the read cache, which keeps it for the next
  // time: a temporary symlink (`.tmp` before a rename) is checked at every
  // move (issue 15), and the rename checks again in its transaction.
  const auto name = impl_->cache ? ParseLinkTarget(collection, target)
                                 : Result<std::string>(std::string());
  const std::optional<uint64_t> number =
      name && !name->empty() ? ParseVersionName(*name) : std::nullopt;
  if (number) {
    auto c = LookupCollection(collection);
    if (c && GetVersionAttrs(*c, *number)) {
      auto lock = impl_->Lock();
      REGFS_TRY(impl_->Require(who, kRoleToChange, "change aliases"));
      return *number;
    }
  }
  // Anything else, and errors in the order the checks make them.
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      const Version version,
      impl_->CheckMove(who, collection, std::nullopt, target));
  return version.number;
}

Result<Alias> Registry::CreateAlias(const Identity& who,
                                    std::string_view collection,
                                    std::string_view alias,
                                    std::string_view target) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      AliasChange change,
      impl_->BeginAliasChange(who, collection, {{alias, "create"}}));
  const CollectionRow& c = change.c;
  REGFS_ASSIGN_OR_RETURN(const Version version, impl_->ResolveTarget(c, target));
  REGFS_ASSIGN_OR_RETURN(const auto existing, impl_->FindAlias(c, alias));
  if (existing) {
    return Fail(Code::kAlreadyExists, fmt::format("{} already has an alias {}",
                                                  c.name, Quote(alias)));
  }
  REGFS_ASSIGN_OR_RETURN(const auto written,
                         impl_->WriteAlias(who, c, alias, version));
  REGFS_TRY(change.tx.Commit());
  // A new alias is always written: answered as written, not read back.
  if (written) {
    return written->For(c, alias, version, who, change.is_protected[0]);
  }
  return impl_->AliasInfo(c, alias);
}

Result<Alias> Registry::SetAlias(
    const Identity& who, std::string_view collection, std::string_view alias,
    std::string_view target, std::optional<std::optional<uint64_t>> expected) {
  auto ticket = impl_->batch.Join();
  REGFS_TRY(ticket);
  // Inside the batch, the change's own transaction is a savepoint.
  auto move = [&]() -> Result<Alias> {
    // The ticket holds the lock; a lambda is a function of its own to the
    // analysis, which cannot see the hold a Result carried in from Join.
    impl_->batch.AssertHeldBy(*ticket);
    auto change = impl_->BeginAliasChange(who, collection, {{alias, "move"}},
                                          /*in_batch=*/true);
    REGFS_TRY(change);
    const CollectionRow& c = change->c;
    auto version = impl_->ResolveTarget(c, target);
    REGFS_TRY(version);
    if (expected) {
      REGFS_ASSIGN_OR_RETURN(const auto existing, impl_->FindAlias(c, alias));
      std::optional<uint64_t> now;
      if (existing) now = existing->number;
      if (now != *expected) {
        auto show = [](const std::optional<uint64_t>& v) {
          return v ? VersionName(*v) : std::string("nothing");
        };
        return Fail(
            Code::kConflict,
            fmt::format("alias '{}' moved meanwhile: it names {}, not {}",
                        alias, show(now), show(*expected)));
      }
    }
    REGFS_ASSIGN_OR_RETURN(const auto written,
                           impl_->WriteAlias(who, c, alias, *version));
    // The alias as written, without reading it back (issue 15); as it was
    // if the move wrote nothing.
    auto info = written ? Result<Alias>(written->For(c, alias, *version, who,
                                                     change->is_protected[0]))
                        : impl_->AliasInfo(c, alias);
    REGFS_TRY(info);
    REGFS_TRY(change->tx.Commit());
    return info;
  };
  Result<Alias> moved = [&]() -> Result<Alias> {
    try {
      return move();
    } catch (...) {
      // The batch must still end, or its members would wait for ever.
      (void)impl_->batch.Leave(*ticket, false);
      throw;
    }
  }();
  REGFS_TRY(impl_->batch.Leave(*ticket, moved.has_value()));
  // This call committed the batch, so this move was its last and nothing
  // has held the lock since: the alias as the move read it is the store's
  // (read_cache.h). The next lookup of it, which the kernel makes for
  // every rename's target and for `ln`'s revalidation, answers from
  // memory. A member that waited for a later one to commit puts nothing:
  // that one may have moved the alias after it.
  if (moved && ticket->committed_here && impl_->cache) {
    impl_->cache->PutAlias(*moved);
  }
  return moved;
}

Status Registry::RemoveAlias(const Identity& who, std::string_view collection,
                             std::string_view alias) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      AliasChange change,
      impl_->BeginAliasChange(who, collection, {{alias, "remove"}}));
  REGFS_ASSIGN_OR_RETURN(const AliasRow existing,
                         impl_->RequireAlias(change.c, alias));
  REGFS_TRY(impl_->DeleteAliasRow(who, change.c, existing));
  return change.tx.Commit();
}

Status Registry::RenameAlias(const Identity& who, std::string_view collection,
                             std::string_view from, std::string_view to,
                             bool replace) {
  auto lock = impl_->Lock();
  auto change = impl_->BeginAliasChange(who, collection,
                                        {{from, "rename"}, {to, "replace"}});
  REGFS_TRY(change);
  const CollectionRow& c = change->c;
  auto source = impl_->RequireAlias(c, from);
  REGFS_TRY(source);
  if (from == to) return {};
  REGFS_ASSIGN_OR_RETURN(const auto dest, impl_->FindAlias(c, to));
  if (dest) {
    if (!replace) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("{} already has an alias {}", c.name, Quote(to)));
    }
    REGFS_TRY(impl_->DeleteAliasRow(who, c, *dest));
  } else {
    // `mv a A` renames `a` itself; `mv a B` beside `b` is refused.
    REGFS_TRY(impl_->RequireNoAliasCaseTwin(c, to, source->id));
  }
  Event rename;
  rename.time = NowMs();
  rename.type = EventType::kAliasRename;
  rename.collection = c.name;
  rename.alias = from;
  rename.old_version = source->number;
  rename.new_version = source->number;
  rename.renamed_to = to;
  auto seq = impl_->Append(who, rename);
  REGFS_TRY(seq);
  REGFS_TRY(sql::RenameAlias(*impl_->db, source->id, to,
                             StampOf(who, *seq, rename.time)));
  return change->tx.Commit();
}

Status Registry::ExchangeAliases(const Identity& who,
                                 std::string_view collection,
                                 std::string_view a, std::string_view b) {
  auto lock = impl_->Lock();
  auto change =
      impl_->BeginAliasChange(who, collection, {{a, "move"}, {b, "move"}});
  REGFS_TRY(change);
  const CollectionRow& c = change->c;
  auto first = impl_->RequireAlias(c, a);
  REGFS_TRY(first);
  auto second = impl_->RequireAlias(c, b);
  REGFS_TRY(second);
  REGFS_ASSIGN_OR_RETURN(const auto va,
                         impl_->FindVersion(c.id, first->number));
  REGFS_ASSIGN_OR_RETURN(const auto vb,
                         impl_->FindVersion(c.id, second->number));
  if (!va || !vb)
    return Fail(Code::kCorruption, "alias names a missing version");
  REGFS_TRY(impl_->WriteAlias(who, c, a, *vb));
  REGFS_TRY(impl_->WriteAlias(who, c, b, *va));
  return change->tx.Commit();
}

}  // namespace regfs::registry
