// The store (Init, Open), collections, the history the registry records,
// and fsck and gc.
#include "registry/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "registry/names.h"
#include "registry/shared_store.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::ReadFile;
using testing::RegistryTest;
using testing::Root;
using testing::TempDir;
using testing::User;
using testing::WriteFile;

// ---- The store ----

TEST(StoreTest, InitCreatesAPrivateStore) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  auto reg = Registry::Init(store, Owner());
  REGFS_ASSERT_OK(reg);
  EXPECT_EQ((*reg)->store(), store);
  EXPECT_TRUE(fs::is_regular_file(store / "registry.db"));
  EXPECT_TRUE(fs::is_directory(store / "blobs"));
  struct stat st;
  ASSERT_EQ(::stat(store.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "the store is its owner's";
  auto colls = (*reg)->ListCollections();
  REGFS_ASSERT_OK(colls);
  EXPECT_TRUE(colls->empty());
  auto seq = (*reg)->LastSeq();
  REGFS_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 0u);
}

TEST(StoreTest, InitIntoAnExistingEmptyDirectory) {
  TempDir tmp;
  REGFS_EXPECT_OK(Registry::Init(tmp.path(), Owner()));
}

TEST(StoreTest, InitTwiceIsRefused) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  {
    auto reg = Registry::Init(store, Owner());
    REGFS_ASSERT_OK(reg);
    REGFS_ASSERT_OK((*reg)->CreateCollection(Owner(), "keep"));
  }
  EXPECT_EQ(CodeOf(Registry::Init(store, Owner())), Code::kAlreadyExists);
  auto reg = Registry::Open(store);
  REGFS_ASSERT_OK(reg);
  EXPECT_TRUE((*reg)->GetCollection("keep").has_value()) << "not wiped";
}

TEST(StoreTest, OpenWhatIsNotAStore) {
  TempDir tmp;
  EXPECT_EQ(CodeOf(Registry::Open(tmp.path() / "nothing")), Code::kNotFound);
  auto empty = Registry::Open(tmp.path());
  EXPECT_FALSE(empty.has_value()) << "an empty directory is not a store";
  EXPECT_FALSE(fs::exists(tmp.path() / "registry.db"))
      << "Open never creates a store";
  WriteFile(tmp.path() / "junk" / "registry.db", "this is not sqlite at all");
  auto junk = Registry::Open(tmp.path() / "junk");
  EXPECT_FALSE(junk.has_value());
}

TEST(StoreTest, OwnerIsRememberedAcrossOpen) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  REGFS_ASSERT_OK(Registry::Init(store, User(31337)));
  auto reg = Registry::Open(store);
  REGFS_ASSERT_OK(reg);
  auto role = (*reg)->RoleOf(User(31337));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kAdmin);
  auto other = (*reg)->RoleOf(Owner());
  REGFS_ASSERT_OK(other);
  EXPECT_EQ(*other, Role::kViewer);
}

TEST(StoreTest, DataSurvivesReopen) {
  TempDir tmp;
  const fs::path store = tmp.path() / "store";
  WriteFile(tmp.path() / "f", "persisted");
  {
    auto reg = Registry::Init(store, Owner());
    REGFS_ASSERT_OK(reg);
    PushRequest r;
    r.collection = "models";
    r.paths = {tmp.path() / "f"};
    r.aliases = {"best"};
    REGFS_ASSERT_OK((*reg)->Push(Owner(), r));
  }
  auto reg = Registry::Open(store);
  REGFS_ASSERT_OK(reg);
  auto v = (*reg)->Resolve("models", "best");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(ReadFile((*reg)->BlobPath(v->blob)), "persisted");
}

// ---- Collections ----

using CollectionTest = RegistryTest;

