// The permission matrix: every kind of caller against every change, on
// unprotected and protected names. Each cell runs on a fresh store and
// checks the code, that a refusal changed nothing, and that a success was
// recorded under the caller's name.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::Root;
using testing::User;

// ---- Callers ----

enum class RoleClass { kAdmin, kMember, kViewer, kNone };

struct Actor {
  const char* name;
  RoleClass role;
  // Grants made (by the owner) before the operation; "*" sets the default.
  std::vector<std::pair<std::string, Role>> grants;
  std::function<Identity()> identity;
};

const std::vector<Actor>& Actors() {
  static const std::vector<Actor> actors = {
      {"root", RoleClass::kAdmin, {}, [] { return Root(Interface::kFs); }},
      {"owner", RoleClass::kAdmin, {}, [] { return Owner(Interface::kFs); }},
      {"admin",
       RoleClass::kAdmin,
       {{"20001", Role::kAdmin}},
       [] { return User(20001, {}, Interface::kFs); }},
      {"group_admin",
       RoleClass::kAdmin,
       {{"group:30001", Role::kAdmin}},
       [] { return User(20011, {30001}, Interface::kFs); }},
      {"member",
       RoleClass::kMember,
       {{"20002", Role::kMember}},
       [] { return User(20002, {}, Interface::kFs); }},
      {"group_member",
       RoleClass::kMember,
       {{"group:30002", Role::kMember}},
       [] { return User(20012, {30002}, Interface::kFs); }},
      {"primary_group_member",
       RoleClass::kMember,
       {{"group:30003", Role::kMember}},
       [] { return Identity::For(20013, 30003, {}, Interface::kFs); }},
      {"viewer",
       RoleClass::kViewer,
       {},
       [] { return User(20003, {}, Interface::kFs); }},
      {"none",
       RoleClass::kNone,
       {{"*", Role::kNone}},
       [] { return User(20004, {}, Interface::kFs); }},
  };
  return actors;
}

// ---- Expectations ----

// Success, or one of the codes.
struct Expect {
  std::vector<Code> codes;  // empty: must succeed
  bool ok() const { return codes.empty(); }
};
const Expect kOk{};
Expect Err(Code code) { return Expect{{code}}; }
Expect Err(Code a, Code b) { return Expect{{a, b}}; }
const Expect kDenied = Err(Code::kPermissionDenied);
const Expect kNotPermitted = Err(Code::kNotPermitted);

// ---- Operations on the prepared store ----
//
// The store: collection `m` with file versions v0 v1 v2; protected names
// `production` and `staging`; aliases cand -> v0, other -> v1,
// production -> v0 (protected); tag t1 on v0; a viewer grant for 20098.

using Op = std::function<Status(Registry&, const Identity&, const fs::path&)>;

struct Operation {
  const char* name;
  Op op;
  Expect admin;
  Expect member;
  Expect viewer;        // also the caller with no role
  bool records = true;  // a success writes history
};

Status Ignore(auto&& result) {
  if (result.has_value()) return {};
  return std::unexpected(result.error());
}

PushRequest PushOf(std::string collection, const fs::path& file,
                   std::vector<std::string> aliases = {}) {
  PushRequest r;
  r.collection = std::move(collection);
  r.paths = {file};
  r.aliases = std::move(aliases);
  return r;
}

