// The history renderer and time formats of registry/history.h. The events
// the registry records are tested in registry_test.cc.
#include "registry/history.h"

#include <gtest/gtest.h>

#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>

#include "registry/model_json.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using nlohmann::json;
using testing::CodeOf;
using testing::Describe;

constexpr TimeMs kExampleTime = 1795323182123;  // 2026-11-22T04:53:02.123Z

Event ExampleMove() {
  Event e;
  e.seq = 7;
  e.time = kExampleTime;
  e.type = EventType::kAliasMove;
  e.collection = "models";
  e.alias = "production";
  e.old_version = 1;
  e.new_version = 2;
  e.uid = 1000;
  e.user = "alice";
  e.interface = Interface::kFs;
  return e;
}

json Parse(const std::string& line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
  return j;
}

TEST(HistoryRenderTest, JsonLineHasEveryField) {
  const std::string line = RenderJsonLine(ExampleMove());
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const json j = Parse(line);
  ASSERT_TRUE(j.is_object()) << line;
  EXPECT_EQ(j.value("seq", json()), 7) << line;
  EXPECT_EQ(j.value("time", json()), "2026-11-22T04:53:02.123Z") << line;
  EXPECT_EQ(j.value("event", json()), "alias.move") << line;
  EXPECT_EQ(j.value("collection", json()), "models") << line;
  EXPECT_EQ(j.value("alias", json()), "production") << line;
  EXPECT_EQ(j.value("old", json()), "v1") << line;
  EXPECT_EQ(j.value("new", json()), "v2") << line;
  EXPECT_EQ(j.value("uid", json()), 1000) << line;
  EXPECT_EQ(j.value("user", json()), "alice") << line;
  EXPECT_EQ(j.value("interface", json()), "fs") << line;
  EXPECT_EQ(j.size(), 10u) << "no other keys without detail: " << line;
}

TEST(HistoryRenderTest, AbsentVersionsAreNull) {
  Event created = ExampleMove();
  created.type = EventType::kAliasCreate;
  created.old_version.reset();
  const json c = Parse(RenderJsonLine(created));
  ASSERT_TRUE(c.contains("old"));
  EXPECT_TRUE(c["old"].is_null()) << c.dump();
  EXPECT_EQ(c.value("new", json()), "v2");
  EXPECT_EQ(c.value("event", json()), "alias.create");

  Event removed = ExampleMove();
  removed.type = EventType::kAliasRemove;
  removed.new_version.reset();
  const json r = Parse(RenderJsonLine(removed));
  EXPECT_EQ(r.value("old", json()), "v1");
  ASSERT_TRUE(r.contains("new"));
  EXPECT_TRUE(r["new"].is_null()) << r.dump();
  EXPECT_EQ(r.value("interface", json()), "fs");
}

TEST(HistoryRenderTest, RegistryWideEventHasNullCollectionAndVersions) {
  Event e;
  e.seq = 1;
  e.time = kExampleTime;
  e.type = EventType::kProtect;
  e.alias = "production";
  e.uid = 0;
  e.user = "root";
  e.interface = Interface::kCli;
  const json j = Parse(RenderJsonLine(e));
  EXPECT_EQ(j.value("event", json()), "name.protect") << j.dump();
  ASSERT_TRUE(j.contains("collection")) << j.dump();
  EXPECT_TRUE(j["collection"].is_null())
      << "absent values are null: " << j.dump();
  EXPECT_EQ(j.value("alias", json()), "production");
  EXPECT_TRUE(j.value("old", json(1)).is_null());
  EXPECT_TRUE(j.value("new", json(1)).is_null());
  EXPECT_EQ(j.value("uid", json()), 0);
  EXPECT_EQ(j.value("interface", json()), "cli");
}

TEST(HistoryRenderTest, DetailKeysAreMerged) {
  Event rename = ExampleMove();
  rename.type = EventType::kAliasRename;
  rename.renamed_to = "champion";
  const json r = Parse(RenderJsonLine(rename));
  EXPECT_EQ(r.value("event", json()), "alias.rename");
  EXPECT_EQ(r.value("to", json()), "champion") << r.dump();
  EXPECT_EQ(r.value("alias", json()), "production");

  Event grant;
  grant.seq = 3;
  grant.time = kExampleTime;
  grant.type = EventType::kRoleGrant;
  grant.user = "root";
  grant.detail = {{"principal", "group:ml"}, {"role", "member"}};
  const json g = Parse(RenderJsonLine(grant));
  EXPECT_EQ(g.value("event", json()), "role.grant");
  EXPECT_EQ(g.value("principal", json()), "group:ml") << g.dump();
  EXPECT_EQ(g.value("role", json()), "member") << g.dump();
  EXPECT_EQ(g.value("seq", json()), 3);
}

