// web/html.h: escaping, URLs and the page frame.
#include "web/html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace regfs::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EscapeTest, EscapesEveryCharacterThatCanOpenATagOrCloseAnAttribute) {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"", ""},
      {"plain text 1.0", "plain text 1.0"},
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"\"><img src=x onerror=alert(1)>",
       "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"},
      {"' onmouseover='x", "&#39; onmouseover=&#39;x"},
      {"a & b &amp;", "a &amp; b &amp;amp;"},
      {"caf\xc3\xa9 \xe2\x86\x92", "caf\xc3\xa9 \xe2\x86\x92"},
  };
  for (const Case& c : cases) EXPECT_EQ(Escape(c.in), c.out) << c.in;
}

TEST(UrlTest, EncodesEverythingButUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("models-1.0_x~"), "models-1.0_x~");
  EXPECT_EQ(UrlEncode("a b/<\"'>?&"), "a%20b%2F%3C%22%27%3E%3F%26");
  EXPECT_EQ(CollectionUrl("models"), "/c/models");
  EXPECT_EQ(VersionUrl("models", 12), "/c/models/v12");
  EXPECT_EQ(TimelineUrl("models"), "/c/models/timeline");
  EXPECT_EQ(HistoryUrl(), "/history");
  EXPECT_EQ(HistoryUrl("a b"), "/history?collection=a%20b");
}

TEST(LinkTest, EscapesTheUrlAndTheText) {
  EXPECT_EQ(Link("/c/x?a=1&b=\"2\"", "<b>"),
            "<a href=\"/c/x?a=1&amp;b=&quot;2&quot;\">&lt;b&gt;</a>");
}

TEST(FormatSizeTest, UsesBinaryUnits) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(3ull << 30), "3.0 GiB");
}

TEST(AliasBadgeTest, MarksProtectedAliasesWithALockAndLinksToTheVersion) {
  registry::Alias production{.collection = "models",
                             .name = "production",
                             .version = 2,
                             .is_protected = true};
  const std::string badge = AliasBadge(production, /*link=*/true);
  EXPECT_THAT(badge, HasSubstr("class=\"badge protected\""));
  EXPECT_THAT(badge, HasSubstr("<title>protected</title>"));
  EXPECT_THAT(badge, HasSubstr("href=\"/c/models/v2\""));
  EXPECT_THAT(badge, HasSubstr("production"));

  registry::Alias candidate{
      .collection = "models", .name = "candidate", .version = 3};
  EXPECT_THAT(AliasBadge(candidate, /*link=*/false),
              Not(HasSubstr("protected")));
}

TEST(PageTest, HasNoScriptNoInlineStyleAndTheStylesheet) {
  const std::string page =
      Page({.role = "viewer", .search = true}, "<t>", "<p>body</p>");
  EXPECT_THAT(page, HasSubstr("<title>&lt;t&gt; - regfs</title>"));
  EXPECT_THAT(page, HasSubstr("href=\"/style.css\""));
  EXPECT_THAT(page, HasSubstr("action=\"/search\""));
  EXPECT_THAT(page, HasSubstr("default role &#39;viewer&#39;"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("style=")));
  EXPECT_THAT(Page({.role = "viewer"}, "t", ""), Not(HasSubstr("/search")));
}

}  // namespace
}  // namespace regfs::web