const std::vector<Operation>& Operations() {
  using C = Code;
  static const std::vector<Operation> ops = {
      {"create_collection",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.CreateCollection(w, "newcoll"));
       },
       kOk, kOk, kDenied},
      {"push",
       [](Registry& r, const Identity& w, const fs::path& f) {
         return Ignore(r.Push(w, PushOf("m", f)));
       },
       kOk, kOk, kDenied},
      {"push_new_collection",
       [](Registry& r, const Identity& w, const fs::path& f) {
         return Ignore(r.Push(w, PushOf("brand-new", f)));
       },
       kOk, kOk, kDenied},
      {"push_with_alias",
       [](Registry& r, const Identity& w, const fs::path& f) {
         return Ignore(r.Push(w, PushOf("m", f, {"cand"})));
       },
       kOk, kOk, kDenied},
      {"push_with_protected_alias",
       [](Registry& r, const Identity& w, const fs::path& f) {
         return Ignore(r.Push(w, PushOf("m", f, {"production"})));
       },
       kOk, kNotPermitted, kDenied},
      {"alias_create",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.CreateAlias(w, "m", "fresh", "v1"));
       },
       kOk, kOk, kDenied},
      {"alias_set_new",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.SetAlias(w, "m", "fresh", "v1"));
       },
       kOk, kOk, kDenied},
      {"alias_move",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.SetAlias(w, "m", "cand", "v1"));
       },
       kOk, kOk, kDenied},
      {"alias_move_cas",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(
             r.SetAlias(w, "m", "cand", "v2", std::optional<uint64_t>(0)));
       },
       kOk, kOk, kDenied},
      {"alias_remove",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RemoveAlias(w, "m", "cand");
       },
       kOk, kOk, kDenied},
      {"alias_rename",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RenameAlias(w, "m", "cand", "renamed", false);
       },
       kOk, kOk, kDenied},
      {"alias_rename_replace",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RenameAlias(w, "m", "cand", "other", true);
       },
       kOk, kOk, kDenied},
      {"alias_exchange",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.ExchangeAliases(w, "m", "cand", "other");
       },
       kOk, kOk, kDenied},
      {"alias_check_set",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.CheckSetAlias(w, "m", "cand", "v2"));
       },
       kOk, kOk, kDenied, /*records=*/false},
      {"protected_create",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.CreateAlias(w, "m", "staging", "v1"));
       },
       kOk, kNotPermitted, kDenied},
      {"protected_move",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.SetAlias(w, "m", "production", "v1"));
       },
       kOk, kNotPermitted, kDenied},
      {"protected_move_via_alias",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.SetAlias(w, "m", "production", "other"));
       },
       kOk, kNotPermitted, kDenied},
      {"protected_remove",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RemoveAlias(w, "m", "production");
       },
       kOk, kNotPermitted, kDenied},
      {"protected_rename_from",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RenameAlias(w, "m", "production", "renamed", false);
       },
       kOk, kNotPermitted, kDenied},
      {"protected_rename_onto",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RenameAlias(w, "m", "cand", "staging", false);
       },
       kOk, kNotPermitted, kDenied},
      {"protected_rename_replace",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RenameAlias(w, "m", "cand", "production", true);
       },
       kOk, kNotPermitted, kDenied},
      {"protected_exchange",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.ExchangeAliases(w, "m", "other", "production");
       },
       kOk, kNotPermitted, kDenied},
      {"protected_check_set",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.CheckSetAlias(w, "m", "production", "v2"));
       },
       kOk, kNotPermitted, kDenied, /*records=*/false},
      {"latest_move",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.SetAlias(w, "m", "latest", "v0"));
       },
       kNotPermitted, kNotPermitted,
       Err(C::kPermissionDenied, C::kNotPermitted)},
      {"latest_remove",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RemoveAlias(w, "m", "latest");
       },
       kNotPermitted, kNotPermitted,
       Err(C::kPermissionDenied, C::kNotPermitted)},
      {"tag_add",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.AddTag(w, "m", 1, "t2");
       },
       kOk, kOk, kDenied},
      {"tag_remove",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.RemoveTag(w, "m", 0, "t1");
       },
       kOk, kOk, kDenied},
      {"protect",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Protect(w, "release");
       },
       kOk, kDenied, kDenied},
      {"unprotect",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Unprotect(w, "production");
       },
       kOk, kDenied, kDenied},
      {"grant",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Grant(w, "20099", Role::kMember);
       },
       kOk, kDenied, kDenied},
      {"grant_admin",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Grant(w, "20097", Role::kAdmin);
       },
       kOk, kDenied, kDenied},
      {"grant_group",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Grant(w, "group:30099", Role::kViewer);
       },
       kOk, kDenied, kDenied},
      {"set_default_role",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Grant(w, "*", Role::kMember);
       },
       kOk, kDenied, kDenied},
      {"revoke",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.Revoke(w, "20098");
       },
       kOk, kDenied, kDenied},
      {"delete_version",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.DeleteVersion(w, "m", 2);
       },
       kOk, kDenied, kDenied},
      {"delete_aliased_version",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.DeleteVersion(w, "m", 1);
       },
       kOk, kDenied, kDenied},
      {"delete_protected_version",
       [](Registry& r, const Identity& w, const fs::path&) {
         return r.DeleteVersion(w, "m", 0);
       },
       Err(C::kNotPermitted, C::kConflict),
       Err(C::kPermissionDenied, C::kNotPermitted), kDenied},
      {"gc",
       [](Registry& r, const Identity& w, const fs::path&) {
         return Ignore(r.Gc(w));
       },
       kOk, kDenied, kDenied, /*records=*/false},
  };
  return ops;
}