TEST(HistoryRenderTest, SpecialCharactersRoundTrip) {
  const std::string nasty[] = {
      "quote\"inside",
      "back\\slash",
      "new\nline",
      "tab\there",
      "carriage\rreturn",
      std::string("ctl\x01\x1f", 5),
      "unicode \xc3\xa9\xc3\xbc \xe2\x82\xac",
      "</script>",
      "{\"json\":true}",
  };
  for (const std::string& s : nasty) {
    Event e = ExampleMove();
    e.user = s;
    e.collection = s;
    e.alias = s;
    e.renamed_to = s;
    const std::string line = RenderJsonLine(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "one line: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << "one line: " << line;
    const json j = Parse(line);
    EXPECT_EQ(j.value("user", json()), s) << line;
    EXPECT_EQ(j.value("collection", json()), s) << line;
    EXPECT_EQ(j.value("alias", json()), s) << line;
    EXPECT_EQ(j.value("to", json()), s) << line;
  }
}

TEST(HistoryRenderTest, LargeNumbers) {
  Event e = ExampleMove();
  e.seq = 123456789012ull;
  e.old_version = 4294967296ull;
  e.uid = 4294967294u;
  const json j = Parse(RenderJsonLine(e));
  EXPECT_EQ(j.value("seq", json()), 123456789012ull);
  EXPECT_EQ(j.value("old", json()), "v4294967296");
  EXPECT_EQ(j.value("uid", json()), 4294967294u);
}

TEST(HistoryRenderTest, TextIsOneLineNamingTheChange) {
  const std::string text = RenderText(ExampleMove());
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_NE(text.find("production"), std::string::npos) << text;
  EXPECT_NE(text.find("alice"), std::string::npos) << text;
  EXPECT_NE(text.find("v2"), std::string::npos) << text;
}

// A shared store's events name the machine of the change (Event::host):
// user@host in the text, "host" after "interface" in JSON, read back by
// EventFromJson (the mount's ctl protocol). Without a host, both stay as
// an embedded store has always shown them.
TEST(HistoryRenderTest, HostIsShownOnlyWhenTheEventHasOne) {
  Event e = ExampleMove();
  e.host = "node-a";
  const std::string text = RenderText(e);
  EXPECT_NE(text.find(" alice@node-a "), std::string::npos) << text;
  const std::string line = RenderJsonLine(e);
  EXPECT_NE(line.find(R"("interface":"fs","host":"node-a")"),
            std::string::npos)
      << line;
  auto back = EventFromJson(OrderedJson::parse(line));
  ASSERT_TRUE(back.has_value()) << Describe(back);
  EXPECT_EQ(back->host, "node-a");
  EXPECT_EQ(back->user, "alice");
  EXPECT_TRUE(back->detail.empty()) << back->detail.dump();

  const Event plain = ExampleMove();
  EXPECT_EQ(RenderText(plain).find('@'), std::string::npos)
      << RenderText(plain);
  EXPECT_NE(RenderText(plain).find(" alice "), std::string::npos);
  const json j = Parse(RenderJsonLine(plain));
  EXPECT_FALSE(j.contains("host")) << j.dump();
  auto none = EventFromJson(OrderedJson::parse(RenderJsonLine(plain)));
  ASSERT_TRUE(none.has_value()) << Describe(none);
  EXPECT_EQ(none->host, "");
}

TEST(HistoryRenderTest, EventTypeNamesRoundTrip) {
  const struct {
    EventType type;
    std::string_view name;
  } cases[] = {
      {EventType::kCollectionCreate, "collection.create"},
      {EventType::kVersionCreate, "version.create"},
      {EventType::kVersionDelete, "version.delete"},
      {EventType::kAliasCreate, "alias.create"},
      {EventType::kAliasMove, "alias.move"},
      {EventType::kAliasRemove, "alias.remove"},
      {EventType::kAliasRename, "alias.rename"},
      {EventType::kProtect, "name.protect"},
      {EventType::kUnprotect, "name.unprotect"},
      {EventType::kRoleGrant, "role.grant"},
      {EventType::kRoleRevoke, "role.revoke"},
      {EventType::kTagAdd, "tag.add"},
      {EventType::kTagRemove, "tag.remove"},
      {EventType::kAutomationAdd, "automation.add"},
      {EventType::kAutomationRemove, "automation.rm"},
  };
  std::set<std::string_view> names;
  for (const auto& c : cases) {
    const std::string_view name = EventTypeName(c.type);
    // Programs read these names from `history --json`: they are fixed.
    EXPECT_EQ(name, c.name);
    names.insert(name);
    EXPECT_EQ(ParseEventType(name), c.type) << name;
  }
  EXPECT_EQ(names.size(), std::size(cases)) << "names are distinct";
  // The names the header documents.
  EXPECT_EQ(EventTypeName(EventType::kAliasMove), "alias.move");
  EXPECT_EQ(EventTypeName(EventType::kVersionCreate), "version.create");
  EXPECT_EQ(ParseEventType("no.such"), std::nullopt);
  EXPECT_EQ(ParseEventType(""), std::nullopt);
}

TEST(HistoryTimeTest, FormatTime) {
  const struct {
    TimeMs time;
    std::string text;
  } cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1, "1970-01-01T00:00:00.001Z"},
      {999, "1970-01-01T00:00:00.999Z"},
      {1000, "1970-01-01T00:00:01.000Z"},
      {kExampleTime, "2026-11-22T04:53:02.123Z"},
      {951782400000, "2000-02-29T00:00:00.000Z"},
      {4102444799999, "2099-12-31T23:59:59.999Z"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatTime(c.time), c.text) << c.time;
  }
}

