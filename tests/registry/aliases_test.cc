// Aliases: create, move, remove, rename, exchange, `latest`, targets that
// name aliases, compare-and-swap, and what deleting a version does to them.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::User;

// A collection `models` with v0, v1, v2 and no user aliases.
class AliasTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(Owner(), "models", "m" + std::to_string(i)));
    }
  }

  // The version the alias names now, or nullopt if it does not exist.
  std::optional<uint64_t> Target(std::string_view alias,
                                 std::string_view collection = "models") {
    auto a = reg().GetAlias(collection, alias);
    if (!a.has_value()) {
      EXPECT_EQ(a.error().code, Code::kNotFound) << Describe(a);
      return std::nullopt;
    }
    return a->version;
  }

  // Events after `seq`.
  std::vector<Event> Since(uint64_t seq) {
    HistoryFilter f;
    f.after_seq = seq;
    auto events = reg().History(f);
    EXPECT_TRUE(events.has_value()) << Describe(events);
    return events.value_or(std::vector<Event>{});
  }
};

TEST_F(AliasTest, CreateAndResolve) {
  auto a = reg().CreateAlias(Owner(), "models", "best", "v1");
  REGFS_ASSERT_OK(a);
  EXPECT_EQ(a->name, "best");
  EXPECT_EQ(a->collection, "models");
  EXPECT_EQ(a->version, 1u);
  EXPECT_FALSE(a->is_latest);
  EXPECT_FALSE(a->is_protected);
  EXPECT_EQ(a->updated_uid, testing::kOwnerUid);
  EXPECT_EQ(a->updated_by, "10000");
  auto v = reg().Resolve("models", "best");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 1u);
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->alias_count, 1u);
  auto v1 = reg().GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->aliases, std::vector<std::string>{"best"});
}

TEST_F(AliasTest, CreateRefusals) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v1"));
  const uint64_t seq = Seq();
  const struct {
    const char* collection;
    const char* alias;
    const char* target;
    Code code;
  } cases[] = {
      {"models", "best", "v2", Code::kAlreadyExists},
      {"models", "fresh", "v9", Code::kNotFound},
      {"models", "fresh", "nosuchalias", Code::kNotFound},
      {"nosuch", "fresh", "v0", Code::kNotFound},
      {"models", ".dot", "v0", Code::kInvalidArgument},
      {"models", "a/b", "v0", Code::kInvalidArgument},
      {"models", "", "v0", Code::kInvalidArgument},
      {"models", "latest", "v0", Code::kNotPermitted},
  };
  for (const auto& c : cases) {
    auto r = reg().CreateAlias(Owner(), c.collection, c.alias, c.target);
    EXPECT_EQ(CodeOf(r), c.code) << c.collection << "/" << c.alias << " -> "
                                 << c.target << ": " << Describe(r);
  }
  // A version name cannot be an alias.
  auto v = reg().CreateAlias(Owner(), "models", "v7", "v0");
  ASSERT_FALSE(v.has_value());
  EXPECT_TRUE(v.error().code == Code::kNotPermitted ||
              v.error().code == Code::kInvalidArgument)
      << Describe(v);
  EXPECT_EQ(Seq(), seq) << "refusals write no history";
  EXPECT_EQ(Target("best"), 1u);
}

TEST_F(AliasTest, Move) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v0"));
  auto before = reg().GetAlias("models", "best");
  REGFS_ASSERT_OK(before);
  auto moved =
      reg().SetAlias(User(0, {}, Interface::kFs), "models", "best", "v2");
  REGFS_ASSERT_OK(moved);
  EXPECT_EQ(moved->version, 2u);
  EXPECT_NE(moved->revision, before->revision) << "a move changes revision";
  EXPECT_EQ(moved->updated_uid, 0u);
  EXPECT_EQ(moved->updated_by, "root");
  EXPECT_EQ(Target("best"), 2u);
}

