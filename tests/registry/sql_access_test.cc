// registry/sql/access.h: grants and protected names, called directly on a
// fresh store.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "registry/sql/access.h"
#include "tests/registry/sql_test_util.h"

namespace regfs::registry::testing {
namespace {

using SqlAccessTest = SqlTest;

TEST_F(SqlAccessTest, GrantsArePutReplacedAndDeleted) {
  auto before = sql::ListGrants(db());
  REGFS_ASSERT_OK(before);
  EXPECT_TRUE(before->empty()) << "a fresh store grants nothing";

  struct Step {
    const char* principal;
    std::optional<Role> put;  // nullopt: delete
  };
  const Step steps[] = {
      {"alice", Role::kMember},  {"group:ml", Role::kViewer},
      {"*", Role::kNone},        {"alice", Role::kAdmin},
      {"group:ml", std::nullopt}, {"nobody", std::nullopt},
  };
  std::map<std::string, Role> expected;
  for (const Step& s : steps) {
    if (s.put) {
      REGFS_ASSERT_OK(sql::PutGrant(db(), s.principal, *s.put));
      expected[s.principal] = *s.put;
    } else {
      REGFS_ASSERT_OK(sql::DeleteGrant(db(), s.principal));
      expected.erase(s.principal);
    }
    auto role = sql::GrantedRole(db(), s.principal);
    REGFS_ASSERT_OK(role);
    EXPECT_EQ(*role, s.put) << s.principal;
  }
  auto grants = sql::ListGrants(db());
  REGFS_ASSERT_OK(grants);
  std::vector<std::pair<std::string, Role>> got;
  for (const RoleGrant& g : *grants) got.emplace_back(g.principal, g.role);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, Role>>(expected.begin(),
                                                             expected.end())))
      << "by principal";
}

TEST_F(SqlAccessTest, GrantsAreSeenByTheRegistry) {
  REGFS_ASSERT_OK(sql::PutGrant(db(), "20001", Role::kMember));
  auto role = reg().RoleOf(User(20001));
  REGFS_ASSERT_OK(role);
  EXPECT_EQ(*role, Role::kMember);
}

TEST_F(SqlAccessTest, ProtectedSpellingIgnoresCase) {
  // A store from before protection ignored case may hold "BETA" and "beta".
  for (const char* name : {"Production", "staging", "beta", "BETA"}) {
    REGFS_ASSERT_OK(sql::InsertProtectedName(db(), name, 5, "root"));
  }
  struct Case {
    const char* name;
    std::optional<std::string> spelling;
  };
  const Case cases[] = {
      {"production", "Production"}, {"PRODUCTION", "Production"},
      {"Production", "Production"}, {"Staging", "staging"},
      {"Beta", "BETA"},  // the first in order
      {"prod", std::nullopt},       {"production-eu", std::nullopt},
  };
  for (const Case& c : cases) {
    auto spelling = sql::ProtectedSpelling(db(), c.name);
    REGFS_ASSERT_OK(spelling);
    EXPECT_EQ(*spelling, c.spelling) << c.name;
  }
}

TEST_F(SqlAccessTest, ProtectedNamesAreListedAndDeletedBySpelling) {
  REGFS_ASSERT_OK(sql::InsertProtectedName(db(), "prod", 100, "root"));
  REGFS_ASSERT_OK(sql::InsertProtectedName(db(), "PROD", 200, "alice"));
  REGFS_ASSERT_OK(sql::InsertProtectedName(db(), "gold", 300, "bob"));
  auto list = sql::ListProtectedNames(db());
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "PROD");
  EXPECT_EQ((*list)[0].created, 200);
  EXPECT_EQ((*list)[0].created_by, "alice");
  EXPECT_EQ((*list)[1].name, "gold");
  EXPECT_EQ((*list)[2].name, "prod");

  EXPECT_FALSE(sql::InsertProtectedName(db(), "gold", 400, "x").has_value())
      << "one row per exact spelling";
  REGFS_ASSERT_OK(sql::DeleteProtectedName(db(), "PROD"));
  list = sql::ListProtectedNames(db());
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u) << "only that spelling goes";
  EXPECT_EQ((*list)[1].name, "prod");
  auto reg_list = reg().ListProtected();
  REGFS_ASSERT_OK(reg_list);
  EXPECT_EQ(reg_list->size(), 2u);
}

}  // namespace
}  // namespace regfs::registry::testing