TEST_F(CollectionTest, CreateAndList) {
  auto made = reg().CreateCollection(User(0), "models");
  REGFS_ASSERT_OK(made);
  EXPECT_EQ(made->name, "models");
  EXPECT_EQ(made->kind, Kind::kEmpty);
  EXPECT_EQ(made->creator_uid, 0u);
  EXPECT_EQ(made->creator, "root");
  EXPECT_EQ(made->latest, std::nullopt);
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "datasets"));
  EXPECT_EQ(CodeOf(reg().CreateCollection(Owner(), "models")),
            Code::kAlreadyExists);
  auto all = reg().ListCollections();
  REGFS_ASSERT_OK(all);
  std::set<std::string> names;
  for (const Collection& c : *all) names.insert(c.name);
  EXPECT_EQ(names, (std::set<std::string>{"datasets", "models"}));
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  auto aliases = reg().ListAliases("models");
  REGFS_ASSERT_OK(aliases);
  EXPECT_TRUE(aliases->empty()) << "no latest without a version";
  EXPECT_EQ(CodeOf(reg().Resolve("models", "latest")), Code::kNotFound);
}

TEST_F(CollectionTest, BadNames) {
  for (const char* name : {"", ".x", "-x", "a/b", "a b", "latest", "v3"}) {
    auto made = reg().CreateCollection(Owner(), name);
    ASSERT_FALSE(made.has_value()) << "\"" << name << "\"";
    EXPECT_TRUE(made.error().code == Code::kInvalidArgument ||
                made.error().code == Code::kNotPermitted)
        << name << ": " << Describe(made);
  }
  EXPECT_EQ(Seq(), 0u);
}

TEST_F(CollectionTest, NamesKeepTheirCaseButMayNotDifferOnlyByIt) {
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "Models"));
  REGFS_EXPECT_OK(reg().GetCollection("Models"));
  EXPECT_EQ(CodeOf(reg().GetCollection("models")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().CreateCollection(Owner(), "models")),
            Code::kAlreadyExists);
}

TEST_F(CollectionTest, ReadsOfWhatDoesNotExist) {
  EXPECT_EQ(CodeOf(reg().GetCollection("nope")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().ListVersions("nope")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().ListAliases("nope")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetVersion("nope", 0)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().Resolve("nope", "latest")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetAlias("nope", "x")), Code::kNotFound);
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  EXPECT_EQ(CodeOf(reg().GetVersion("m", 1)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().Resolve("m", "v1")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().Resolve("m", "ghost")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetAlias("m", "ghost")), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetTreeEntry(999999)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().DeleteVersion(Owner(), "m", 7)), Code::kNotFound);
}

TEST_F(CollectionTest, ListTreeOfAMissingVersionIsNotFound) {
  // The mount lists a tree version's directories by version id: an id that
  // names no version must not look like an empty directory.
  EXPECT_EQ(CodeOf(reg().ListTree(999999, 0)), Code::kNotFound);
}

// ---- History: one row per operation ----

struct HistoryCase {
  const char* what;
  std::function<Status(Registry&)> op;
  EventType type;
  const char* collection;
  const char* alias;
  std::optional<uint64_t> old_version;
  std::optional<uint64_t> new_version;
  nlohmann::json detail;  // keys that must be in the event's detail
  // Tags and renames: which of old/new names the version is not fixed, but
  // the version must be one of them (`version` below).
  bool exact_versions = true;
};

template <class T>
Status Drop(Result<T> r) {
  if (r) return {};
  return std::unexpected(r.error());
}

class HistoryLogTest : public RegistryTest {
 protected:
  Identity Actor() { return User(0, {}, Interface::kFs); }

