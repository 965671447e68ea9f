// web/pages.h: every page rendered from hostile values (names, metadata,
// descriptions, file names, users) keeps them as text: no tag, attribute
// or script of theirs reaches the HTML.
#include "web/pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "web/search_page.h"

namespace regfs::web {
namespace {

namespace reg = regfs::registry;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kScript = "<script>alert(1)</script>";
const std::string kImg = "\"><img src=x onerror=alert(1)>";
const std::string kQuote = "' onmouseover='alert(1)";

// What no page may contain once it has rendered the hostile values: their
// markup, raw.
void ExpectNoHostileMarkup(const std::string& html) {
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("' onmouseover")));
  EXPECT_THAT(html, Not(HasSubstr("style=")));
}

const Frame kFrame{.role = "viewer", .search = false};

reg::Collection HostileCollection() {
  return {.id = 1,
          .name = kScript,
          .kind = reg::Kind::kTree,
          .created = 1'796'000'000'000,
          .creator = kImg,
          .version_count = 1,
          .alias_count = 1,
          .latest = 0};
}

reg::Version HostileVersion() {
  reg::Version v;
  v.id = 7;
  v.collection = kScript;
  v.number = 0;
  v.kind = reg::Kind::kTree;
  v.created = 1'796'000'000'000;
  v.creator = kImg;
  v.size = 2048;
  v.files = 1;
  v.digest = "0123456789abcdef0123456789abcdef";
  v.filename = kImg;
  v.description = kScript + "\nsecond line " + kQuote;
  v.metadata = {{kScript, kImg}, {"lr", kQuote}};
  v.tags = {kScript};
  v.aliases = {kImg};
  return v;
}

reg::Alias HostileAlias() {
  return {.collection = kScript,
          .name = kImg,
          .version = 0,
          .is_protected = true,
          .updated_by = kScript};
}

TEST(PagesTest, CollectionsPageEscapesNamesAndEncodesLinks) {
  const std::string html = CollectionsPage(
      kFrame, {HostileCollection()}, {{.name = kImg, .created_by = kScript}});
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("href=\"/c/%3Cscript%3Ealert%281%29%3C%2F"
                              "script%3E\""));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;img src=x"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">1</td>"));  // counts
}

TEST(PagesTest, CollectionPageEscapesEveryValueOfItsVersions) {
  CollectionView view;
  view.collection = HostileCollection();
  view.versions = {HostileVersion()};
  view.aliases = {HostileAlias()};
  reg::Event create{.seq = 1,
                    .type = reg::EventType::kCollectionCreate,
                    .collection = kScript,
                    .user = kImg};
  reg::Event version{.seq = 2,
                     .type = reg::EventType::kVersionCreate,
                     .collection = kScript,
                     .new_version = 0,
                     .user = kQuote};
  reg::Event alias{.seq = 3,
                   .type = reg::EventType::kAliasCreate,
                   .collection = kScript,
                   .alias = kImg,
                   .new_version = 0,
                   .user = kScript};
  view.timeline =
      BuildTimeline(kScript, {create, version, alias}, {{.name = kImg}});
  const std::string html = CollectionPage(kFrame, view);
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("<dt>&lt;script&gt;alert(1)&lt;/script&gt;</dt>"
                              "<dd>&quot;&gt;&lt;img src=x onerror=alert(1)"
                              "&gt;</dd>"));
  EXPECT_THAT(html, HasSubstr("<dd>&#39; onmouseover=&#39;alert(1)</dd>"));
  EXPECT_THAT(html, HasSubstr("second line"));
  EXPECT_THAT(html, HasSubstr("class=\"badge protected\""));
  EXPECT_THAT(html, HasSubstr("<svg xmlns"));  // the timeline
  EXPECT_THAT(html, HasSubstr("2.0 KiB"));
}

TEST(PagesTest, VersionPageEscapesFileNamesAndMetadata) {
  VersionView view;
  view.version = HostileVersion();
  view.aliases = {HostileAlias()};
  view.files = {{.path = kScript + "/", .is_dir = true},
                {.path = kScript + "/" + kImg, .size = 5, .digest = kQuote}};
  const std::string html = VersionPage(kFrame, view);
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;/&quot;"
                              "&gt;&lt;img"));
  EXPECT_THAT(html, HasSubstr("0123456789abcdef0123456789abcdef"));
  EXPECT_THAT(html, HasSubstr("<h2>Files</h2>"));
}

TEST(PagesTest, TimelinePageListsEachChangeEscaped) {
  reg::Event create{
      .seq = 1, .type = reg::EventType::kCollectionCreate, .collection = "m"};
  reg::Event version{.seq = 2,
                     .type = reg::EventType::kVersionCreate,
                     .collection = "m",
                     .new_version = 0,
                     .user = kImg};
  const std::string html =
      TimelinePage(kFrame, BuildTimeline("m", {create, version}, {}));
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("<td>&quot;&gt;&lt;img src=x"));
  EXPECT_THAT(html, HasSubstr("href=\"/c/m/v0\""));
}

TEST(PagesTest, HistoryPageEscapesEventsAndLinksToOlderOnes) {
  reg::Event e{.seq = 9,
               .type = reg::EventType::kTagAdd,
               .collection = kScript,
               .user = kImg,
               .renamed_to = kQuote};
  e.detail = {{"tag", kScript}};
  const std::string html =
      HistoryPage(kFrame, {.collection = kScript, .events = {e}, .older = 9});
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("tag=&lt;script&gt;"));
  EXPECT_THAT(html,
              HasSubstr("href=\"/history?collection=%3Cscript%3Ealert%281%29"
                        "%3C%2Fscript%3E&amp;before=9\""));
}

TEST(PagesTest, SearchPageEscapesTheTermAndEveryHit) {
  reg::SearchResults results;
  results.term = kScript;
  results.groups = {{.field = reg::SearchField::kMetadata,
                     .hits = {{.collection = kScript,
                               .version = 3,
                               .aliases = {kImg},
                               .text = kImg,
                               .key = kQuote}},
                     .more = 2},
                    {.field = reg::SearchField::kTag}};
  const std::string html = SearchPage(kFrame, results);
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("Search: &ldquo;&lt;script&gt;"));
  EXPECT_THAT(html, HasSubstr("Metadata <span class=\"muted\">(3)</span>"));
  EXPECT_THAT(html, Not(HasSubstr("Tags")));  // empty groups are left out
  EXPECT_THAT(html, HasSubstr("and 2 more."));
  EXPECT_THAT(html, HasSubstr("/v3\">v3</a>"));
  EXPECT_THAT(SearchPage(kFrame, {}), HasSubstr("Type a term"));
}

TEST(PagesTest, ErrorPageEscapesItsMessage) {
  const std::string html = ErrorPage(kFrame, 404, "no collection " + kImg);
  ExpectNoHostileMarkup(html);
  EXPECT_THAT(html, HasSubstr("<h1>404</h1>"));
}

}  // namespace
}  // namespace regfs::web
