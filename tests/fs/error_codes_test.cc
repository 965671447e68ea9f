// fs/error_codes.h against DESIGN.md's errno table, the contract a shell
// user relies on. The first test maps every registry::Code; the second
// drives each refusal of the table through the registry, as the mount's
// callers would make it, and checks the errno the mount would answer. The
// mount tests check the same through the kernel, but only as root.
//
// EROFS (.regfs/at/, alias@{N}, a frozen mount) is decided by fs/ itself,
// before any registry call; tests/fs/past_test.cc and frozen_test.cc
// check it through the mount.
#include "fs/error_codes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/registry.h"
#include "tests/fs/temp_store.h"

namespace regfs::fs {
namespace {

using registry::Code;
using registry::Error;
using registry::Identity;
using registry::Registry;
using registry::Role;
using registry::Status;
using testing::Admin;
using testing::Caller;
using testing::kMemberUid;
using testing::kViewerUid;
using testing::TempStore;

std::string ErrnoName(int err) {
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

TEST(ErrorCodesTest, EveryCodeHasItsErrno) {
  struct {
    Code code;
    int err;
    bool failure;  // logged at warn: the store or the system failed
  } cases[] = {
      {Code::kNotFound, ENOENT, false},
      {Code::kAlreadyExists, EEXIST, false},
      {Code::kPermissionDenied, EACCES, false},
      {Code::kNotPermitted, EPERM, false},
      {Code::kInvalidArgument, EINVAL, false},
      {Code::kConflict, EBUSY, false},
      {Code::kCorruption, EIO, true},
      {Code::kIoError, EIO, true},
  };
  for (const auto& c : cases) {
    const Error error{c.code, "why"};
    EXPECT_EQ(ErrnoName(ErrnoOf(error)), ErrnoName(c.err))
        << registry::CodeName(c.code);
    EXPECT_EQ(IsFailure(error), c.failure) << registry::CodeName(c.code);
  }
}

constexpr uid_t kNoRoleUid = 20003;

// A change's outcome without its value (GCC 12's std::expected has no
// transform).
template <class T>
Status StatusOf(const registry::Result<T>& result) {
  if (result.has_value()) return {};
  return std::unexpected(result.error());
}

// A store with models/v0 and v1, `production` (protected) naming v0 and
// `candidate` naming v1; 20001 is a member, 20002 a viewer by default and
// 20003 has role none.
class DesignErrnoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok());
    v0_ = store_.PushFile("models", "model.pt", "weights 0");
    v1_ = store_.PushFile("models", "model.pt", "weights 1");
    store_.PushFile("other", "model.pt", "weights of another collection");
    ASSERT_FALSE(::testing::Test::HasFailure());
    Registry& reg = store_.reg();
    for (const Status& s :
         {StatusOf(reg.SetAlias(Admin(), "models", "production", "v0")),
          StatusOf(reg.SetAlias(Admin(), "models", "candidate", "v1")),
          reg.Protect(Admin(), "production"),
          reg.Grant(Admin(), "20001", Role::kMember),
          reg.Grant(Admin(), "20003", Role::kNone)}) {
      ASSERT_TRUE(s.has_value()) << s.error().message;
    }
  }

  Registry& reg() { return store_.reg(); }

  TempStore store_;
  registry::Version v0_;
  registry::Version v1_;
};

using Change = std::function<Status(Registry&)>;

Change SetAlias(const Identity& who, const char* alias, const char* target) {
  return [=](Registry& reg) {
    return StatusOf(reg.SetAlias(who, "models", alias, target));
  };
}
Change CreateAlias(const Identity& who, const char* alias, const char* target) {
  return [=](Registry& reg) {
    return StatusOf(reg.CreateAlias(who, "models", alias, target));
  };
}
Change RemoveAlias(const Identity& who, const char* alias) {
  return [=](Registry& reg) { return reg.RemoveAlias(who, "models", alias); };
}
Change RenameAlias(const Identity& who, const char* from, const char* to) {
  return [=](Registry& reg) {
    return reg.RenameAlias(who, "models", from, to, true);
  };
}
Change CreateCollection(const Identity& who, const char* name) {
  return
      [=](Registry& reg) { return StatusOf(reg.CreateCollection(who, name)); };
}