  // Applies `c` and checks it wrote exactly one row, as described.
  void Check(const HistoryCase& c, const Identity& who) {
    SCOPED_TRACE(c.what);
    const uint64_t seq = Seq();
    const TimeMs before = NowMs();
    const Status s = c.op(reg());
    const TimeMs after = NowMs();
    ASSERT_TRUE(s.has_value()) << Describe(s);
    HistoryFilter f;
    f.after_seq = seq;
    auto events = reg().History(f);
    REGFS_ASSERT_OK(events);
    ASSERT_EQ(events->size(), 1u) << "exactly one row";
    const Event& e = (*events)[0];
    EXPECT_EQ(e.seq, seq + 1);
    EXPECT_EQ(Seq(), seq + 1);
    EXPECT_EQ(e.type, c.type);
    EXPECT_EQ(e.collection, c.collection);
    EXPECT_EQ(e.alias, c.alias);
    if (c.exact_versions) {
      EXPECT_EQ(e.old_version, c.old_version);
      EXPECT_EQ(e.new_version, c.new_version);
    } else {
      const std::optional<uint64_t> v =
          c.old_version ? c.old_version : c.new_version;
      EXPECT_TRUE(e.old_version == v || e.new_version == v)
          << "the event names v" << v.value_or(999);
    }
    EXPECT_EQ(e.uid, who.uid);
    EXPECT_EQ(e.user, who.user);
    EXPECT_EQ(e.interface, who.interface);
    // A shared store's events name this machine; an embedded store is
    // one machine, and its events name none.
    EXPECT_EQ(e.host, testing::TestOnPostgres() ? HostName() : "");
    EXPECT_GE(e.time, before);
    EXPECT_LE(e.time, after);
    ASSERT_TRUE(e.detail.is_object()) << e.detail.dump();
    // As stored: a rename's "to" is its renamed_to.
    const nlohmann::json detail = StoredDetail(e);
    for (const auto& [key, value] : c.detail.items()) {
      EXPECT_EQ(detail.value(key, nlohmann::json()), value)
          << key << " in " << detail.dump();
    }
    // The rendered line carries the same.
    const nlohmann::json line = nlohmann::json::parse(RenderJsonLine(e));
    EXPECT_EQ(line.value("seq", 0u), e.seq);
    EXPECT_EQ(line.value("event", ""), EventTypeName(c.type));
    EXPECT_EQ(line.value("user", ""), who.user);
  }
};

