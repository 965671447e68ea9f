// Registry::Search (issue 16): each kind of match, ASCII case ignored, a
// term taken literally (LIKE's wildcards escaped), refusal without a role,
// deleted versions left out, the cap per group, and the JSON wire form.
// A RegistryTest: it runs again on PostgreSQL as registry_pg.SearchTest.*.
#include "registry/search.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "registry/model_json.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "registry/sql/search.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::User;
using testing::WriteFile;

class SearchTest : public RegistryTest {
 protected:
  // Pushes `request` (its paths made by the caller) as the owner.
  Version Push(PushRequest request) {
    auto v = reg().Push(Owner(), request);
    EXPECT_TRUE(v.has_value()) << Describe(v);
    return v.value_or(Version{});
  }

  // A file version of `collection` pushed as `filename`, with `content`.
  Version PushFile(const std::string& collection, const std::string& filename,
                   PushRequest request = {}) {
    request.collection = collection;
    request.paths = {Source(filename, collection + "/" + filename)};
    return Push(std::move(request));
  }

  SearchResults Find(std::string_view term, SearchOptions options = {}) {
    auto results = reg().Search(Owner(), term, options);
    EXPECT_TRUE(results.has_value()) << term << ": " << Describe(results);
    return results.value_or(SearchResults{});
  }

  // The hits of `field` for `term`, each as "collection/vN text"
  // ("collection text" without a version; metadata "key=text").
  std::vector<std::string> Hits(std::string_view term, SearchField field) {
    std::vector<std::string> out;
    const SearchResults results = Find(term);
    for (const SearchGroup& group : results.groups) {
      if (group.field != field) continue;
      for (const SearchHit& hit : group.hits) {
        std::string line = hit.collection;
        if (hit.version) line += "/" + VersionName(*hit.version);
        line += " " + (hit.key.empty() ? "" : hit.key + "=") + hit.text;
        out.push_back(line);
      }
    }
    return out;
  }

  // How many hits each group has for `term`, in kSearchFields' order.
  std::vector<size_t> Counts(std::string_view term) {
    std::vector<size_t> out;
    const SearchResults results = Find(term);
    for (const SearchGroup& group : results.groups) {
      out.push_back(group.hits.size());
    }
    return out;
  }
};

using Strings = std::vector<std::string>;

TEST_F(SearchTest, FindsCollectionsWithTheirNewestVersionAndItsAliases) {
  PushFile("resnet", "a.bin");
  PushFile("resnet", "b.bin");
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "resnet", "prod", "v1"));
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "resnet-empty"));
  const SearchResults results = Find("resnet");
  ASSERT_EQ(results.groups.size(), std::size(kSearchFields));
  const SearchGroup& collections = results.groups[0];
  EXPECT_EQ(collections.field, SearchField::kCollection);
  ASSERT_EQ(collections.hits.size(), 2u);
  EXPECT_EQ(collections.hits[0].collection, "resnet");
  EXPECT_EQ(collections.hits[0].version, std::optional<uint64_t>(1));
  EXPECT_EQ(collections.hits[0].aliases, (Strings{"latest", "prod"}));
  EXPECT_EQ(collections.hits[1].collection, "resnet-empty");
  EXPECT_EQ(collections.hits[1].version, std::nullopt);
  EXPECT_TRUE(collections.hits[1].aliases.empty());
  EXPECT_EQ(collections.more, 0u);
}

TEST_F(SearchTest, FindsAliasesButNotLatest) {
  PushFile("models", "m.bin");
  PushFile("models", "m.bin");
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "production", "v0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "staging", "v1"));
  EXPECT_EQ(Hits("product", SearchField::kAlias),
            (Strings{"models/v0 production"}));
  EXPECT_TRUE(Hits("latest", SearchField::kAlias).empty());
  const SearchResults results = Find("staging");
  ASSERT_EQ(results.groups[1].hits.size(), 1u);
  EXPECT_EQ(results.groups[1].hits[0].aliases, (Strings{"latest", "staging"}));
}

TEST_F(SearchTest, FindsTags) {
  PushRequest request;
  request.tags = {"baseline", "resnet50"};
  PushFile("models", "m.bin", request);
  PushFile("models", "m.bin");
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "models", 1, "candidate-base"));
  EXPECT_EQ(Hits("base", SearchField::kTag),
            (Strings{"models/v0 baseline", "models/v1 candidate-base"}));
}

