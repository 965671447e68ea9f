// Names ignore case where DESIGN.md says so: reserved names (`V1`,
// `Latest`), protected names (protecting `production` protects
// `Production`), and uniqueness (two aliases of one collection, or two
// collections, may not differ only by case). A store written before these
// rules, holding such names already, still opens and can be cleaned up.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "registry/names.h"
#include "registry/registry.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::User;

// Discards a value, keeping the error.
template <class T>
Status Drop(const Result<T>& r) {
  if (r) return {};
  return std::unexpected(r.error());
}

TEST(CaseNamesTest, EqualsIgnoreCaseFoldsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Production", "production"));
  EXPECT_TRUE(EqualsIgnoreCase("PRODUCTION", "production"));
  EXPECT_TRUE(EqualsIgnoreCase("a-B_c.1", "A-b_C.1"));
  EXPECT_FALSE(EqualsIgnoreCase("production", "productio"));
  EXPECT_FALSE(EqualsIgnoreCase("a_", "a-"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\xa9", "\xc3\x89"));  // é, É
  EXPECT_EQ(ToLowerAscii("Prod-1.X"), "prod-1.x");
}

TEST(CaseNamesTest, IsReservedName) {
  for (const char* name : {"latest", "Latest", "LATEST", "lAtEsT", "v0", "v1",
                           "V1", "V0", "v01", "V01", "V123"}) {
    EXPECT_TRUE(IsReservedName(name)) << name;
  }
  for (const char* name : {"v", "V", "v1x", "V1x", "latest2", "Latest_",
                           "xv1", "vv1", "production"}) {
    EXPECT_FALSE(IsReservedName(name)) << name;
  }
}

class CaseTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(Owner(), "models", fmt::format("w{}", i)));
    }
    REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "candidate", "v0"));
    REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "other", "v1"));
    REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
    REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kMember));
    REGFS_ASSERT_OK(reg().Grant(Owner(), "20003", Role::kAdmin));
  }
  static Identity Member() { return User(20001); }
  static Identity Admin() { return User(20003); }

  size_t VersionCount() {
    auto versions = reg().ListVersions("models");
    EXPECT_TRUE(versions.has_value()) << Describe(versions);
    return versions ? versions->size() : 0;
  }

  // Every way of making alias `name` of models (as `who`), each tried on the
  // store as SetUp left it.
  std::vector<std::pair<std::string, std::function<Status()>>> Makers(
      const Identity& who, const std::string& name) {
    return {
        {"CreateAlias",
         [=, this] {
           return Drop(reg().CreateAlias(who, "models", name, "v1"));
         }},
        {"SetAlias",
         [=, this] {
           return Drop(reg().SetAlias(who, "models", name, "v1"));
         }},
        {"RenameAlias",
         [=, this] {
           return reg().RenameAlias(who, "models", "other", name, true);
         }},
        {"RenameAlias (no replace)",
         [=, this] {
           return reg().RenameAlias(who, "models", "other", name, false);
         }},
        {"Push --alias",
         [=, this] {
           PushRequest request;
           request.collection = "models";
           request.paths = {Source("new.bin", "new weights")};
           request.aliases = {name};
           return Drop(reg().Push(who, request));
         }},
    };
  }
};

