// The rules of a moment in a view of the past (issue #11, item 9): what an
// event number, a time and `now` name in the live registry and in a view
// frozen at an event, that the future is refused, that `name@{N}` counts
// back from the view's moment, and that a frozen history ends there.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Owner;

// models: v0, v1, v2; prod created on v0, moved to v1 (the frozen moment),
// then to v2. Each move is a few milliseconds after the one before, so
// that their times name them apart.
class MomentTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(Owner(), "models", "m" + std::to_string(i)));
    }
    pushed_seq_ = Seq();
    REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "prod", "v0"));
    created_ = Seq();
    Pause();
    REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v1"));
    frozen_ = Seq();
    Pause();
    REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v2"));
    last_ = Seq();
    for (const Event& e : AllEvents()) times_.push_back(e.time);
  }
  static void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }
  TimeMs TimeOf(uint64_t seq) const { return times_.at(seq - 1); }

  uint64_t pushed_seq_ = 0;
  uint64_t created_ = 0;
  uint64_t frozen_ = 0;
  uint64_t last_ = 0;
  std::vector<TimeMs> times_;  // by seq - 1
};

struct MomentCase {
  std::string what;
  std::string point;
  bool frozen = false;              // in the view frozen at frozen_
  std::optional<uint64_t> seq;      // expected; nullopt: refused
  std::optional<Code> code;         // the refusal's code
  std::string message;              // a part of the refusal's message
};

TEST_F(MomentTest, SeqAtRefusesTheViewsFuture) {
  const std::string frozen = std::to_string(frozen_);
  const std::string later = std::to_string(frozen_ + 1);
  const std::string beyond = std::to_string(last_ + 1);
  const std::vector<MomentCase> cases = {
      {"now, live", "now", false, last_, {}, ""},
      {"now, frozen: the view's moment", "now", true, frozen_, {}, ""},
      {"an event before it", "1", true, 1u, {}, ""},
      {"the moment itself", frozen, true, frozen_, {}, ""},
      {"a later event, live", later, false, frozen_ + 1, {}, ""},
      {"a later event, frozen", later, true, {}, Code::kNotFound,
       "frozen at"},
      {"past the newest, live", beyond, false, {}, Code::kNotFound,
       "in the future"},
      {"past the newest, frozen", beyond, true, {}, Code::kNotFound,
       "in the future"},
      {"a time in the future, live", "2099-01-01", false, {},
       Code::kNotFound, "in the future"},
      {"a time in the future, frozen", "2099-01-01T00:00:00Z", true, {},
       Code::kNotFound, "in the future"},
      {"@SECONDS in the future", "@4102444800", false, {}, Code::kNotFound,
       "in the future"},
      {"before every event", "2000-01-01", true, 0u, {}, ""},
      {"the moment's time", FormatTime(TimeOf(frozen_)), true, frozen_, {},
       ""},
      {"the last move's time, live", FormatTime(TimeOf(last_)), false, last_,
       {}, ""},
      {"the last move's time, frozen", FormatTime(TimeOf(last_)), true, {},
       Code::kNotFound, "frozen at"},
      {"not a moment", "yesterday", true, {}, Code::kInvalidArgument, ""},
  };
  for (const MomentCase& c : cases) {
    SCOPED_TRACE(c.what + " (" + c.point + ")");
    auto seq = reg().SeqAt(
        c.point, c.frozen ? std::optional<uint64_t>(frozen_) : std::nullopt);
    if (c.seq) {
      REGFS_EXPECT_OK(seq);
      if (seq) {
        EXPECT_EQ(*seq, *c.seq);
      }
      continue;
    }
    ASSERT_FALSE(seq.has_value()) << *seq;
    EXPECT_EQ(seq.error().code, *c.code);
    EXPECT_NE(seq.error().message.find(c.message), std::string::npos)
        << seq.error().message;
  }
}

TEST_F(MomentTest, AliasBeforeCountsBackFromTheMoment) {
  struct Case {
    std::optional<uint64_t> at;
    uint64_t back;
    std::optional<uint64_t> version;  // nullopt: NotFound
  };
  const std::vector<Case> cases = {
      {std::nullopt, 0, 2u}, {std::nullopt, 1, 1u}, {std::nullopt, 2, 0u},
      {frozen_, 0, 1u},      {frozen_, 1, 0u},      {frozen_, 2, std::nullopt},
      {created_, 0, 0u},     {created_, 1, std::nullopt},
      {pushed_seq_, 0, std::nullopt},  // prod did not exist yet
      {last_ + 100, 1, 1u},            // past the newest: now
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "prod@{" << c.back << "} at "
                 << (c.at ? std::to_string(*c.at) : "now"));
    auto a = reg().GetAliasBefore("models", "prod", c.back, c.at);
    if (!c.version) {
      EXPECT_EQ(CodeOf(a), Code::kNotFound);
      continue;
    }
    REGFS_ASSERT_OK(a);
    EXPECT_EQ(a->version, *c.version);
  }
  auto latest = reg().GetAliasBefore("models", "latest", 1, pushed_seq_ - 1);
  REGFS_ASSERT_OK(latest);
  EXPECT_EQ(latest->version, 0u) << "latest one push before the third";
  auto early = reg().GetAliasBefore("models", "prod", 3, frozen_);
  ASSERT_FALSE(early.has_value());
  EXPECT_NE(early.error().message.find("by event " + std::to_string(frozen_)),
            std::string::npos)
      << early.error().message;
}

TEST_F(MomentTest, HistoryEndsAtUntilSeq) {
  HistoryFilter filter;
  filter.until_seq = frozen_;
  auto events = reg().History(filter);
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), frozen_) << "every event up to the moment";
  EXPECT_EQ(events->back().seq, frozen_);
  filter.collection = "models";
  filter.alias = "prod";
  events = reg().History(filter);
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().seq, frozen_);
  HistoryFilter before_all;
  before_all.until_seq = 0;
  events = reg().History(before_all);
  REGFS_ASSERT_OK(events);
  EXPECT_TRUE(events->empty()) << "frozen before the first event";
}

}  // namespace
}  // namespace regfs::registry