TEST_F(SearchTest, FindsMetadataByKeyOrValue) {
  PushRequest request;
  request.metadata = {{"arch", "resnet50"}, {"dataset", "imagenet"}};
  PushFile("models", "m.bin", request);
  EXPECT_EQ(Hits("arch", SearchField::kMetadata),
            (Strings{"models/v0 arch=resnet50"}));
  EXPECT_EQ(Hits("image", SearchField::kMetadata),
            (Strings{"models/v0 dataset=imagenet"}));
  EXPECT_EQ(Hits("a", SearchField::kMetadata),
            (Strings{"models/v0 arch=resnet50", "models/v0 dataset=imagenet"}));
}

TEST_F(SearchTest, FindsDescriptions) {
  PushRequest request;
  request.description = "Fine-tuned on the March crawl";
  PushFile("models", "m.bin", request);
  PushFile("models", "m.bin");
  EXPECT_EQ(Hits("march", SearchField::kDescription),
            (Strings{"models/v0 Fine-tuned on the March crawl"}));
}

TEST_F(SearchTest, CutsALongTextAroundTheMatch) {
  PushRequest request;
  request.description =
      std::string(500, 'a') + " the NEEDLE here " + std::string(500, 'z');
  PushFile("models", "m.bin", request);
  const SearchResults results = Find("needle");
  const SearchGroup& descriptions = results.groups[4];
  ASSERT_EQ(descriptions.hits.size(), 1u);
  const std::string& text = descriptions.hits[0].text;
  EXPECT_LE(text.size(), kSearchMaxTextBytes + 6);
  EXPECT_TRUE(text.starts_with("...aaa")) << text;
  EXPECT_TRUE(text.ends_with("zzz...")) << text;
  EXPECT_NE(text.find("the NEEDLE here"), std::string::npos) << text;
}

TEST_F(SearchTest, FindsFileNamesOfFilesAndInsideTrees) {
  PushFile("models", "weights.safetensors");
  const fs::path tree = src() / "checkpoint";
  WriteFile(tree / "config.json", "{}");
  WriteFile(tree / "shards" / "weights-00001.bin", "1");
  PushRequest request;
  request.collection = "bundles";
  request.paths = {tree};
  Push(request);
  EXPECT_EQ(Hits("weights", SearchField::kFile),
            (Strings{"bundles/v0 shards/weights-00001.bin",
                     "models/v0 weights.safetensors"}));
  EXPECT_EQ(Hits("shard", SearchField::kFile), (Strings{"bundles/v0 shards/"}));
  EXPECT_EQ(Hits("checkpoint", SearchField::kFile),
            (Strings{"bundles/v0 checkpoint"}));
}