TEST_F(HistoryLogTest, OneRowPerOperation) {
  const Identity who = Actor();
  const fs::path f0 = Source("a.pt", "zero");
  const fs::path f1 = Source("b.pt", "one");
  auto push = [&](const fs::path& f) {
    return [&who, f](Registry& r) {
      PushRequest req;
      req.collection = "m";
      req.paths = {f};
      return Drop(r.Push(who, req));
    };
  };
  using J = nlohmann::json;
  const HistoryCase cases[] = {
      {"create collection",
       [&](Registry& r) { return Drop(r.CreateCollection(who, "m")); },
       EventType::kCollectionCreate, "m", "", std::nullopt, std::nullopt,
       J::object()},
      {"push v0", push(f0), EventType::kVersionCreate, "m", "", std::nullopt, 0,
       J::object()},
      {"push v1", push(f1), EventType::kVersionCreate, "m", "", std::nullopt, 1,
       J::object()},
      {"alias create",
       [&](Registry& r) { return Drop(r.CreateAlias(who, "m", "best", "v0")); },
       EventType::kAliasCreate, "m", "best", std::nullopt, 0, J::object()},
      {"alias move",
       [&](Registry& r) { return Drop(r.SetAlias(who, "m", "best", "v1")); },
       EventType::kAliasMove, "m", "best", 0, 1, J::object()},
      {"alias move with expected",
       [&](Registry& r) {
         return Drop(
             r.SetAlias(who, "m", "best", "v0", std::optional<uint64_t>(1)));
       },
       EventType::kAliasMove, "m", "best", 1, 0, J::object()},
      {"alias rename",
       [&](Registry& r) {
         return r.RenameAlias(who, "m", "best", "top", false);
       },
       EventType::kAliasRename, "m", "best", 0, 0, J{{"to", "top"}}, false},
      {"alias remove",
       [&](Registry& r) { return r.RemoveAlias(who, "m", "top"); },
       EventType::kAliasRemove, "m", "top", 0, std::nullopt, J::object()},
      {"tag add", [&](Registry& r) { return r.AddTag(who, "m", 1, "gold"); },
       EventType::kTagAdd, "m", "", std::nullopt, 1, J{{"tag", "gold"}}, false},
      {"tag remove",
       [&](Registry& r) { return r.RemoveTag(who, "m", 1, "gold"); },
       EventType::kTagRemove, "m", "", 1, std::nullopt, J{{"tag", "gold"}},
       false},
      {"protect", [&](Registry& r) { return r.Protect(who, "production"); },
       EventType::kProtect, "", "production", std::nullopt, std::nullopt,
       J::object()},
      {"unprotect", [&](Registry& r) { return r.Unprotect(who, "production"); },
       EventType::kUnprotect, "", "production", std::nullopt, std::nullopt,
       J::object()},
      {"grant",
       [&](Registry& r) { return r.Grant(who, "group:ml", Role::kMember); },
       EventType::kRoleGrant, "", "", std::nullopt, std::nullopt,
       J{{"principal", "group:ml"}, {"role", "member"}}},
      {"set default role",
       [&](Registry& r) { return r.Grant(who, "*", Role::kNone); },
       EventType::kRoleGrant, "", "", std::nullopt, std::nullopt,
       J{{"principal", "*"}, {"role", "none"}}},
      {"revoke", [&](Registry& r) { return r.Revoke(who, "group:ml"); },
       EventType::kRoleRevoke, "", "", std::nullopt, std::nullopt,
       J{{"principal", "group:ml"}}},
      {"delete version",
       [&](Registry& r) { return r.DeleteVersion(who, "m", 0); },
       EventType::kVersionDelete, "m", "", 0, std::nullopt, J::object()},
  };
  for (const HistoryCase& c : cases) {
    Check(c, who);
    if (HasFatalFailure()) return;
  }
}

TEST_F(HistoryLogTest, InterfaceAndActorAreRecorded) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  REGFS_ASSERT_OK(PushContent(Owner(Interface::kCli), "m", "x"));
  REGFS_ASSERT_OK(
      reg().CreateAlias(User(20002, {}, Interface::kFs), "m", "a", "v0"));
  auto events = reg().History(HistoryFilter{.collection = "m"});
  REGFS_ASSERT_OK(events);
  ASSERT_GE(events->size(), 2u);
  const Event& push = (*events)[events->size() - 2];
  const Event& alias = events->back();
  EXPECT_EQ(push.type, EventType::kVersionCreate);
  EXPECT_EQ(push.interface, Interface::kCli);
  EXPECT_EQ(push.uid, testing::kOwnerUid);
  EXPECT_EQ(push.user, "10000");
  EXPECT_EQ(alias.interface, Interface::kFs);
  EXPECT_EQ(alias.uid, 20002u);
  EXPECT_EQ(alias.user, "20002");
  const nlohmann::json line = nlohmann::json::parse(RenderJsonLine(alias));
  EXPECT_EQ(line["interface"], "fs");
}

TEST_F(HistoryLogTest, PushWithAliasesRecordsVersionThenAliases) {
  PushRequest r;
  r.collection = "zoo-dataset";
  r.paths = {Source("zoo_dataset.pt", "d"), Source("zoo_labels.pt", "l")};
  r.aliases = {"production-us", "production-eu"};
  REGFS_ASSERT_OK(reg().Push(Owner(), r));
  auto events = reg().History(HistoryFilter{});
  REGFS_ASSERT_OK(events);
  std::vector<std::string> kinds;
  std::set<std::string> aliases;
  bool version_before_aliases = true, seen_alias = false;
  for (const Event& e : *events) {
    EXPECT_EQ(e.collection, "zoo-dataset");
    kinds.push_back(std::string(EventTypeName(e.type)));
    if (e.type == EventType::kAliasCreate) {
      seen_alias = true;
      aliases.insert(e.alias);
      EXPECT_EQ(e.new_version, 0u);
    }
    if (e.type == EventType::kVersionCreate && seen_alias) {
      version_before_aliases = false;
    }
  }
  EXPECT_EQ(aliases, (std::set<std::string>{"production-eu", "production-us"}));
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "version.create"), 1)
      << ::testing::PrintToString(kinds);
  EXPECT_LE(std::count(kinds.begin(), kinds.end(), "collection.create"), 1);
  EXPECT_TRUE(version_before_aliases) << ::testing::PrintToString(kinds);
}

