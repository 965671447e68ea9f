#include "web/html.h"

#include <fmt/format.h>

#include <array>

#include "registry/names.h"

namespace regfs::web {

namespace reg = regfs::registry;

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                       (u >= '0' && u <= '9') || u == '-' || u == '.' ||
                       u == '_' || u == '~';
    if (plain) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string CollectionUrl(std::string_view collection) {
  return "/c/" + UrlEncode(collection);
}

std::string VersionUrl(std::string_view collection, uint64_t number) {
  return CollectionUrl(collection) + "/" + reg::VersionName(number);
}

std::string TimelineUrl(std::string_view collection) {
  return CollectionUrl(collection) + "/timeline";
}

std::string HistoryUrl(std::string_view collection) {
  if (collection.empty()) return "/history";
  return "/history?collection=" + UrlEncode(collection);
}

std::string Link(std::string_view url, std::string_view text) {
  return fmt::format("<a href=\"{}\">{}</a>", Escape(url), Escape(text));
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kUnits = {"B", "KiB", "MiB",
                                                             "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string VersionText(std::optional<uint64_t> number) {
  return number ? reg::VersionName(*number) : "-";
}

std::string LockIcon() {
  // A shackle (an arc) over a body (a rectangle), in the text's colour.
  return "<svg class=\"lock\" viewBox=\"0 0 10 12\" width=\"10\" "
         "height=\"12\" role=\"img\" aria-label=\"protected\">"
         "<title>protected</title>"
         "<path d=\"M2.5 5.5V3.5a2.5 2.5 0 0 1 5 0v2\" fill=\"none\" "
         "stroke=\"currentColor\" stroke-width=\"1.4\"/>"
         "<rect x=\"1\" y=\"5.5\" width=\"8\" height=\"6\" rx=\"1\" "
         "fill=\"currentColor\"/></svg>";
}

std::string AliasBadge(const reg::Alias& alias, bool link) {
  std::string cls = "badge";
  if (alias.is_protected) cls += " protected";
  if (alias.is_latest) cls += " latest";
  std::string inner = Escape(alias.name) + " <span class=\"target\">&rarr; " +
                      Escape(reg::VersionName(alias.version)) + "</span>";
  if (alias.is_protected) inner = LockIcon() + " " + inner;
  if (link) {
    return fmt::format("<a class=\"{}\" href=\"{}\">{}</a>", cls,
                       Escape(VersionUrl(alias.collection, alias.version)),
                       inner);
  }
  return fmt::format("<span class=\"{}\">{}</span>", cls, inner);
}

std::string Page(const Frame& frame, std::string_view title,
                 std::string_view body) {
  std::string search;
  if (frame.search) {
    search =
        "<form class=\"search\" action=\"/search\" method=\"get\" "
        "role=\"search\"><input type=\"search\" name=\"q\" "
        "placeholder=\"search names, tags, metadata\" aria-label=\"search\">"
        "<button type=\"submit\">Search</button></form>";
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\"><title>{} - regfs</title>"
      "<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">"
      "<link rel=\"stylesheet\" href=\"/style.css\"></head><body>"
      "<header><a class=\"home\" href=\"/\">regfs</a><nav>"
      "<a href=\"/\">Collections</a><a href=\"/history\">History</a></nav>"
      "{}</header><main>{}</main><footer>Read-only view, as the store's "
      "default role &#39;{}&#39;.</footer></body></html>\n",
      Escape(title), search, body, Escape(frame.role));
}

std::string_view StyleSheet() {
  return R"css(
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: #1f2328;
       background: #fff; }
header { display: flex; align-items: center; gap: 1.5em; padding: .6em 1.5em;
         background: #24292f; color: #fff; }
header a { color: #fff; text-decoration: none; }
header .home { font-weight: 700; font-size: 1.1em; }
header nav a { margin-right: 1em; }
form.search { margin-left: auto; display: flex; gap: .3em; }
form.search input { padding: .25em .5em; min-width: 16em; }
main { padding: 1em 1.5em; max-width: 72em; }
footer { padding: 1em 1.5em; color: #656d76; font-size: .85em; }
h1 { font-size: 1.5em; margin: .3em 0; }
h2 { font-size: 1.15em; margin: 1.4em 0 .5em; }
a { color: #0969da; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #d0d7de;
         vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; }
.muted { color: #656d76; }
.badges { display: flex; flex-wrap: wrap; gap: .4em; margin: .5em 0; }
.badge { display: inline-flex; align-items: center; gap: .3em;
         padding: .1em .6em; border-radius: 1em; background: #ddf4ff;
         color: #0550ae; border: 1px solid #54aeff; font-size: .85em;
         text-decoration: none; white-space: nowrap; }
.badge.latest { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.badge.protected { background: #eaeef2; color: #424a53; border-color: #8c959f; }
.badge .target { opacity: .75; }
.tag { display: inline-block; padding: 0 .5em; margin: 0 .2em .2em 0;
       border-radius: .3em; background: #fff8c5; border: 1px solid #d4a72c;
       font-size: .85em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1em .8em;
          margin: 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
.desc { white-space: pre-wrap; }
code, .mono { font-family: ui-monospace, monospace; font-size: .9em; }
svg.lock { vertical-align: -1px; }
.timeline { overflow-x: auto; border: 1px solid #d0d7de; border-radius: .4em;
            padding: .5em; background: #fff; }
.timeline svg { display: block; }
.note { padding: .8em 1em; background: #fff8c5; border: 1px solid #d4a72c;
        border-radius: .4em; }
)css";
}

}  // namespace regfs::web
