// ParseMoment and ParseTime on calendar dates: what `--at`, `--as-of` and
// `history --since` accept, and the impossible dates they refuse.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "registry/history.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;

TEST(ParseMomentTest, AcceptedForms) {
  const struct {
    std::string_view text;
    Moment::Kind kind;
    uint64_t value;
  } cases[] = {
      {"now", Moment::Kind::kNow, 0},
      {"0", Moment::Kind::kEvent, 0},
      {"42", Moment::Kind::kEvent, 42},
      {"2026-02-28", Moment::Kind::kTime, 1772236800000},
      {"2024-02-29", Moment::Kind::kTime, 1709164800000},  // a leap year
      {"2026-12-31T23:59:59Z", Moment::Kind::kTime, 1798761599000},
      {"@60", Moment::Kind::kTime, 60000},
  };
  for (const auto& c : cases) {
    auto m = ParseMoment(c.text);
    ASSERT_TRUE(m.has_value()) << c.text << ": " << Describe(m);
    EXPECT_EQ(m->kind, c.kind) << c.text;
    EXPECT_EQ(m->value, c.value) << c.text;
  }
}

TEST(ParseMomentTest, ImpossibleDatesAreRefusedByName) {
  const struct {
    std::string_view text;
    std::string_view why;  // part of the message
  } cases[] = {
      {"2026-02-30", "2026-02 has no day 30"},
      {"2026-02-29", "2026-02 has no day 29"},  // not a leap year
      {"2100-02-29T00:00Z", "2100-02 has no day 29"},
      {"2026-04-31T12:00:00Z", "2026-04 has no day 31"},
      {"2026-06-31", "2026-06 has no day 31"},
  };
  for (const auto& c : cases) {
    for (bool moment : {false, true}) {
      Error error{Code::kNotFound, "parsed"};
      if (moment) {
        if (auto m = ParseMoment(c.text); !m) error = m.error();
      } else if (auto t = ParseTime(c.text); !t) {
        error = t.error();
      }
      EXPECT_EQ(error.code, Code::kInvalidArgument) << c.text;
      EXPECT_NE(error.message.find(c.why), std::string::npos)
          << c.text << ": " << error.message;
      EXPECT_NE(error.message.find(c.text), std::string::npos)
          << "names the input: " << error.message;
    }
  }
}

TEST(ParseMomentTest, GarbageIsRefused) {
  for (std::string_view text :
       {"", "Now", "yesterday", "-1", "1.5", "2026-13-01", "2026-00-10",
        "2026-01-00", "v3", "@x"}) {
    EXPECT_EQ(CodeOf(ParseMoment(text)), Code::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace regfs::registry