TEST_F(HistoryLogTest, SeqIsGaplessAndTimeMonotonic) {
  for (int i = 0; i < 5; ++i) {
    REGFS_ASSERT_OK(PushContent(Owner(), "m", std::to_string(i)));
    REGFS_ASSERT_OK(
        reg().SetAlias(Owner(), "m", "best", "v" + std::to_string(i)));
  }
  // Refusals in between leave no gap.
  EXPECT_FALSE(reg().SetAlias(User(20003), "m", "best", "v0").has_value());
  EXPECT_FALSE(reg().SetAlias(Owner(), "m", "latest", "v0").has_value());
  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "m", "best"));
  const std::vector<Event> events = AllEvents();
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, i + 1);
    if (i > 0) {
      EXPECT_GE(events[i].time, events[i - 1].time);
    }
  }
  EXPECT_EQ(Seq(), events.size());
}

TEST_F(HistoryLogTest, HistoryIsKeptAcrossReopen) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  const std::vector<Event> before = AllEvents();
  Reopen();
  const std::vector<Event> after = AllEvents();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(RenderJsonLine(after[i]), RenderJsonLine(before[i]));
  }
}

TEST_F(HistoryLogTest, HistoryOfDeletedThingsStays) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "m", "a", "v0"));
  const size_t n = AllEvents().size();
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "m", 0));
  const std::vector<Event> events = AllEvents();
  ASSERT_GT(events.size(), n) << "deletion adds rows, removes none";
  EXPECT_EQ(events[0].seq, 1u);
}

// ---- History filters ----

class HistoryFilterTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    REGFS_ASSERT_OK(PushContent(Owner(), "a", "a0"));  // a: v0
    REGFS_ASSERT_OK(PushContent(Owner(), "b", "b0"));  // b: v0
    REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "a", "best", "v0"));
    REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "b", "best", "v0"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    middle_ = NowMs();
    middle_seq_ = Seq();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REGFS_ASSERT_OK(PushContent(Owner(), "a", "a1"));  // a: v1
    REGFS_ASSERT_OK(reg().SetAlias(Owner(), "a", "best", "v1"));
    REGFS_ASSERT_OK(reg().RenameAlias(Owner(), "a", "best", "top", false));
    REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  }

  std::vector<Event> Query(HistoryFilter f) {
    auto events = reg().History(f);
    EXPECT_TRUE(events.has_value()) << Describe(events);
    return events.value_or(std::vector<Event>{});
  }

  TimeMs middle_ = 0;
  uint64_t middle_seq_ = 0;
};

TEST_F(HistoryFilterTest, ByCollection) {
  const std::vector<Event> a = Query({.collection = "a"});
  ASSERT_FALSE(a.empty());
  for (const Event& e : a) EXPECT_EQ(e.collection, "a");
  const std::vector<Event> b = Query({.collection = "b"});
  ASSERT_FALSE(b.empty());
  for (const Event& e : b) EXPECT_EQ(e.collection, "b");
  const size_t all = AllEvents().size();
  EXPECT_EQ(a.size() + b.size() + 1, all) << "+1: the registry-wide protect";
  EXPECT_TRUE(Query({.collection = "nope"}).empty());
  for (size_t i = 1; i < a.size(); ++i) EXPECT_GT(a[i].seq, a[i - 1].seq);
}