// Everything a refusal must leave as it was, as text.
std::string Snapshot(Registry& reg, const fs::path& store) {
  std::ostringstream out;
  auto colls = reg.ListCollections();
  if (!colls) return "error: " + Describe(colls);
  for (const Collection& c : *colls) {
    out << "collection " << c.name << " kind=" << KindName(c.kind)
        << " versions=" << c.version_count << "\n";
    auto versions = reg.ListVersions(c.name);
    if (!versions) return "error: " + Describe(versions);
    for (const Version& v : *versions) {
      auto full = reg.GetVersion(c.name, v.number);
      if (!full) return "error: " + Describe(full);
      std::vector<std::string> tags = full->tags;
      std::sort(tags.begin(), tags.end());
      out << "  v" << v.number << " tags=" << ::testing::PrintToString(tags)
          << "\n";
    }
    auto aliases = reg.ListAliases(c.name);
    if (!aliases) return "error: " + Describe(aliases);
    for (const Alias& a : *aliases) {
      out << "  alias " << a.name << " -> v" << a.version
          << " rev=" << a.revision << "\n";
    }
  }
  auto protected_names = reg.ListProtected();
  if (!protected_names) return "error: " + Describe(protected_names);
  for (const ProtectedName& p : *protected_names) {
    out << "protected " << p.name << "\n";
  }
  auto roles = reg.ListRoles();
  if (!roles) return "error: " + Describe(roles);
  std::vector<std::string> grants;
  for (const RoleGrant& g : *roles) {
    grants.push_back(g.principal + "=" + std::string(RoleName(g.role)));
  }
  std::sort(grants.begin(), grants.end());
  for (const auto& g : grants) out << "grant " << g << "\n";
  auto def = reg.DefaultRole();
  if (!def) return "error: " + Describe(def);
  out << "default " << RoleName(*def) << "\n";
  out << "blobs " << testing::FilesUnder(store / "blobs").size() << "\n";
  return out.str();
}

class PermissionTest
    : public RegistryTest,
      public ::testing::WithParamInterface<std::tuple<size_t, size_t>> {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    const Identity owner = Owner();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(owner, "m", "content " + std::to_string(i)));
    }
    REGFS_ASSERT_OK(reg().Protect(owner, "production"));
    REGFS_ASSERT_OK(reg().Protect(owner, "staging"));
    REGFS_ASSERT_OK(reg().CreateAlias(owner, "m", "cand", "v0"));
    REGFS_ASSERT_OK(reg().CreateAlias(owner, "m", "other", "v1"));
    REGFS_ASSERT_OK(reg().CreateAlias(owner, "m", "production", "v0"));
    REGFS_ASSERT_OK(reg().AddTag(owner, "m", 0, "t1"));
    REGFS_ASSERT_OK(reg().Grant(owner, "20098", Role::kViewer));
    for (const auto& [principal, role] : actor().grants) {
      REGFS_ASSERT_OK(reg().Grant(owner, principal, role));
    }
    // An unreferenced blob, so that gc has something to do.
    REGFS_ASSERT_OK(PushContent(owner, "scratch", "garbage"));
    REGFS_ASSERT_OK(reg().DeleteVersion(owner, "scratch", 0));
  }

  const Actor& actor() const { return Actors()[std::get<0>(GetParam())]; }
  const Operation& operation() const {
    return Operations()[std::get<1>(GetParam())];
  }
  const Expect& expected() const {
    const Operation& op = operation();
    switch (actor().role) {
      case RoleClass::kAdmin:
        return op.admin;
      case RoleClass::kMember:
        return op.member;
      case RoleClass::kViewer:
      case RoleClass::kNone:
        return op.viewer;
    }
    return op.viewer;
  }
};

