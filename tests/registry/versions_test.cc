// Registry::ListVersionsInFull: every version with its tags, metadata and
// aliases, as GetVersion gives them one by one.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Owner;
using testing::RegistryTest;

using ListVersionsTest = RegistryTest;

TEST_F(ListVersionsTest, InFullMatchesGetVersionForEachVersion) {
  for (int i = 0; i < 3; ++i) {
    PushRequest r;
    r.collection = "models";
    r.paths = {Source("m" + std::to_string(i), "w" + std::to_string(i))};
    if (i != 1) r.tags = {"t" + std::to_string(i), "common"};
    if (i != 2) r.metadata = {{"lr", std::to_string(i)}, {"arch", "bert"}};
    REGFS_ASSERT_OK(reg().Push(Owner(), r));
  }
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "candidate", "v2"));
  // Another collection's tags must not leak in.
  REGFS_ASSERT_OK(PushContent(Owner(), "other", "x"));
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "other", 0, "elsewhere"));

  auto listed = reg().ListVersionsInFull("models");
  REGFS_ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 3u);
  for (const Version& v : *listed) {
    auto one = reg().GetVersion("models", v.number);
    REGFS_ASSERT_OK(one);
    EXPECT_EQ(v.tags, one->tags) << "v" << v.number;
    EXPECT_EQ(v.metadata, one->metadata) << "v" << v.number;
    EXPECT_EQ(v.aliases, one->aliases) << "v" << v.number;
    EXPECT_EQ(v.digest, one->digest) << "v" << v.number;
  }
  EXPECT_EQ((*listed)[0].tags, (std::vector<std::string>{"common", "t0"}));
  EXPECT_EQ((*listed)[1].metadata, (std::map<std::string, std::string>{
                                       {"arch", "bert"}, {"lr", "1"}}));
  EXPECT_EQ((*listed)[2].aliases,
            (std::vector<std::string>{"latest", "candidate"}));
}

TEST_F(ListVersionsTest, InFullOfAnEmptyOrMissingCollection) {
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "empty"));
  auto empty = reg().ListVersionsInFull("empty");
  REGFS_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(CodeOf(reg().ListVersionsInFull("missing")), Code::kNotFound);
}

}  // namespace
}  // namespace regfs::registry