// CreateAlias and SetAlias answer with the alias as they wrote it, without
// reading it back: every field as a read of the store gives it, for a
// creation, a move, a protected alias an admin moves, and a move that
// writes nothing.
TEST_F(AliasTest, CreateAndSetAnswerTheAliasAsTheStoreHoldsIt) {
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  const auto stored = [&](std::string_view name) -> std::optional<Alias> {
    auto all = reg().ListAliases("models");
    EXPECT_TRUE(all.has_value()) << Describe(all);
    for (Alias& a : all.value_or(std::vector<Alias>{})) {
      if (a.name == name) return std::move(a);
    }
    return std::nullopt;
  };
  const auto expect_same = [](const Alias& got, const Alias& want) {
    EXPECT_EQ(got.id, want.id) << want.name;
    EXPECT_EQ(got.collection, want.collection) << want.name;
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.version, want.version) << want.name;
    EXPECT_EQ(got.version_id, want.version_id) << want.name;
    EXPECT_EQ(got.revision, want.revision) << want.name;
    EXPECT_EQ(got.is_protected, want.is_protected) << want.name;
    EXPECT_EQ(got.is_latest, want.is_latest) << want.name;
    EXPECT_EQ(got.updated, want.updated) << want.name;
    EXPECT_EQ(got.updated_uid, want.updated_uid) << want.name;
    EXPECT_EQ(got.updated_by, want.updated_by) << want.name;
  };
  for (const char* name : {"best", "Production"}) {
    auto created = reg().CreateAlias(Owner(), "models", name, "v0");
    REGFS_ASSERT_OK(created);
    auto want = stored(name);
    ASSERT_TRUE(want.has_value()) << name;
    expect_same(*created, *want);
  }
  struct Step {
    std::string alias, target;
  };
  for (const Step& step : {Step{"best", "v2"}, Step{"fresh", "v1"},
                           Step{"Production", "v1"}, Step{"best", "v2"}}) {
    auto set = reg().SetAlias(User(0, {}, Interface::kFs), "models", step.alias,
                              step.target);
    REGFS_ASSERT_OK(set);
    auto want = stored(step.alias);
    ASSERT_TRUE(want.has_value()) << step.alias;
    expect_same(*set, *want);
  }
  EXPECT_TRUE(stored("Production")->is_protected);
}

TEST_F(AliasTest, SetCreatesAMissingAlias) {
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "fresh", "v1"));
  EXPECT_EQ(Target("fresh"), 1u);
  auto events = Since(seq);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kAliasCreate);
}

TEST_F(AliasTest, SetRefusals) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v0"));
  const uint64_t seq = Seq();
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "models", "best", "v9")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "models", "best", "ghost")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "nosuch", "best", "v0")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "models", "-x", "v0")),
            Code::kInvalidArgument);
  EXPECT_EQ(Seq(), seq);
  EXPECT_EQ(Target("best"), 0u);
}

TEST_F(AliasTest, MovingToTheSameTargetRecordsNothing) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v1"));
  auto before = reg().GetAlias("models", "best");
  REGFS_ASSERT_OK(before);
  const uint64_t seq = Seq();
  auto same = reg().SetAlias(Owner(), "models", "best", "v1");
  REGFS_ASSERT_OK(same);
  EXPECT_EQ(same->version, 1u);
  EXPECT_EQ(Seq(), seq) << "no event for a move that changes nothing";
  EXPECT_EQ(same->revision, before->revision);
  // Also when the target is spelled as another alias naming the same.
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "other", "v1"));
  const uint64_t seq2 = Seq();
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "best", "other"));
  EXPECT_EQ(Seq(), seq2);
}

TEST_F(AliasTest, Remove) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v1"));
  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "models", "best"));
  EXPECT_EQ(Target("best"), std::nullopt);
  EXPECT_EQ(CodeOf(reg().Resolve("models", "best")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().RemoveAlias(Owner(), "models", "best")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().RemoveAlias(Owner(), "nosuch", "best")),
            Code::kNotFound);
  auto v1 = reg().GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_TRUE(v1->aliases.empty()) << ::testing::PrintToString(v1->aliases);
  // The version stays.
  EXPECT_TRUE(reg().Resolve("models", "v1").has_value());
}