TEST_F(CaseTest, ReservedNamesAreRefusedInAnyCase) {
  const uint64_t seq = Seq();
  for (const char* name : {"V1", "V0", "V7", "V01", "Latest", "LATEST"}) {
    for (const auto& [how, make] : Makers(Owner(), name)) {
      auto status = make();
      EXPECT_EQ(CodeOf(status), Code::kInvalidArgument)
          << how << " " << name << ": " << Describe(status);
      if (!status) {
        EXPECT_NE(status.error().message.find("reserved"), std::string::npos)
            << status.error().message;
      }
    }
    EXPECT_EQ(CodeOf(reg().CreateCollection(Owner(), name)),
              Code::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(Seq(), seq) << "a refused name changed the store";
  EXPECT_EQ(VersionCount(), 3u);
}

TEST_F(CaseTest, ExactVersionNamesAndLatestStayNotPermitted) {
  // A change to `latest` or to a version is EPERM through the mount; other
  // spellings are bad names (EINVAL).
  EXPECT_EQ(CodeOf(reg().CreateAlias(Owner(), "models", "latest", "v0")),
            Code::kNotPermitted);
  EXPECT_EQ(CodeOf(reg().CreateAlias(Owner(), "models", "v1", "v0")),
            Code::kNotPermitted);
}

TEST_F(CaseTest, ProtectionIgnoresCaseForMembers) {
  for (const char* name : {"Production", "PRODUCTION", "pRoDuCtIoN"}) {
    for (const auto& [how, make] : Makers(Member(), name)) {
      auto status = make();
      EXPECT_EQ(CodeOf(status), Code::kNotPermitted)
          << how << " " << name << ": " << Describe(status);
      if (!status) {
        EXPECT_NE(status.error().message.find("production"), std::string::npos)
            << status.error().message;
      }
    }
  }
  EXPECT_EQ(VersionCount(), 3u);
  EXPECT_EQ(CodeOf(reg().GetAlias("models", "Production")), Code::kNotFound);
}

TEST_F(CaseTest, ProtectionIgnoresCaseOnExistingAliases) {
  // An admin may create `Production`; it is then protected as `production`.
  REGFS_ASSERT_OK(reg().CreateAlias(Admin(), "models", "Production", "v1"));
  auto alias = reg().GetAlias("models", "Production");
  REGFS_ASSERT_OK(alias);
  EXPECT_TRUE(alias->is_protected);
  auto listed = reg().ListAliases("models");
  REGFS_ASSERT_OK(listed);
  for (const Alias& a : *listed) {
    EXPECT_EQ(a.is_protected, a.name == "Production") << a.name;
  }
  auto past = reg().GetAliasAt("models", "Production", Seq());
  REGFS_ASSERT_OK(past);
  EXPECT_TRUE(past->is_protected);

  const struct {
    const char* what;
    std::function<Status()> change;
  } changes[] = {
      {"move", [&] { return Drop(reg().SetAlias(Member(), "models",
                                                "Production", "v2")); }},
      {"remove",
       [&] { return reg().RemoveAlias(Member(), "models", "Production"); }},
      {"rename away", [&] {
         return reg().RenameAlias(Member(), "models", "Production", "x", false);
       }},
      {"exchange", [&] {
         return reg().ExchangeAliases(Member(), "models", "other",
                                      "Production");
       }},
  };
  for (const auto& c : changes) {
    EXPECT_EQ(CodeOf(c.change()), Code::kNotPermitted) << c.what;
  }
  // The version it names cannot be deleted.
  EXPECT_EQ(CodeOf(reg().DeleteVersion(Owner(), "models", 1)),
            Code::kNotPermitted);
  auto still = reg().GetAlias("models", "Production");
  REGFS_ASSERT_OK(still);
  EXPECT_EQ(still->version, 1u);
}

TEST_F(CaseTest, ProtectingAnotherSpellingIsRefused) {
  const uint64_t seq = Seq();
  for (const char* name : {"production", "Production", "PRODUCTION"}) {
    auto status = reg().Protect(Owner(), name);
    EXPECT_EQ(CodeOf(status), Code::kAlreadyExists) << name;
    if (!status) {
      EXPECT_NE(status.error().message.find("'production'"), std::string::npos)
          << status.error().message;
    }
  }
  EXPECT_EQ(Seq(), seq);
  auto names = reg().ListProtected();
  REGFS_ASSERT_OK(names);
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ(names->front().name, "production");
}

TEST_F(CaseTest, UnprotectIgnoresCase) {
  REGFS_ASSERT_OK(reg().Unprotect(Owner(), "PRODUCTION"));
  auto is = reg().IsProtected("production");
  REGFS_ASSERT_OK(is);
  EXPECT_FALSE(*is);
  const std::vector<Event> events = AllEvents();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, EventType::kUnprotect);
  EXPECT_EQ(events.back().alias, "production");
  EXPECT_EQ(CodeOf(reg().Unprotect(Owner(), "Production")), Code::kNotFound);
}

TEST_F(CaseTest, AliasesMayNotDifferOnlyByCase) {
  const uint64_t seq = Seq();
  for (const char* name : {"CANDIDATE", "Candidate", "candidatE"}) {
    for (const auto& [how, make] : Makers(Owner(), name)) {
      auto status = make();
      EXPECT_EQ(CodeOf(status), Code::kAlreadyExists)
          << how << " " << name << ": " << Describe(status);
      if (!status) {
        EXPECT_NE(status.error().message.find("'candidate'"),
                  std::string::npos)
            << status.error().message;
      }
    }
  }
  EXPECT_EQ(Seq(), seq) << "a refused alias changed the store";
  EXPECT_EQ(VersionCount(), 3u) << "a refused push left a version";
  auto aliases = reg().ListAliases("models");
  REGFS_ASSERT_OK(aliases);
  EXPECT_EQ(aliases->size(), 3u);  // latest, candidate, other
}

TEST_F(CaseTest, AnAliasMayChangeItsOwnCase) {
  REGFS_ASSERT_OK(reg().RenameAlias(Owner(), "models", "candidate",
                                    "Candidate", false));
  auto renamed = reg().GetAlias("models", "Candidate");
  REGFS_ASSERT_OK(renamed);
  EXPECT_EQ(renamed->version, 0u);
  EXPECT_EQ(CodeOf(reg().GetAlias("models", "candidate")), Code::kNotFound);
  // Moving an existing alias is no creation.
  REGFS_EXPECT_OK(reg().SetAlias(Owner(), "models", "Candidate", "v2"));
}

TEST_F(CaseTest, OtherCollectionsMayUseAnotherCase) {
  REGFS_ASSERT_OK(PushContent(Owner(), "other-models", "x"));
  REGFS_EXPECT_OK(reg().CreateAlias(Owner(), "other-models", "CANDIDATE", "v0"));
}

TEST_F(CaseTest, CollectionsMayNotDifferOnlyByCase) {
  const uint64_t seq = Seq();
  for (const char* name : {"Models", "MODELS"}) {
    auto created = reg().CreateCollection(Owner(), name);
    EXPECT_EQ(CodeOf(created), Code::kAlreadyExists) << name;
    if (!created) {
      EXPECT_NE(created.error().message.find("'models'"), std::string::npos)
          << created.error().message;
    }
    EXPECT_EQ(CodeOf(PushContent(Owner(), name, "y")), Code::kAlreadyExists)
        << name;
  }
  EXPECT_EQ(Seq(), seq);
  auto collections = reg().ListCollections();
  REGFS_ASSERT_OK(collections);
  EXPECT_EQ(collections->size(), 1u);
}

// A store written before the case rules: case twins, reserved spellings and
// protected names in two spellings, put there with SQL as an old regfs could.
TEST_F(CaseTest, AStoreWithCaseTwinsStillWorks) {
  registry_.reset();
  {
    auto db = sql::SqliteConnection::Open(store() / "registry.db", false);
    REGFS_ASSERT_OK(db);
    REGFS_ASSERT_OK((*db)->Exec(R"sql(
INSERT INTO aliases (collection_id, name, version_id, revision, updated_ms,
  updated_uid, updated_by)
  SELECT collection_id, 'CANDIDATE', version_id, revision, updated_ms,
         updated_uid, updated_by FROM aliases WHERE name = 'candidate';
INSERT INTO aliases (collection_id, name, version_id, revision, updated_ms,
  updated_uid, updated_by)
  SELECT collection_id, 'V1', version_id, revision, updated_ms,
         updated_uid, updated_by FROM aliases WHERE name = 'candidate';
INSERT INTO protected_names (name, created_ms, created_by)
  VALUES ('Production', 0, 'old');
INSERT INTO collections (name, created_ms, creator_uid, creator)
  VALUES ('MODELS', 0, 0, 'old');
)sql"));
  }
  Reopen();
  auto aliases = reg().ListAliases("models");
  REGFS_ASSERT_OK(aliases);
  EXPECT_EQ(aliases->size(), 5u);
  REGFS_EXPECT_OK(reg().GetCollection("MODELS"));
  // Both twins stay usable; the old reserved spelling can be renamed or
  // removed, not moved.
  REGFS_EXPECT_OK(reg().SetAlias(Owner(), "models", "CANDIDATE", "v2"));
  REGFS_EXPECT_OK(reg().SetAlias(Owner(), "models", "candidate", "v1"));
  EXPECT_EQ(CodeOf(reg().SetAlias(Owner(), "models", "V1", "v2")),
            Code::kInvalidArgument);
  REGFS_EXPECT_OK(reg().RenameAlias(Owner(), "models", "V1", "old-v1", false));
  REGFS_EXPECT_OK(reg().RemoveAlias(Owner(), "models", "CANDIDATE"));
  // Unprotect removes every spelling, each with its event.
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(reg().Unprotect(Owner(), "production"));
  auto protected_names = reg().ListProtected();
  REGFS_ASSERT_OK(protected_names);
  EXPECT_TRUE(protected_names->empty());
  EXPECT_EQ(Seq(), seq + 2);
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());
}

}  // namespace
}  // namespace regfs::registry