TEST_F(HistoryFilterTest, ByAliasIncludingRenames) {
  const std::vector<Event> best = Query({.collection = "a", .alias = "best"});
  std::vector<EventType> types;
  for (const Event& e : best) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<EventType>{EventType::kAliasCreate,
                                           EventType::kAliasMove,
                                           EventType::kAliasRename}));
  const std::vector<Event> top = Query({.collection = "a", .alias = "top"});
  ASSERT_EQ(top.size(), 1u) << "a rename matches its new name";
  EXPECT_EQ(top[0].type, EventType::kAliasRename);
  // Without a collection: both collections' `best`.
  EXPECT_EQ(Query({.alias = "best"}).size(), 4u);
}

TEST_F(HistoryFilterTest, SinceAndAfterSeq) {
  const std::vector<Event> since = Query({.since = middle_});
  ASSERT_EQ(since.size(), 4u);
  for (const Event& e : since) {
    EXPECT_GE(e.time, middle_);
    EXPECT_GT(e.seq, middle_seq_);
  }
  const std::vector<Event> after = Query({.after_seq = middle_seq_});
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[0].seq, middle_seq_ + 1);
  EXPECT_TRUE(Query({.after_seq = Seq()}).empty());
  const std::vector<Event> combined =
      Query({.collection = "a", .after_seq = middle_seq_});
  EXPECT_EQ(combined.size(), 3u);
}

TEST_F(HistoryFilterTest, Limit) {
  const std::vector<Event> all = AllEvents();
  const std::vector<Event> two = Query({.limit = 2});
  ASSERT_EQ(two.size(), 2u);
  // Oldest first, whatever end the limit keeps.
  EXPECT_LT(two[0].seq, two[1].seq);
  const std::vector<Event> paged = Query({.after_seq = 2, .limit = 2});
  ASSERT_EQ(paged.size(), 2u);
  EXPECT_EQ(paged[0].seq, 3u) << "a page after a seq starts right after it";
  EXPECT_EQ(paged[1].seq, 4u);
  EXPECT_EQ(Query({.limit = 1000}).size(), all.size());
}

// ---- fsck and gc ----

class FsckGcTest : public RegistryTest {
 protected:
  FsckReport Fsck() {
    auto report = reg().Fsck();
    EXPECT_TRUE(report.has_value()) << Describe(report);
    return report.value_or(FsckReport{});
  }

  static bool Mentions(const FsckReport& r, std::string_view text) {
    for (const auto& p : r.problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  }

  void Overwrite(const fs::path& path, std::streamoff at, char c) {
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);  // chmod u+w
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(at);
    f.put(c);
  }
};

TEST_F(FsckGcTest, CleanStore) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "first"));
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "second"));
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "first"));
  WriteFile(src() / "t" / "x", "tree file");
  WriteFile(src() / "t" / "y", "");
  PushRequest r;
  r.collection = "t";
  r.paths = {src() / "t"};
  REGFS_ASSERT_OK(reg().Push(Owner(), r));
  const FsckReport report = Fsck();
  EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);
  EXPECT_EQ(report.versions, 4u);
  EXPECT_GE(report.blobs, 3u);
  EXPECT_LE(report.blobs, 4u) << "first twice is one blob; maybe one empty";
  EXPECT_GE(report.bytes, 5u + 6 + 9);
}

TEST_F(FsckGcTest, EmptyStoreIsClean) {
  const FsckReport report = Fsck();
  EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);
  EXPECT_EQ(report.versions, 0u);
}

TEST_F(FsckGcTest, DetectsACorruptedBlob) {
  auto v = PushContent(Owner(), "m", "precious model weights");
  REGFS_ASSERT_OK(v);
  Overwrite(reg().BlobPath(v->blob), 5, 'X');
  const FsckReport report = Fsck();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(Mentions(report, v->blob))
      << "names the blob: " << ::testing::PrintToString(report.problems);
}