TEST_F(AliasTest, Rename) {
  auto cand = reg().CreateAlias(Owner(), "models", "cand", "v1");
  REGFS_ASSERT_OK(cand);
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().RenameAlias(Owner(), "models", "cand", "champion",
                                    /*replace=*/false));
  EXPECT_EQ(Target("cand"), std::nullopt);
  EXPECT_EQ(Target("champion"), 1u);
  auto champion = reg().GetAlias("models", "champion");
  REGFS_ASSERT_OK(champion);
  EXPECT_NE(champion->revision, cand->revision) << "a rename changes revision";
  auto events = Since(seq);
  ASSERT_EQ(events.size(), 1u) << "one rename event";
  EXPECT_EQ(events[0].type, EventType::kAliasRename);
  EXPECT_EQ(events[0].alias, "cand");
  EXPECT_EQ(events[0].renamed_to, "champion");
}

TEST_F(AliasTest, RenameOntoAnExistingAlias) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "a", "v0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "b", "v2"));
  const uint64_t seq = Seq();
  EXPECT_EQ(CodeOf(reg().RenameAlias(Owner(), "models", "a", "b", false)),
            Code::kAlreadyExists);
  EXPECT_EQ(Seq(), seq);
  EXPECT_EQ(Target("a"), 0u);
  EXPECT_EQ(Target("b"), 2u);

  REGFS_ASSERT_OK(reg().RenameAlias(Owner(), "models", "a", "b", true));
  EXPECT_EQ(Target("a"), std::nullopt);
  EXPECT_EQ(Target("b"), 0u);
  auto events = Since(seq);
  ASSERT_FALSE(events.empty());
  bool renamed = false;
  for (const Event& e : events) {
    renamed |= e.type == EventType::kAliasRename && e.alias == "a" &&
               e.renamed_to == "b";
  }
  EXPECT_TRUE(renamed) << "the rename is recorded";
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->alias_count, 1u);
}

TEST_F(AliasTest, RenameRefusals) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "a", "v0"));
  const uint64_t seq = Seq();
  EXPECT_EQ(CodeOf(reg().RenameAlias(Owner(), "models", "ghost", "x", false)),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().RenameAlias(Owner(), "models", "latest", "x", false)),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().RenameAlias(Owner(), "models", "a", "latest", true)),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().RenameAlias(Owner(), "models", "a", ".x", false)),
            Code::kInvalidArgument);
  auto to_version = reg().RenameAlias(Owner(), "models", "a", "v2", true);
  EXPECT_TRUE(CodeOf(to_version) == Code::kNotPermitted ||
              CodeOf(to_version) == Code::kInvalidArgument)
      << Describe(to_version);
  EXPECT_EQ(Seq(), seq);
  EXPECT_EQ(Target("a"), 0u);
  // Renaming onto itself changes nothing.
  auto self = reg().RenameAlias(Owner(), "models", "a", "a", true);
  (void)self;
  EXPECT_EQ(Target("a"), 0u) << Describe(self);
}

TEST_F(AliasTest, Exchange) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "blue", "v0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "green", "v2"));
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().ExchangeAliases(Owner(), "models", "blue", "green"));
  EXPECT_EQ(Target("blue"), 2u);
  EXPECT_EQ(Target("green"), 0u);
  auto events = Since(seq);
  ASSERT_EQ(events.size(), 2u) << "two moves";
  for (const Event& e : events) {
    EXPECT_EQ(e.type, EventType::kAliasMove);
    if (e.alias == "blue") {
      EXPECT_EQ(e.old_version, 0u);
      EXPECT_EQ(e.new_version, 2u);
    } else {
      EXPECT_EQ(e.alias, "green");
      EXPECT_EQ(e.old_version, 2u);
      EXPECT_EQ(e.new_version, 0u);
    }
  }
  const uint64_t seq2 = Seq();
  EXPECT_EQ(CodeOf(reg().ExchangeAliases(Owner(), "models", "blue", "ghost")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().ExchangeAliases(Owner(), "models", "blue", "latest")),
            Code::kNotPermitted);
  EXPECT_EQ(Seq(), seq2);
  EXPECT_EQ(Target("blue"), 2u);
}

