// web/timeline.h: lanes rebuilt from a collection's history, and their
// SVG picture.
#include "web/timeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace regfs::web {
namespace {

namespace reg = regfs::registry;
using ::testing::HasSubstr;
using ::testing::Not;

// Builds a history with consecutive sequence numbers, a second apart.
class History {
 public:
  History& Add(reg::EventType type, std::string collection,
               std::string alias = {}, std::optional<uint64_t> old_v = {},
               std::optional<uint64_t> new_v = {}, std::string user = "alice",
               std::string renamed_to = {}) {
    reg::Event e;
    e.seq = events_.size() + 1;
    e.time = 1'796'000'000'000 + static_cast<reg::TimeMs>(e.seq) * 1000;
    e.type = type;
    e.collection = std::move(collection);
    e.alias = std::move(alias);
    e.old_version = old_v;
    e.new_version = new_v;
    e.user = std::move(user);
    e.renamed_to = std::move(renamed_to);
    events_.push_back(std::move(e));
    return *this;
  }
  History& Version(std::string collection, uint64_t number) {
    return Add(reg::EventType::kVersionCreate, std::move(collection), {}, {},
               number);
  }
  const std::vector<reg::Event>& events() const { return events_; }

 private:
  std::vector<reg::Event> events_;
};

using T = reg::EventType;

std::vector<std::optional<uint64_t>> Versions(const TimelineLane& lane) {
  std::vector<std::optional<uint64_t>> out;
  for (const TimelineStep& s : lane.steps) out.push_back(s.version);
  return out;
}

TEST(BuildTimelineTest, OneLanePerAliasWithAStepAtEachChange) {
  History h;
  h.Add(T::kCollectionCreate, "models")
      .Version("models", 0)
      .Add(T::kAliasCreate, "models", "production", {}, 0, "bob")
      .Version("models", 1)
      .Add(T::kCollectionCreate, "other")  // another collection's: ignored
      .Add(T::kAliasMove, "models", "production", 0, 1, "carol")
      .Add(T::kTagAdd, "models")  // changes no alias: no column
      .Add(T::kAliasCreate, "models", "best", {}, 0)
      .Add(T::kAliasRename, "models", "best", {}, {}, "dave", "champion")
      .Add(T::kAliasRemove, "models", "champion", 0, {});
  const Timeline t =
      BuildTimeline("models", h.events(), {{.name = "PRODUCTION"}});
  ASSERT_EQ(t.lanes.size(), 4u);
  EXPECT_EQ(t.lanes[0].alias, "latest");  // first, then by name
  EXPECT_TRUE(t.lanes[0].is_latest);
  EXPECT_EQ(t.lanes[1].alias, "best");
  EXPECT_EQ(t.lanes[2].alias, "champion");
  EXPECT_EQ(t.lanes[3].alias, "production");
  EXPECT_TRUE(t.lanes[3].is_protected);  // protection ignores case
  EXPECT_FALSE(t.lanes[1].is_protected);

  using V = std::vector<std::optional<uint64_t>>;
  EXPECT_EQ(Versions(t.lanes[0]), (V{0, 1}));
  EXPECT_EQ(Versions(t.lanes[3]), (V{0, 1}));
  EXPECT_EQ(t.lanes[3].steps[1].user, "carol");
  EXPECT_EQ(t.lanes[3].steps[1].event, "alias.move");
  EXPECT_EQ(t.lanes[3].steps[1].seq, 6u);
  // A rename ends one lane and starts the other at the same event.
  EXPECT_EQ(Versions(t.lanes[1]), (V{0, std::nullopt}));
  EXPECT_EQ(t.lanes[1].steps[1].note, "renamed to champion");
  EXPECT_EQ(Versions(t.lanes[2]), (V{0, std::nullopt}));
  EXPECT_EQ(t.lanes[2].steps[0].note, "renamed from best");
  EXPECT_EQ(t.lanes[2].steps[0].user, "dave");
  EXPECT_EQ(t.columns, (std::vector<uint64_t>{2, 3, 4, 6, 8, 9, 10}));
  EXPECT_EQ(t.max_version, 1u);
}

TEST(BuildTimelineTest, StartsAtTheNewestCreationOfTheName) {
  History h;
  h.Add(T::kCollectionCreate, "models")
      .Version("models", 0)
      .Add(T::kAliasCreate, "models", "old", {}, 0)
      .Add(T::kCollectionDelete, "models")
      .Add(T::kCollectionCreate, "models")
      .Version("models", 1);
  const Timeline t = BuildTimeline("models", h.events(), {});
  ASSERT_EQ(t.lanes.size(), 1u);
  EXPECT_EQ(t.lanes[0].alias, "latest");
  EXPECT_EQ(Versions(t.lanes[0]), (std::vector<std::optional<uint64_t>>{1}));
}

TEST(BuildTimelineTest, LatestStepsBackWhenTheNewestVersionIsDeleted) {
  History h;
  h.Add(T::kCollectionCreate, "m").Version("m", 0).Version("m", 1);
  h.Add(T::kVersionDelete, "m", {}, 1, {}, "admin");
  const Timeline t = BuildTimeline("m", h.events(), {});
  ASSERT_EQ(t.lanes.size(), 1u);
  EXPECT_EQ(Versions(t.lanes[0]),
            (std::vector<std::optional<uint64_t>>{0, 1, 0}));
  EXPECT_EQ(t.lanes[0].steps[2].user, "admin");
  EXPECT_EQ(t.lanes[0].steps[2].event, "version.delete");
}

TEST(RenderTimelineSvgTest, DrawsLanesWithHoverTitlesSayingWhoAndWhen) {
  History h;
  h.Add(T::kCollectionCreate, "models")
      .Version("models", 0)
      .Version("models", 1)
      .Add(T::kAliasCreate, "models", "production", {}, 0, "bob")
      .Add(T::kAliasMove, "models", "production", 0, 1, "carol");
  const std::string svg = RenderTimelineSvg(
      BuildTimeline("models", h.events(), {{.name = "production"}}));
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, HasSubstr("data-alias=\"production\""));
  EXPECT_THAT(svg, HasSubstr("data-alias=\"latest\""));
  EXPECT_THAT(svg, HasSubstr("<title>production \u2192 v1\nby carol, "
                             "2026-11-30T"));
  EXPECT_THAT(svg, HasSubstr("alias.move, event #5</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>production (protected)</title>"));
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("style=")));
}

TEST(RenderTimelineSvgTest, EscapesHostileNamesAndUsers) {
  History h;
  h.Add(T::kCollectionCreate, "<c>")
      .Version("<c>", 0)
      .Add(T::kAliasCreate, "<c>", "\"><script>alert(1)</script>", {}, 0,
           "<img src=x onerror=alert(1)>");
  const std::string svg =
      RenderTimelineSvg(BuildTimeline("<c>", h.events(), {}));
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("<img")));
  EXPECT_THAT(svg, HasSubstr("data-alias=\"&quot;&gt;&lt;script&gt;"));
  EXPECT_THAT(svg, HasSubstr("by &lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(svg, HasSubstr("Aliases of &lt;c&gt; over time"));
}

TEST(RenderTimelineSvgTest, SaysSoWhenNoAliasEverNamedAVersion) {
  History h;
  h.Add(T::kCollectionCreate, "empty");
  EXPECT_THAT(RenderTimelineSvg(BuildTimeline("empty", h.events(), {})),
              HasSubstr("No alias has named a version yet."));
}

}  // namespace
}  // namespace regfs::web
