// ParseSidecar: the keys a `.NAME.metadata.json` sidecar may hold,
// Valohai's synonyms, and what makes one malformed.
#include "registry/sidecar.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

struct ParseCase {
  const char* name;
  const char* json;
  Strings aliases;
  Strings tags;
  std::string description;
  Pairs metadata;  // sorted by key (JSON objects are read in key order)
};

class SidecarParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(SidecarParseTest, Parses) {
  const ParseCase& c = GetParam();
  auto parsed = ParseSidecar(c.json);
  REGFS_ASSERT_OK(parsed);
  EXPECT_EQ(parsed->aliases, c.aliases);
  EXPECT_EQ(parsed->tags, c.tags);
  EXPECT_EQ(parsed->description, c.description);
  EXPECT_EQ(parsed->metadata, c.metadata);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SidecarParseTest,
    ::testing::Values(
        ParseCase{"Empty", "{}", {}, {}, "", {}},
        ParseCase{"Regfs",
                  R"({"aliases": ["prod-us", "prod-eu"], "tags": ["t1"],
                      "description": "the model"})",
                  {"prod-us", "prod-eu"},
                  {"t1"},
                  "the model",
                  {}},
        ParseCase{"ValohaiAliasString",
                  R"({"valohai.alias": "model-prod"})",
                  {"model-prod"},
                  {},
                  "",
                  {}},
        ParseCase{"ValohaiAliasListAndTags",
                  R"({"valohai.alias": ["a", "b"], "valohai.tags": ["x"]})",
                  {"a", "b"},
                  {"x"},
                  "",
                  {}},
        ParseCase{"OtherKeysAreMetadata",
                  R"({"framework": "torch", "epochs": 12,
                      "metrics": {"acc": 0.5}, "ok": true})",
                  {},
                  {},
                  "",
                  {{"epochs", "12"},
                   {"framework", "torch"},
                   {"metrics", R"({"acc":0.5})"},
                   {"ok", "true"}}}),
    [](const auto& info) { return std::string(info.param.name); });

struct BadCase {
  const char* name;
  const char* json;
  const char* says;  // a part of the message
};

class SidecarRefuseTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SidecarRefuseTest, IsInvalidArgumentNamingTheProblem) {
  const BadCase& c = GetParam();
  auto parsed = ParseSidecar(c.json);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Code::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find(c.says), std::string::npos)
      << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SidecarRefuseTest,
    ::testing::Values(
        BadCase{"NotJson", "{\"aliases\": [", "not valid JSON"},
        BadCase{"NotAnObject", "[1, 2]", "JSON object"},
        BadCase{"AliasesString", R"({"aliases": "prod"})", "\"aliases\""},
        BadCase{"AliasesOfNumbers", R"({"aliases": [1]})", "\"aliases\""},
        BadCase{"TagsString", R"({"tags": "x"})", "\"tags\""},
        BadCase{"ValohaiTagsString", R"({"valohai.tags": "x"})",
                "\"valohai.tags\""},
        BadCase{"ValohaiAliasNumber", R"({"valohai.alias": 3})",
                "\"valohai.alias\""},
        BadCase{"DescriptionList", R"({"description": ["a"]})",
                "\"description\""}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace regfs::registry