TEST_F(AliasTest, LatestIsMaintainedAndRefusedToUsers) {
  const uint64_t seq = Seq();
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "models", "latest", "v0")),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().CreateAlias(Owner(), "models", "latest", "v0")),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().RemoveAlias(Owner(), "models", "latest")),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().RemoveAlias(testing::Root(), "models", "latest")),
            Code::kNotPermitted)
      << "not even root";
  EXPECT_EQ(CodeOf(reg().CheckSetAlias(Owner(), "models", "latest", "v0")),
            Code::kNotPermitted);
  EXPECT_EQ(Seq(), seq);
  auto latest = reg().GetAlias("models", "latest");
  REGFS_ASSERT_OK(latest);
  EXPECT_TRUE(latest->is_latest);
  EXPECT_EQ(latest->version, 2u);
  EXPECT_EQ(latest->id, 0);
  auto v2 = reg().GetVersion("models", 2);
  REGFS_ASSERT_OK(v2);
  EXPECT_EQ(latest->version_id, v2->id);
  // The mount gives a moved alias a new inode by its revision: `latest`
  // must change revision when it moves.
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "m3"));
  auto moved = reg().GetAlias("models", "latest");
  REGFS_ASSERT_OK(moved);
  EXPECT_EQ(moved->version, 3u);
  EXPECT_NE(moved->revision, latest->revision);
}

TEST_F(AliasTest, TargetAliasResolvesAtThatMoment) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "a", "v0"));
  auto b = reg().CreateAlias(Owner(), "models", "b", "a");
  REGFS_ASSERT_OK(b);
  EXPECT_EQ(b->version, 0u);
  auto v0 = reg().GetVersion("models", 0);
  REGFS_ASSERT_OK(v0);
  EXPECT_EQ(b->version_id, v0->id);
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "a", "v2"));
  EXPECT_EQ(Target("a"), 2u);
  EXPECT_EQ(Target("b"), 0u) << "aliases never chain";

  // `latest` as a target pins the newest version now.
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "pinned", "latest"));
  EXPECT_EQ(Target("pinned"), 2u);
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "m3"));
  EXPECT_EQ(Target("pinned"), 2u);
  EXPECT_EQ(Target("latest"), 3u);
}

TEST_F(AliasTest, CompareAndSwap) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "prod", "v0"));
  // Expected matches: moves.
  auto ok = reg().SetAlias(Owner(), "models", "prod", "v1",
                           std::optional<uint64_t>(0));
  REGFS_ASSERT_OK(ok);
  EXPECT_EQ(ok->version, 1u);
  // Someone moved it meanwhile: the stale expectation loses.
  const uint64_t seq = Seq();
  auto stale = reg().SetAlias(Owner(), "models", "prod", "v2",
                              std::optional<uint64_t>(0));
  ASSERT_EQ(CodeOf(stale), Code::kConflict) << Describe(stale);
  EXPECT_FALSE(stale.error().message.empty());
  EXPECT_EQ(Target("prod"), 1u);
  EXPECT_EQ(Seq(), seq);
  // "Must not exist" when it exists.
  auto must_not_exist = reg().SetAlias(Owner(), "models", "prod", "v2",
                                       std::optional<uint64_t>());
  EXPECT_EQ(CodeOf(must_not_exist), Code::kConflict)
      << Describe(must_not_exist);
  EXPECT_EQ(Target("prod"), 1u);
  // "Must not exist" when it does not: creates.
  auto created = reg().SetAlias(Owner(), "models", "fresh", "v2",
                                std::optional<uint64_t>());
  REGFS_ASSERT_OK(created);
  EXPECT_EQ(Target("fresh"), 2u);
  // Expected a version on an alias that does not exist.
  auto missing = reg().SetAlias(Owner(), "models", "ghost", "v2",
                                std::optional<uint64_t>(1));
  EXPECT_FALSE(missing.has_value());
  EXPECT_TRUE(CodeOf(missing) == Code::kConflict ||
              CodeOf(missing) == Code::kNotFound)
      << Describe(missing);
  EXPECT_EQ(Target("ghost"), std::nullopt);
}