TEST_F(DesignErrnoTest, EachRefusalOfTheTableHasItsErrno) {
  const Identity member = Caller(kMemberUid);
  const Identity viewer = Caller(kViewerUid);
  const Identity no_role = Caller(kNoRoleUid);
  struct {
    const char* design_case;
    Change change;
    int err;
  } cases[] = {
      {"viewer moves an alias", SetAlias(viewer, "candidate", "v0"), EACCES},
      {"viewer creates an alias", CreateAlias(viewer, "new", "v0"), EACCES},
      {"viewer removes an alias", RemoveAlias(viewer, "candidate"), EACCES},
      {"viewer renames an alias", RenameAlias(viewer, "candidate", "c2"),
       EACCES},
      {"viewer makes a collection", CreateCollection(viewer, "fresh"), EACCES},
      {"no role moves an alias", SetAlias(no_role, "candidate", "v0"), EACCES},
      {"no role makes a collection", CreateCollection(no_role, "fresh"),
       EACCES},
      {"member moves a protected alias", SetAlias(member, "production", "v1"),
       EPERM},
      {"member removes a protected alias", RemoveAlias(member, "production"),
       EPERM},
      {"member renames onto a protected alias",
       RenameAlias(member, "candidate", "production"), EPERM},
      {"member moves latest", SetAlias(member, "latest", "v0"), EPERM},
      {"member removes latest", RemoveAlias(member, "latest"), EPERM},
      {"admin moves latest", SetAlias(Admin(), "latest", "v0"), EPERM},
      {"member renames onto latest", RenameAlias(member, "candidate", "latest"),
       EPERM},
      {"target names no version", SetAlias(member, "candidate", "v9"), ENOENT},
      {"target is no alias", SetAlias(member, "candidate", "nosuch"), ENOENT},
      {"target in another collection",
       SetAlias(member, "candidate", "../other/v0"), EINVAL},
      {"malformed target", SetAlias(member, "candidate", "v1/../v0"), EINVAL},
      {"absolute target", SetAlias(member, "candidate", "/models/v0"), EINVAL},
      {"bad alias name", SetAlias(member, "bad name", "v0"), EINVAL},
      {"alias name with a slash", SetAlias(member, "a/b", "v0"), EINVAL},
      {"bad collection name", CreateCollection(member, "a/b"), EINVAL},
  };
  for (const auto& c : cases) {
    const Status s = c.change(reg());
    ASSERT_FALSE(s.has_value()) << c.design_case << ": allowed";
    EXPECT_EQ(ErrnoName(ErrnoOf(s.error())), ErrnoName(c.err))
        << c.design_case << ": " << registry::CodeName(s.error().code) << ": "
        << s.error().message;
    EXPECT_FALSE(IsFailure(s.error())) << c.design_case;
  }
  // Nothing was changed by any of them.
  auto production = reg().GetAlias("models", "production");
  ASSERT_TRUE(production.has_value());
  EXPECT_EQ(production->version, v0_.number);
  auto candidate = reg().GetAlias("models", "candidate");
  ASSERT_TRUE(candidate.has_value());
  EXPECT_EQ(candidate->version, v1_.number);
}

// A blob whose bytes do not match its digest: EIO, logged at warn.
TEST_F(DesignErrnoTest, ACorruptBlobIsEio) {
  const std::filesystem::path blob = reg().BlobPath(v0_.blob);
  ASSERT_EQ(::chmod(blob.c_str(), 0644), 0) << std::strerror(errno);
  std::ofstream(blob, std::ios::binary | std::ios::trunc) << "weights X";
  auto fd = reg().OpenBlob(v0_.blob);
  ASSERT_FALSE(fd.has_value()) << "a corrupt blob was served";
  EXPECT_EQ(ErrnoName(ErrnoOf(fd.error())), ErrnoName(EIO))
      << fd.error().message;
  EXPECT_TRUE(IsFailure(fd.error()));
  const Status verified = reg().VerifyVersion("models", v0_.number);
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(ErrnoName(ErrnoOf(verified.error())), ErrnoName(EIO));
  EXPECT_TRUE(IsFailure(verified.error()));
}

}  // namespace
}  // namespace regfs::fs