TEST(HistoryTimeTest, FormatTimeShape) {
  const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  const TimeMs now = NowMs();
  EXPECT_TRUE(std::regex_match(FormatTime(now), iso)) << FormatTime(now);
  // Now is after 2024 and before 2100.
  EXPECT_GT(now, 1704067200000);
  EXPECT_LT(now, 4102444800000);
}

TEST(HistoryTimeTest, ParseTimeForms) {
  const struct {
    std::string text;
    TimeMs time;
  } cases[] = {
      {"2026-11-22T04:53:02.123Z", kExampleTime},
      {"2026-11-22T04:53:02.123", kExampleTime},
      {"2026-11-22T04:53:02Z", kExampleTime - 123},
      {"2026-11-22T04:53:02", kExampleTime - 123},
      {"2026-11-22T04:53", kExampleTime - 2123},
      {"2026-11-22", kExampleTime - (4 * 3600 + 53 * 60 + 2) * 1000 - 123},
      {"1970-01-01T00:00:00.000Z", 0},
      {"@0", 0},
      {"@1795323182", kExampleTime - 123},
  };
  for (const auto& c : cases) {
    auto parsed = ParseTime(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text << ": " << Describe(parsed);
    EXPECT_EQ(*parsed, c.time) << c.text;
  }
}

TEST(HistoryTimeTest, ParseTimeRefusesGarbage) {
  for (std::string_view text :
       {"", "yesterday", "2026", "2026-11", "2026-13-01", "2026-11-32",
        "2026-11-22T25:00", "2026-11-22 garbage", "@", "@abc",
        "2026-11-22T04:53:02.123Zjunk"}) {
    auto parsed = ParseTime(text);
    EXPECT_FALSE(parsed.has_value())
        << "\"" << text << "\" parsed as " << parsed.value_or(-1);
    if (!parsed.has_value()) {
      EXPECT_EQ(CodeOf(parsed), Code::kInvalidArgument) << text;
    }
  }
}

TEST(HistoryTimeTest, FormatParseRoundTrip) {
  for (TimeMs t : {TimeMs{0}, TimeMs{1}, TimeMs{59999}, kExampleTime,
                   TimeMs{951782400000}, TimeMs{4102444799999}, NowMs()}) {
    auto parsed = ParseTime(FormatTime(t));
    ASSERT_TRUE(parsed.has_value())
        << FormatTime(t) << ": " << Describe(parsed);
    EXPECT_EQ(*parsed, t) << FormatTime(t);
  }
}

}  // namespace
}  // namespace regfs::registry