TEST_F(AliasTest, CheckSetAliasChangesNothing) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v0"));
  const uint64_t seq = Seq();
  auto v = reg().CheckSetAlias(Owner(), "models", "best", "v2");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 2u);
  auto via_alias = reg().CheckSetAlias(Owner(), "models", "newname", "best");
  REGFS_ASSERT_OK(via_alias);
  EXPECT_EQ(via_alias->number, 0u);
  EXPECT_EQ(Seq(), seq);
  EXPECT_EQ(Target("best"), 0u);
  EXPECT_EQ(Target("newname"), std::nullopt);
  EXPECT_EQ(CodeOf(reg().CheckSetAlias(Owner(), "models", "best", "v9")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().CheckSetAlias(User(20003), "models", "best", "v1")),
            Code::kPermissionDenied)
      << "a viewer";
}

TEST_F(AliasTest, CheckTargetAcceptsAnyNameButChecksRoleAndTarget) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v1"));
  const uint64_t seq = Seq();
  auto v = reg().CheckTarget(Owner(), "models", "../models/best");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(*v, 1u);
  EXPECT_EQ(CodeOf(reg().CheckTarget(Owner(), "models", "v9")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().CheckTarget(Owner(), "models", "../other/v0")),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().CheckTarget(User(20003), "models", "v1")),
            Code::kPermissionDenied)
      << "a viewer";
  EXPECT_EQ(CodeOf(reg().CheckTarget(Owner(), "nosuch", "v1")),
            Code::kNotFound);
  EXPECT_EQ(Seq(), seq);
}

TEST_F(AliasTest, AliasesAreScopedToTheirCollection) {
  REGFS_ASSERT_OK(PushContent(Owner(), "other", "o0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v2"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "other", "best", "v0"));
  EXPECT_EQ(Target("best", "models"), 2u);
  EXPECT_EQ(Target("best", "other"), 0u);
  // v2 of `other` does not exist, whatever `models` has.
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "other", "best", "v2")),
            Code::kNotFound);
  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "models", "best"));
  EXPECT_EQ(Target("best", "other"), 0u);
}

TEST_F(AliasTest, ListAliasesShowsUserAliasesAndLatest) {
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "production", "v1"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v0"));
  auto aliases = reg().ListAliases("models");
  REGFS_ASSERT_OK(aliases);
  std::map<std::string, Alias> by_name;
  for (const Alias& a : *aliases) by_name[a.name] = a;
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_TRUE(by_name["production"].is_protected);
  EXPECT_FALSE(by_name["best"].is_protected);
  EXPECT_TRUE(by_name["latest"].is_latest);
  EXPECT_EQ(by_name["latest"].version, 2u);
  EXPECT_EQ(by_name["production"].version, 1u);
  auto v1 = reg().GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->aliases, std::vector<std::string>{"production"});
  auto v2 = reg().GetVersion("models", 2);
  REGFS_ASSERT_OK(v2);
  EXPECT_EQ(v2->aliases, std::vector<std::string>{"latest"});
}

TEST_F(AliasTest, DeletingAVersionRemovesItsAliases) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "a", "v1"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "b", "v1"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "c", "v0"));
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 1));
  EXPECT_EQ(Target("a"), std::nullopt);
  EXPECT_EQ(Target("b"), std::nullopt);
  EXPECT_EQ(Target("c"), 0u);
  EXPECT_EQ(CodeOf(reg().GetVersion("models", 1)), Code::kNotFound);

  auto events = Since(seq);
  int deletes = 0;
  std::vector<std::string> removed;
  for (const Event& e : events) {
    EXPECT_EQ(e.collection, "models");
    EXPECT_EQ(e.uid, testing::kOwnerUid);
    if (e.type == EventType::kVersionDelete) {
      ++deletes;
      EXPECT_EQ(e.old_version, 1u);
    } else if (e.type == EventType::kAliasRemove) {
      removed.push_back(e.alias);
      EXPECT_EQ(e.old_version, 1u);
      EXPECT_EQ(e.new_version, std::nullopt);
    } else {
      ADD_FAILURE() << "unexpected " << EventTypeName(e.type);
    }
  }
  EXPECT_EQ(deletes, 1);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"a", "b"}));
  auto coll = reg().GetCollection("models");
  REGFS_ASSERT_OK(coll);
  EXPECT_EQ(coll->alias_count, 1u);
}