TEST_P(PermissionTest, Matrix) {
  const Identity who = actor().identity();
  const Expect& expect = expected();
  const std::string before = Snapshot(reg(), store());
  const uint64_t seq = Seq();
  const fs::path file = Source("payload.bin", "pushed by " + who.user);

  const Status result = operation().op(reg(), who, file);

  if (expect.ok()) {
    ASSERT_TRUE(result.has_value())
        << actor().name << " " << operation().name << ": " << Describe(result);
    const std::vector<Event> events = [&] {
      HistoryFilter f;
      f.after_seq = seq;
      auto e = reg().History(f);
      EXPECT_TRUE(e.has_value()) << Describe(e);
      return e.value_or(std::vector<Event>{});
    }();
    if (operation().records) {
      EXPECT_FALSE(events.empty()) << "a change is recorded";
    } else {
      EXPECT_TRUE(events.empty()) << "nothing to record";
    }
    for (const Event& e : events) {
      EXPECT_EQ(e.uid, who.uid) << EventTypeName(e.type);
      EXPECT_EQ(e.user, who.user) << EventTypeName(e.type);
      EXPECT_EQ(e.interface, Interface::kFs) << EventTypeName(e.type);
    }
    return;
  }
  ASSERT_FALSE(result.has_value())
      << actor().name << " may not " << operation().name;
  EXPECT_NE(
      std::find(expect.codes.begin(), expect.codes.end(), result.error().code),
      expect.codes.end())
      << actor().name << " " << operation().name << ": got " << Describe(result)
      << ", expected " << ::testing::PrintToString(expect.codes);
  EXPECT_FALSE(result.error().message.empty());
  EXPECT_EQ(Seq(), seq) << "a refusal writes no history";
  EXPECT_EQ(Snapshot(reg(), store()), before) << "a refusal changes nothing";
}

std::string CellName(
    const ::testing::TestParamInfo<std::tuple<size_t, size_t>>& info) {
  return std::string(Actors()[std::get<0>(info.param)].name) + "__" +
         Operations()[std::get<1>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(
    RolesByOperations, PermissionTest,
    ::testing::Combine(::testing::Range<size_t>(0, Actors().size()),
                       ::testing::Range<size_t>(0, Operations().size())),
    CellName);

// ---- Roles themselves ----

using RoleTest = RegistryTest;

TEST_F(RoleTest, RoleOfEachCaller) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kAdmin));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30001", Role::kAdmin));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30002", Role::kMember));
  const struct {
    const char* what;
    Identity who;
    Role role;
  } cases[] = {
      {"root", Root(), Role::kAdmin},
      {"owner", Owner(), Role::kAdmin},
      {"owner via fs", Owner(Interface::kFs), Role::kAdmin},
      {"granted admin", User(20001), Role::kAdmin},
      {"granted member", User(20002), Role::kMember},
      {"ungranted", User(20003), Role::kViewer},
      {"admin group", User(20011, {30001}), Role::kAdmin},
      {"member group", User(20012, {30002}), Role::kMember},
      {"member group, primary",
       Identity::For(20013, 30002, {}, Interface::kCli), Role::kMember},
      {"member and admin groups", User(20014, {30002, 30001}), Role::kAdmin},
      // An explicit grant to the user wins over the user's groups.
      {"member user in admin group", User(20002, {30001}), Role::kMember},
      {"unrelated groups", User(20015, {30007, 30008}), Role::kViewer},
  };
  for (const auto& c : cases) {
    auto role = reg().RoleOf(c.who);
    REGFS_ASSERT_OK(role);
    EXPECT_EQ(*role, c.role) << c.what;
  }
}