TEST_F(FsckGcTest, DetectsATruncatedBlob) {
  auto v = PushContent(Owner(), "m", "precious model weights");
  REGFS_ASSERT_OK(v);
  const fs::path path = reg().BlobPath(v->blob);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  fs::resize_file(path, 3);
  const FsckReport report = Fsck();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(Mentions(report, v->blob))
      << ::testing::PrintToString(report.problems);
}

TEST_F(FsckGcTest, DetectsAMissingBlob) {
  auto v = PushContent(Owner(), "m", "soon gone");
  REGFS_ASSERT_OK(v);
  ASSERT_TRUE(fs::remove(reg().BlobPath(v->blob)));
  const FsckReport report = Fsck();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(Mentions(report, v->blob))
      << ::testing::PrintToString(report.problems);
}

TEST_F(FsckGcTest, DetectsACorruptedFileInsideATree) {
  WriteFile(src() / "t" / "sub" / "deep.bin", "deep content");
  WriteFile(src() / "t" / "top.bin", "top content");
  PushRequest r;
  r.collection = "t";
  r.paths = {src() / "t"};
  auto v = reg().Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  auto sub = reg().LookupTree(v->id, 0, "sub");
  REGFS_ASSERT_OK(sub);
  auto deep = reg().LookupTree(v->id, sub->id, "deep.bin");
  REGFS_ASSERT_OK(deep);
  Overwrite(reg().BlobPath(deep->blob), 0, 'D');
  const FsckReport report = Fsck();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(Mentions(report, deep->blob))
      << ::testing::PrintToString(report.problems);
}

TEST_F(FsckGcTest, GcRemovesUnreferencedAndKeepsReferenced) {
  auto keep = PushContent(Owner(), "m", "keep me");
  auto drop = PushContent(Owner(), "m", "drop me");
  auto shared = PushContent(Owner(), "m", "keep me");  // same blob as keep
  REGFS_ASSERT_OK(keep);
  REGFS_ASSERT_OK(drop);
  REGFS_ASSERT_OK(shared);
  WriteFile(src() / "t" / "in-tree", "tree keeps me");
  PushRequest r;
  r.collection = "t";
  r.paths = {src() / "t"};
  auto tree = reg().Push(Owner(), r);
  REGFS_ASSERT_OK(tree);
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "m", 1));  // drop
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "m", 0));  // keep; shared stays
  const size_t blobs = BlobCount();

  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.blobs_removed, 1u);
  EXPECT_EQ(gc->blobs.bytes_removed, 7u);
  EXPECT_EQ(BlobCount(), blobs - 1);
  EXPECT_FALSE(fs::exists(reg().BlobPath(drop->blob)));
  EXPECT_EQ(ReadFile(reg().BlobPath(shared->blob)), "keep me");
  auto entry = reg().LookupTree(tree->id, 0, "in-tree");
  REGFS_ASSERT_OK(entry);
  EXPECT_EQ(ReadFile(reg().BlobPath(entry->blob)), "tree keeps me");
  const FsckReport report = Fsck();
  EXPECT_TRUE(report.clean()) << ::testing::PrintToString(report.problems);

  auto again = reg().Gc(Owner());
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(again->blobs.blobs_removed, 0u);
}

TEST_F(FsckGcTest, GcRemovesStaleTemporaryFiles) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  WriteFile(BlobsDirOf(store()) / "tmp" / "push-stale1",
            "left by a killed push");
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->blobs.temps_removed, 1u);
  EXPECT_FALSE(fs::exists(BlobsDirOf(store()) / "tmp" / "push-stale1"));
  EXPECT_EQ(BlobCount(), 1u);
}

TEST_F(FsckGcTest, GcWritesNoHistory) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().Gc(Owner()));
  EXPECT_EQ(Seq(), seq);
}

}  // namespace
}  // namespace regfs::registry
