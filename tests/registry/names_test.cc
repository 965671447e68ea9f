#include "registry/names.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;

// How a name fares: allowed, malformed (InvalidArgument), or reserved
// (refused, as InvalidArgument or NotPermitted).
enum class Verdict { kOk, kMalformed, kReserved };

struct NameCase {
  std::string name;
  Verdict verdict;
};

std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out.size() > 40
             ? out.substr(0, 20) + "...(" + std::to_string(s.size()) + " bytes)"
             : out;
}

// The cases shared by collection and alias names.
std::vector<NameCase> NameCases() {
  return {
      // Allowed characters and shapes.
      {"models", Verdict::kOk},
      {"a", Verdict::kOk},
      {"Z", Verdict::kOk},
      {"0", Verdict::kOk},
      {"_", Verdict::kOk},
      {"_hidden", Verdict::kOk},
      {"Model_1.2-final", Verdict::kOk},
      {"zoo-dataset", Verdict::kOk},
      {"production-us", Verdict::kOk},
      {"best_model", Verdict::kOk},
      {"a.", Verdict::kOk},
      {"a-", Verdict::kOk},
      {"a..b", Verdict::kOk},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
       Verdict::kOk},
      // Names that merely look like reserved ones.
      {"v", Verdict::kOk},
      {"v1x", Verdict::kOk},
      {"V1x", Verdict::kOk},
      {"vx1", Verdict::kOk},
      {"latest2", Verdict::kOk},
      {"Latest2", Verdict::kOk},
      {"xv1", Verdict::kOk},
      // Length: 128 allowed, 129 not.
      {std::string(128, 'a'), Verdict::kOk},
      {std::string(129, 'a'), Verdict::kMalformed},
      {std::string(1000, 'a'), Verdict::kMalformed},
      // Empty, leading '.' or '-'.
      {"", Verdict::kMalformed},
      {".", Verdict::kMalformed},
      {"..", Verdict::kMalformed},
      {".hidden", Verdict::kMalformed},
      {"-rf", Verdict::kMalformed},
      {"-", Verdict::kMalformed},
      // Separators, NUL, spaces, other ASCII.
      {"a/b", Verdict::kMalformed},
      {"/", Verdict::kMalformed},
      {"a/", Verdict::kMalformed},
      {std::string("ab\0c", 4), Verdict::kMalformed},
      {std::string("\0", 1), Verdict::kMalformed},
      {std::string("abc\0", 4), Verdict::kMalformed},
      {"a b", Verdict::kMalformed},
      {" a", Verdict::kMalformed},
      {"a ", Verdict::kMalformed},
      {"a\tb", Verdict::kMalformed},
      {"a\nb", Verdict::kMalformed},
      {"a:b", Verdict::kMalformed},
      {"a@b", Verdict::kMalformed},
      {"a@{1}", Verdict::kMalformed},
      {"a*", Verdict::kMalformed},
      {"a\\b", Verdict::kMalformed},
      {"a+b", Verdict::kMalformed},
      {"a~", Verdict::kMalformed},
      {"a\x7f", Verdict::kMalformed},
      // Unicode, precomposed and decomposed.
      {"modèle", Verdict::kMalformed},
      {"\xc3\xa9", Verdict::kMalformed},  // é
      {"\xc3\xbc"
       "ber",
       Verdict::kMalformed},                  // über
      {"e\xcc\x81", Verdict::kMalformed},     // e + combining acute
      {"\xff", Verdict::kMalformed},          // not UTF-8 at all
      {"\xef\xbc\xa1", Verdict::kMalformed},  // fullwidth A
      // Reserved.
      {"latest", Verdict::kReserved},
      {"v0", Verdict::kReserved},
      {"v1", Verdict::kReserved},
      {"v12", Verdict::kReserved},
      {"v18446744073709551615", Verdict::kReserved},
      {"v01", Verdict::kReserved},
      // Reserved in any case (DESIGN.md: `V1`, `Latest` too).
      {"V1", Verdict::kReserved},
      {"V0", Verdict::kReserved},
      {"V12", Verdict::kReserved},
      {"V01", Verdict::kReserved},
      {"Latest", Verdict::kReserved},
      {"LATEST", Verdict::kReserved},
      {"lAtEsT", Verdict::kReserved},
  };
}

void CheckVerdict(const Status& status, const NameCase& c,
                  const std::string& what) {
  const std::string label = what + " \"" + Printable(c.name) + "\"";
  switch (c.verdict) {
    case Verdict::kOk:
      EXPECT_TRUE(status.has_value()) << label << ": " << Describe(status);
      break;
    case Verdict::kMalformed:
      EXPECT_EQ(CodeOf(status), Code::kInvalidArgument) << label;
      if (!status.has_value()) {
        EXPECT_FALSE(status.error().message.empty()) << label;
      }
      break;
    case Verdict::kReserved:
      ASSERT_FALSE(status.has_value()) << label << " must be reserved";
      EXPECT_TRUE(status.error().code == Code::kInvalidArgument ||
                  status.error().code == Code::kNotPermitted)
          << label << ": " << Describe(status);
      break;
  }
}

TEST(NamesTest, AliasNames) {
  for (const NameCase& c : NameCases()) {
    CheckVerdict(ValidateAliasName(c.name), c, "alias");
  }
}

TEST(NamesTest, CollectionNames) {
  for (const NameCase& c : NameCases()) {
    CheckVerdict(ValidateCollectionName(c.name), c, "collection");
  }
}

TEST(NamesTest, PlainNamesAllowReservedWords) {
  // ValidateName checks the characters only; reserved words are the
  // business of ValidateAliasName and ValidateCollectionName.
  for (const NameCase& c : NameCases()) {
    NameCase plain = c;
    if (plain.verdict == Verdict::kReserved) plain.verdict = Verdict::kOk;
    CheckVerdict(ValidateName(c.name, "thing"), plain, "name");
  }
}

