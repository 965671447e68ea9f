#include "web/search_page.h"

#include <fmt/format.h>

#include <cctype>
#include <string>

#include "registry/names.h"

namespace regfs::web {

namespace reg = regfs::registry;

namespace {

// A group's heading: its title, capitalized ("File names").
std::string GroupTitle(reg::SearchField field) {
  std::string title(reg::SearchFieldTitle(field));
  if (!title.empty())
    title[0] =
        static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  return title;
}

std::string HitRow(const reg::SearchHit& hit) {
  const std::string version =
      hit.version ? Link(VersionUrl(hit.collection, *hit.version),
                         reg::VersionName(*hit.version))
                  : "-";
  std::string aliases;
  for (const std::string& alias : hit.aliases) {
    aliases += fmt::format("<span class=\"badge\">{}</span> ", Escape(alias));
  }
  std::string text = Escape(hit.text);
  if (!hit.key.empty()) {
    text = fmt::format("<span class=\"muted\">{}</span> = {}", Escape(hit.key),
                       text);
  }
  return fmt::format(
      "<tr><td>{}</td><td>{}</td><td class=\"desc\">{}</td>"
      "<td>{}</td></tr>",
      Link(CollectionUrl(hit.collection), hit.collection), version, text,
      aliases);
}

}  // namespace

std::string SearchPage(const Frame& frame, const reg::SearchResults& results) {
  if (results.term.empty()) {
    return Page(frame, "Search",
                "<h1>Search</h1><p class=\"muted\">Type a term in the search "
                "box: it is looked for in collection and alias names, tags, "
                "metadata, descriptions and file names.</p>");
  }
  std::string body =
      fmt::format("<h1>Search: &ldquo;{}&rdquo;</h1>", Escape(results.term));
  bool any = false;
  for (const reg::SearchGroup& group : results.groups) {
    if (group.hits.empty()) continue;
    any = true;
    body += fmt::format(
        "<h2>{} <span class=\"muted\">({})</span></h2><table "
        "class=\"search-{}\"><thead><tr><th>Collection</th><th>Version</th>"
        "<th>Match</th><th>Aliases</th></tr></thead><tbody>",
        GroupTitle(group.field), group.hits.size() + group.more,
        Escape(reg::SearchFieldName(group.field)));
    for (const reg::SearchHit& hit : group.hits) body += HitRow(hit);
    body += "</tbody></table>";
    if (group.more > 0) {
      body += fmt::format("<p class=\"muted\">and {} more.</p>", group.more);
    }
  }
  if (!any) body += "<p class=\"muted\">Nothing matches.</p>";
  return Page(frame, "Search: " + results.term, body);
}

}  // namespace regfs::web