// A caller whose groups were not read (a mount's change, fs/caller_cache.h)
// gets a role only where groups cannot matter: root, the owner, a user
// grant, or a store where no group has a grant. Else GroupsUnread, never
// the role without the groups: a group's `none` would be missed.
TEST_F(RoleTest, WithoutGroupsARoleIsDecidedOnlyWhereGroupsCannotMatter) {
  auto unread = [](Identity who) {
    who.groups.clear();
    who.group_names.clear();
    who.groups_known = false;
    return who;
  };
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kAdmin));
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  auto role = reg().RoleOf(unread(User(20003, {30004})));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember) << "no group grant: the default";
  REGFS_EXPECT_OK(reg().CreateAlias(unread(User(20003)), "m", "a", "v0"));

  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30004", Role::kNone));
  const uint64_t seq = Seq();
  EXPECT_EQ(CodeOf(reg().RoleOf(unread(User(20003, {30004})))),
            Code::kGroupsUnread);
  EXPECT_EQ(CodeOf(reg().SetAlias(unread(User(20003)), "m", "a", "v0")),
            Code::kGroupsUnread);
  EXPECT_EQ(CodeOf(reg().CheckTarget(unread(User(20003)), "m", "v0")),
            Code::kGroupsUnread);
  EXPECT_EQ(Seq(), seq) << "a change that needs the groups records nothing";
  // With them, the group's `none` denies.
  EXPECT_EQ(CodeOf(reg().SetAlias(User(20003, {30004}), "m", "a", "v0")),
            Code::kPermissionDenied);

  for (const Identity& who :
       {unread(Root()), unread(Owner()), unread(User(20002))}) {
    role = reg().RoleOf(who);
    REGFS_ASSERT_OK(role);
    EXPECT_EQ(*role, Role::kAdmin) << who.user << ": groups cannot matter";
  }
  REGFS_ASSERT_OK(reg().Revoke(Owner(), "group:30004"));
  role = reg().RoleOf(unread(User(20003, {30004})));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember) << "the last group grant revoked";
}

TEST_F(RoleTest, DefaultRoleIsViewerAndConfigurable) {
  auto def = reg().DefaultRole();
  REGFS_ASSERT_OK(def);
  EXPECT_EQ(*def, Role::kViewer);
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kNone));
  def = reg().DefaultRole();
  REGFS_ASSERT_OK(def);
  EXPECT_EQ(*def, Role::kNone);
  auto nobody = reg().RoleOf(User(20003));
  REGFS_ASSERT_OK(nobody);
  EXPECT_EQ(*nobody, Role::kNone);
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kMember));
  auto everyone = reg().RoleOf(User(20003));
  REGFS_ASSERT_OK(everyone);
  EXPECT_EQ(*everyone, Role::kMember);
  REGFS_EXPECT_OK(PushContent(User(20003), "m", "pushed by anyone"));
  // Root and the owner stay admins whatever the default.
  auto root = reg().RoleOf(Root());
  REGFS_ASSERT_OK(root);
  EXPECT_EQ(*root, Role::kAdmin);
}

TEST_F(RoleTest, NamedGroupGrant) {
  // gid 100 is "users" on Debian; fall back to the decimal gid otherwise.
  const Identity who = User(20020, {100});
  ASSERT_FALSE(who.group_names.empty());
  const std::string group = who.group_names.back();
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:" + group, Role::kMember));
  auto role = reg().RoleOf(who);
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember) << "group:" << group;
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  REGFS_EXPECT_OK(reg().CreateAlias(who, "m", "mine", "v0"));
}