TEST(NamesTest, MessageNamesWhatWasChecked) {
  auto status = ValidateName("a/b", "collection");
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message.find("collection"), std::string::npos)
      << status.error().message;
}

TEST(NamesTest, ParseVersionName) {
  struct {
    std::string name;
    std::optional<uint64_t> number;
  } cases[] = {
      {"v0", 0},
      {"v1", 1},
      {"v12", 12},
      {"v1000000", 1000000},
      {"v", std::nullopt},
      {"v01", std::nullopt},
      {"v00", std::nullopt},
      {"v1x", std::nullopt},
      {"vx", std::nullopt},
      {"V1", std::nullopt},
      {"1", std::nullopt},
      {"", std::nullopt},
      {"v-1", std::nullopt},
      {"v+1", std::nullopt},
      {"v 1", std::nullopt},
      {" v1", std::nullopt},
      {"v1 ", std::nullopt},
      {"latest", std::nullopt},
      {std::string("v1\0", 3), std::nullopt},
      {"v99999999999999999999999", std::nullopt},  // overflows uint64_t
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseVersionName(c.name), c.number) << Printable(c.name);
  }
}

TEST(NamesTest, VersionNameRoundTrips) {
  for (uint64_t n : {0ull, 1ull, 9ull, 10ull, 12ull, 123456789ull}) {
    const std::string name = VersionName(n);
    EXPECT_EQ(name, "v" + std::to_string(n));
    EXPECT_EQ(ParseVersionName(name), n);
  }
}

TEST(NamesTest, ParseLinkTarget) {
  struct {
    std::string target;
    std::optional<std::string> name;  // nullopt: InvalidArgument
  } cases[] = {
      {"v3", "v3"},
      {"./v3", "v3"},
      {"best", "best"},
      {"./best", "best"},
      {"latest", "latest"},
      {"production-us", "production-us"},
      {"../models/v3", "v3"},
      {"../models/best", "best"},
      // Absolute targets: only the mount knows its mount point and makes
      // one under it relative (fs/link_target.h); the registry refuses all.
      {"/abs/path/models/v3", std::nullopt},
      {"/registry/models/v3", std::nullopt},
      {"/models/v3", std::nullopt},
      {"/elsewhere/models/v1", std::nullopt},
      {"//models//v3", std::nullopt},
      // Leaving the collection, or malformed.
      {"../other/v3", std::nullopt},
      {"../../etc/passwd", std::nullopt},
      {"../../models/v3", std::nullopt},
      {"", std::nullopt},
      {"/etc/passwd", std::nullopt},
      {"/abs/path/other/v3", std::nullopt},
      {"/", std::nullopt},
      {"v3/", std::nullopt},
      {"..", std::nullopt},
      {".", std::nullopt},
      {"./", std::nullopt},
      {"../models", std::nullopt},
      {"../models/", std::nullopt},
      {"/abs/models", std::nullopt},
      {"v3/x", std::nullopt},
      {"../models/v3/x", std::nullopt},
      {".hidden", std::nullopt},
      {"a b", std::nullopt},
      {std::string("v3\0x", 4), std::nullopt},
  };
  for (const auto& c : cases) {
    auto parsed = ParseLinkTarget("models", c.target);
    if (c.name.has_value()) {
      EXPECT_EQ(parsed.value_or("<error: " + Describe(parsed) + ">"), *c.name)
          << "target \"" << Printable(c.target) << "\"";
    } else {
      EXPECT_EQ(CodeOf(parsed), Code::kInvalidArgument)
          << "target \"" << Printable(c.target) << "\" gave "
          << parsed.value_or("<error>");
    }
  }
}

TEST(NamesTest, ParseLinkTargetUsesTheGivenCollection) {
  auto other = ParseLinkTarget("other", "../other/v3");
  EXPECT_EQ(other.value_or("<error: " + Describe(other) + ">"), "v3");
  EXPECT_EQ(CodeOf(ParseLinkTarget("other", "../models/v3")),
            Code::kInvalidArgument);
  // A collection whose name is a prefix of another's.
  EXPECT_EQ(CodeOf(ParseLinkTarget("model", "../models/v3")),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(ParseLinkTarget("models", "/x/amodels/v3")),
            Code::kInvalidArgument);
}

TEST(NamesTest, Tags) {
  EXPECT_TRUE(ValidateTag("gold").has_value());
  EXPECT_TRUE(ValidateTag("release-2024.1").has_value());
  EXPECT_FALSE(ValidateTag("").has_value());
  EXPECT_FALSE(ValidateTag(std::string("a\0b", 3)).has_value());
}

TEST(NamesTest, MetaKeys) {
  EXPECT_TRUE(ValidateMetaKey("accuracy").has_value());
  EXPECT_TRUE(ValidateMetaKey("train.lr").has_value());
  EXPECT_FALSE(ValidateMetaKey("").has_value());
  EXPECT_FALSE(ValidateMetaKey(std::string("a\0b", 3)).has_value());
}

TEST(NamesTest, DraftNames) {
  for (const char* name : {".model.pt", ".d", "..x", ".data.metadata.json"}) {
    EXPECT_TRUE(IsDraftName(name)) << name;
  }
  for (const char* name : {"", ".", "..", "model.pt", ".a/b", "v1"}) {
    EXPECT_FALSE(IsDraftName(name)) << name;
  }
  EXPECT_FALSE(IsDraftName(std::string(".a\0b", 4)));
}

}  // namespace
}  // namespace regfs::registry
