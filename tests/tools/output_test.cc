// Unit tests of the command line's formatting helpers.
#include "tools/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tools/context.h"
#include "tools/progress.h"

namespace regfs::tools {
namespace {

TEST(FormatSizeTest, PicksTheUnit) {
  struct Case {
    uint64_t bytes;
    const char* text;
  };
  const Case cases[] = {
      {0, "0 B"},
      {1, "1 B"},
      {1023, "1023 B"},
      {1024, "1.0 KiB"},
      {1536, "1.5 KiB"},
      {1024 * 1024 - 1, "1.0 MiB"},
      {uint64_t{5} << 20, "5.0 MiB"},
      {(uint64_t{3} << 30) + (uint64_t{400} << 20), "3.4 GiB"},
      {uint64_t{2} << 40, "2.0 TiB"},
      {uint64_t{5000} << 40, "5000.0 TiB"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatSize(c.bytes), c.text) << c.bytes;
  }
}

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"NAME", "KIND", "NOTE"});
  table.AddRow({"models", "file", ""});
  table.AddRow({"zoo-dataset", "tree", "big"});
  EXPECT_EQ(table.Render(),
            "NAME         KIND  NOTE\n"
            "models       file\n"
            "zoo-dataset  tree  big\n");
}

TEST(TableTest, HeaderIsOptional) {
  Table table({});
  EXPECT_TRUE(table.empty());
  table.AddRow({"uid:", "0"});
  table.AddRow({"groups:", "0(root)"});
  EXPECT_EQ(table.Render(), "uid:     0\ngroups:  0(root)\n");
}

TEST(ProgressBarTest, FrameShowsBarPercentAndSizes) {
  EXPECT_EQ(
      ProgressBar::Frame("pushing m", uint64_t{1} << 29, uint64_t{1} << 30, 0),
      "pushing m [###############...............]  50%  512.0 MiB / "
      "1.0 GiB");
  EXPECT_EQ(ProgressBar::Frame("p", 10, 10, 2048),
            "p [##############################] 100%  10 B / 10 B  2.0 KiB/s");
  EXPECT_EQ(ProgressBar::Frame("p", 0, 0, 0),
            "p [##############################] 100%  0 B / 0 B");
}

TEST(ParseVersionRefTest, SplitsCollectionAndName) {
  struct Case {
    const char* text;
    bool need_name;
    bool ok;
    const char* collection;
    const char* name;
  };
  const Case cases[] = {
      {"models", false, true, "models", ""},
      {"models/", false, true, "models", ""},
      {"models/v2", false, true, "models", "v2"},
      {"models/production", true, true, "models", "production"},
      {"models", true, false, "", ""},
      {"models/", true, false, "", ""},
      {"/v2", false, false, "", ""},
      {"", false, false, "", ""},
      {"a/b/c", false, false, "", ""},
  };
  for (const auto& c : cases) {
    auto ref = ParseVersionRef(c.text, c.need_name);
    ASSERT_EQ(ref.has_value(), c.ok) << c.text;
    if (!ref) {
      EXPECT_EQ(ref.error().code, registry::Code::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(ref->collection, c.collection) << c.text;
    EXPECT_EQ(ref->name, c.name) << c.text;
  }
}

}  // namespace
}  // namespace regfs::tools