TEST_F(AliasTest, DeletingTheNewestVersionMovesLatest) {
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 2));
  EXPECT_EQ(Target("latest"), 1u);
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  EXPECT_EQ(Target("latest"), 1u);
}

TEST_F(AliasTest, ProtectedAliasBlocksDeletingItsVersion) {
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "production", "v1"));
  const uint64_t seq = Seq();
  for (const Identity& admin : {Owner(), testing::Root()}) {
    auto refused = reg().DeleteVersion(admin, "models", 1);
    ASSERT_FALSE(refused.has_value()) << "deleted under a protected alias";
    EXPECT_TRUE(refused.error().code == Code::kNotPermitted ||
                refused.error().code == Code::kConflict)
        << Describe(refused);
    EXPECT_NE(refused.error().message.find("protected"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("production"), std::string::npos)
        << refused.error().message;
  }
  EXPECT_EQ(Seq(), seq);
  EXPECT_TRUE(reg().GetVersion("models", 1).has_value());
  EXPECT_EQ(Target("production"), 1u);
  // Once the alias moves away, the version can go.
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production", "v2"));
  REGFS_EXPECT_OK(reg().DeleteVersion(Owner(), "models", 1));
}

TEST_F(AliasTest, ProtectingAnExistingAliasProtectsIt) {
  // Names are registry-wide: protecting applies to aliases that already
  // exist, in every collection.
  REGFS_ASSERT_OK(PushContent(Owner(), "other", "o0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "staging", "v1"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "other", "staging", "v0"));
  REGFS_ASSERT_OK(reg().Protect(Owner(), "staging"));
  for (const char* coll : {"models", "other"}) {
    auto a = reg().GetAlias(coll, "staging");
    REGFS_ASSERT_OK(a);
    EXPECT_TRUE(a->is_protected) << coll;
  }
  auto is = reg().IsProtected("staging");
  REGFS_ASSERT_OK(is);
  EXPECT_TRUE(*is);
  EXPECT_FALSE(reg().DeleteVersion(Owner(), "other", 0).has_value());
  REGFS_ASSERT_OK(reg().Unprotect(Owner(), "staging"));
  auto a = reg().GetAlias("models", "staging");
  REGFS_ASSERT_OK(a);
  EXPECT_FALSE(a->is_protected);
  REGFS_EXPECT_OK(reg().DeleteVersion(Owner(), "other", 0));
}

TEST_F(AliasTest, ProtectRefusals) {
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  EXPECT_EQ(CodeOf(reg().Protect(Owner(), "production")), Code::kAlreadyExists);
  EXPECT_EQ(CodeOf(reg().Unprotect(Owner(), "staging")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().Protect(Owner(), "a/b")), Code::kInvalidArgument);
  auto list = reg().ListProtected();
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "production");
  EXPECT_EQ((*list)[0].created_by, "10000");
}

TEST_F(AliasTest, Tags) {
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "models", 1, "gold"));
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "models", 2, "gold"));
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "models", 1, "reviewed"));
  auto v1 = reg().GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  std::vector<std::string> tags = v1->tags;
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<std::string>{"gold", "reviewed"}));
  REGFS_ASSERT_OK(reg().RemoveTag(Owner(), "models", 1, "gold"));
  v1 = reg().GetVersion("models", 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->tags, std::vector<std::string>{"reviewed"});
  auto v2 = reg().GetVersion("models", 2);
  REGFS_ASSERT_OK(v2);
  EXPECT_EQ(v2->tags, std::vector<std::string>{"gold"}) << "tags not unique";
  EXPECT_EQ(CodeOf(reg().RemoveTag(Owner(), "models", 1, "gold")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().AddTag(Owner(), "models", 9, "gold")),
            Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().AddTag(Owner(), "models", 1, "")),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace regfs::registry