TEST_F(SearchTest, IgnoresAsciiCase) {
  PushRequest request;
  request.tags = {"Baseline"};
  request.metadata = {{"Arch", "ResNet"}};
  request.description = "TRAINED LONGER";
  PushFile("Vision", "Model.BIN", request);
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "Vision", "PROD", "v0"));
  EXPECT_EQ(Counts("vision"), (std::vector<size_t>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Counts("prod"), (std::vector<size_t>{0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(Counts("BASELINE"), (std::vector<size_t>{0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(Counts("aRcH"), (std::vector<size_t>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(Counts("resnet"), (std::vector<size_t>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(Counts("trained"), (std::vector<size_t>{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(Counts("model.bin"), (std::vector<size_t>{0, 0, 0, 0, 0, 1}));
}

TEST_F(SearchTest, TakesWildcardsLiterally) {
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "a_b"));
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "axb"));
  for (const char* description :
       {"top-1 50% on val", "top-1 50 percent", "path c:\\data", "path c:/x"}) {
    PushRequest request;
    request.description = description;
    PushFile("evals", "e.bin", request);
  }
  EXPECT_EQ(Hits("a_b", SearchField::kCollection), (Strings{"a_b a_b"}));
  EXPECT_EQ(Hits("_", SearchField::kCollection), (Strings{"a_b a_b"}));
  EXPECT_EQ(Hits("50%", SearchField::kDescription),
            (Strings{"evals/v0 top-1 50% on val"}));
  EXPECT_EQ(Hits("%", SearchField::kDescription),
            (Strings{"evals/v0 top-1 50% on val"}));
  EXPECT_EQ(Hits("\\", SearchField::kDescription),
            (Strings{"evals/v2 path c:\\data"}));
  EXPECT_EQ(Hits(":\\d", SearchField::kDescription),
            (Strings{"evals/v2 path c:\\data"}));
}

TEST_F(SearchTest, LeavesOutDeletedVersions) {
  PushRequest request;
  request.tags = {"doomed"};
  request.metadata = {{"note", "doomed"}};
  request.description = "doomed";
  PushFile("models", "doomed.bin", request);
  PushFile("models", "kept.bin");
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "doomed-alias", "v0"));
  EXPECT_EQ(Counts("doomed"), (std::vector<size_t>{0, 1, 1, 1, 1, 1}));
  // An alias on it goes with the version (DeleteVersion).
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 0));
  EXPECT_EQ(Counts("doomed"), (std::vector<size_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Hits("kept", SearchField::kFile), (Strings{"models/v1 kept.bin"}));
}

TEST_F(SearchTest, NeedsTheReadRole) {
  PushFile("models", "m.bin");
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kNone));
  auto refused = reg().Search(User(20001), "models");
  ASSERT_EQ(CodeOf(refused), Code::kPermissionDenied);
  // The same refusal as any read through the mount.
  const Status read = reg().Authorize(User(20001), Action::Read());
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(refused.error().message, read.error().message);
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kViewer));
  auto viewer = reg().Search(User(20002), "models");
  REGFS_ASSERT_OK(viewer);
  EXPECT_EQ(viewer->groups[0].hits.size(), 1u);
}

TEST_F(SearchTest, RefusesAnEmptyTermAndABadLimit) {
  EXPECT_EQ(CodeOf(reg().Search(Owner(), "")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().Search(Owner(), std::string("a\0b", 3))),
            Code::kInvalidArgument);
  EXPECT_EQ(
      CodeOf(reg().Search(Owner(), std::string(kSearchMaxTermBytes + 1, 'a'))),
      Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().Search(Owner(), "a", {.limit = 0})),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().Search(Owner(), "a", {.limit = kSearchMaxLimit + 1})),
            Code::kInvalidArgument);
}

TEST_F(SearchTest, CapsEachGroupAndCountsTheRest) {
  for (int i = 0; i < 5; ++i) {
    PushRequest request;
    request.tags = {"bulk"};
    PushFile("models", "m.bin", request);
  }
  const SearchResults results = Find("bulk", {.limit = 2});
  EXPECT_EQ(results.limit, 2u);
  const SearchGroup& tags = results.groups[2];
  ASSERT_EQ(tags.hits.size(), 2u);
  EXPECT_EQ(tags.hits[0].version, std::optional<uint64_t>(0));
  EXPECT_EQ(tags.hits[1].version, std::optional<uint64_t>(1));
  EXPECT_EQ(tags.more, 3u);
  EXPECT_EQ(Find("bulk", {.limit = 5}).groups[2].more, 0u);
}

TEST_F(SearchTest, JsonRoundTrips) {
  PushRequest request;
  request.metadata = {{"arch", "resnet"}};
  request.tags = {"resnet"};
  PushFile("resnet", "resnet.bin", request);
  const SearchResults results = Find("resnet");
  const OrderedJson json = ToJson(results);
  EXPECT_EQ(json.at("groups").at(3).at("field"), "metadata");
  EXPECT_EQ(json.at("groups").at(3).at("hits").at(0).at("key"), "arch");
  EXPECT_EQ(json.at("groups").at(0).at("hits").at(0).at("version"), "v0");
  auto back = SearchResultsFromJson(json);
  REGFS_ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), json);
  EXPECT_EQ(CodeOf(SearchResultsFromJson(OrderedJson::parse("{}"))),
            Code::kInvalidArgument);
}

// The pattern's escaping alone (no store).
TEST(SqlSearchTest, ContainsPatternEscapesWildcardsAndItsEscape) {
  EXPECT_EQ(sql::ContainsPattern("abc"), "%abc%");
  EXPECT_EQ(sql::ContainsPattern("50%"), "%50\\%%");
  EXPECT_EQ(sql::ContainsPattern("a_b"), "%a\\_b%");
  EXPECT_EQ(sql::ContainsPattern("c:\\d"), "%c:\\\\d%");
}

}  // namespace
}  // namespace regfs::registry