TEST_F(RoleTest, RevokeFallsBackToTheDefault) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  REGFS_ASSERT_OK(reg().Revoke(Owner(), "20002"));
  auto role = reg().RoleOf(User(20002));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kViewer);
  EXPECT_EQ(CodeOf(reg().Revoke(Owner(), "20002")), Code::kNotFound);
  auto roles = reg().ListRoles();
  REGFS_ASSERT_OK(roles);
  for (const RoleGrant& g : *roles) EXPECT_NE(g.principal, "20002");
}

TEST_F(RoleTest, RegrantReplacesTheRole) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kAdmin));
  auto role = reg().RoleOf(User(20002));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kAdmin);
  auto roles = reg().ListRoles();
  REGFS_ASSERT_OK(roles);
  int count = 0;
  for (const RoleGrant& g : *roles) count += g.principal == "20002";
  EXPECT_EQ(count, 1);
}

TEST_F(RoleTest, MalformedPrincipals) {
  for (const char* p : {"", "group:", "a b", "group:a b", "a\nb"}) {
    auto r = reg().Grant(Owner(), p, Role::kMember);
    EXPECT_EQ(CodeOf(r), Code::kInvalidArgument) << "\"" << p << "\"";
  }
  EXPECT_EQ(Seq(), 0u);
}

TEST_F(RoleTest, OwnerAndRootStayAdmins) {
  // Whether the registry refuses these grants or records them, the owner
  // and root keep admin: no one can lock the store's owner out.
  auto demote_owner = reg().Grant(Root(), "10000", Role::kViewer);
  auto demote_root = reg().Grant(Owner(), "root", Role::kViewer);
  (void)demote_owner;
  (void)demote_root;
  auto owner = reg().RoleOf(Owner());
  auto root = reg().RoleOf(Root());
  REGFS_ASSERT_OK(owner);
  REGFS_ASSERT_OK(root);
  EXPECT_EQ(*owner, Role::kAdmin);
  EXPECT_EQ(*root, Role::kAdmin);
}

TEST_F(RoleTest, MemberCannotEscalate) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  EXPECT_EQ(CodeOf(reg().Grant(User(20002), "20002", Role::kAdmin)),
            Code::kPermissionDenied);
  EXPECT_EQ(CodeOf(reg().Grant(User(20002), "*", Role::kAdmin)),
            Code::kPermissionDenied);
  EXPECT_EQ(CodeOf(reg().Revoke(User(20002), "20002")),
            Code::kPermissionDenied);
  auto role = reg().RoleOf(User(20002));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember);
}

TEST_F(RoleTest, UserGrantWinsOverTheDefault) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20005", Role::kViewer));
  auto role = reg().RoleOf(User(20005));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kViewer);
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  EXPECT_EQ(CodeOf(reg().CreateAlias(User(20005), "m", "a", "v0")),
            Code::kPermissionDenied);
}

TEST_F(RoleTest, DemotedAdminLosesPowersAtOnce) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kAdmin));
  REGFS_ASSERT_OK(reg().Protect(User(20001), "production"));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kMember));
  EXPECT_EQ(CodeOf(reg().Unprotect(User(20001), "production")),
            Code::kPermissionDenied);
}

TEST_F(RoleTest, RefusalMessagesSayWhy) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "x"));
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "m", "production", "v0"));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
  auto member = reg().SetAlias(User(20002), "m", "production", "v0");
  // Same target: either a no-op success or the protected refusal; a move
  // to a real new target must be refused with the name and the reason.
  (void)member;
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "y"));
  auto refused = reg().SetAlias(User(20002), "m", "production", "v1");
  ASSERT_EQ(CodeOf(refused), Code::kNotPermitted) << Describe(refused);
  EXPECT_NE(refused.error().message.find("production"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("protected"), std::string::npos)
      << refused.error().message;
  auto viewer = reg().SetAlias(User(20003), "m", "cand", "v1");
  ASSERT_EQ(CodeOf(viewer), Code::kPermissionDenied) << Describe(viewer);
  EXPECT_FALSE(viewer.error().message.empty());
}

}  // namespace
}  // namespace regfs::registry
