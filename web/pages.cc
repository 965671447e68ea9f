#include "web/pages.h"

#include <fmt/format.h>

#include <initializer_list>
#include <map>
#include <utility>

#include "registry/names.h"

namespace regfs::web {

namespace reg = regfs::registry;

namespace {

std::string Cell(std::string_view html, std::string_view cls = {}) {
  if (cls.empty()) return fmt::format("<td>{}</td>", html);
  return fmt::format("<td class=\"{}\">{}</td>", cls, html);
}

std::string HeaderRow(std::initializer_list<std::string_view> names) {
  std::string out = "<thead><tr>";
  for (std::string_view name : names) {
    out += fmt::format("<th>{}</th>", Escape(name));
  }
  return out + "</tr></thead>";
}

std::string Tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& tag : tags) {
    out += fmt::format("<span class=\"tag\">{}</span>", Escape(tag));
  }
  return out;
}

std::string Metadata(const std::map<std::string, std::string>& metadata) {
  if (metadata.empty()) return {};
  std::string out = "<dl class=\"meta\">";
  for (const auto& [key, value] : metadata) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", Escape(key), Escape(value));
  }
  return out + "</dl>";
}

std::string Badges(const std::vector<reg::Alias>& aliases, bool link) {
  std::string out = "<div class=\"badges\">";
  for (const reg::Alias& alias : aliases) out += AliasBadge(alias, link);
  return out + "</div>";
}

// The aliases among `all` that name `version`.
std::vector<reg::Alias> AliasesOf(const std::vector<reg::Alias>& all,
                                  uint64_t version) {
  std::vector<reg::Alias> out;
  for (const reg::Alias& alias : all) {
    if (alias.version == version) out.push_back(alias);
  }
  return out;
}

std::string VersionRow(const reg::Collection& c, const reg::Version& v,
                       const std::vector<reg::Alias>& aliases) {
  std::string row = "<tr>";
  row += Cell(Link(VersionUrl(c.name, v.number), reg::VersionName(v.number)));
  row += Cell(Escape(FormatSize(v.size)), "num");
  if (c.kind == reg::Kind::kTree) row += Cell(std::to_string(v.files), "num");
  row += Cell(Escape(reg::FormatTime(v.created)), "mono");
  row += Cell(Escape(v.creator));
  row += Cell(Tags(v.tags));
  std::string meta = Metadata(v.metadata);
  if (!v.description.empty()) {
    meta = fmt::format("<div class=\"desc\">{}</div>", Escape(v.description)) +
           meta;
  }
  row += Cell(meta);
  row += Cell(Badges(AliasesOf(aliases, v.number), false));
  return row + "</tr>";
}

}  // namespace

std::string CollectionsPage(const Frame& frame,
                            const std::vector<reg::Collection>& collections,
                            const std::vector<reg::ProtectedName>& protect) {
  std::string body = "<h1>Collections</h1>";
  if (collections.empty()) {
    body += "<p class=\"muted\">No collections yet.</p>";
  } else {
    body += "<table class=\"collections\">";
    body += HeaderRow({"Collection", "Kind", "Versions", "Aliases", "Latest"});
    body += "<tbody>";
    for (const reg::Collection& c : collections) {
      body += "<tr>";
      body += Cell(Link(CollectionUrl(c.name), c.name));
      body += Cell(Escape(reg::KindName(c.kind)));
      body += Cell(std::to_string(c.version_count), "num");
      body += Cell(std::to_string(c.alias_count), "num");
      body += Cell(c.latest ? Link(VersionUrl(c.name, *c.latest),
                                   reg::VersionName(*c.latest))
                            : "-");
      body += "</tr>";
    }
    body += "</tbody></table>";
  }
  if (!protect.empty()) {
    body += "<h2>Protected names</h2><p>";
    for (const reg::ProtectedName& p : protect) {
      body += fmt::format("<span class=\"badge protected\">{} {}</span> ",
                          LockIcon(), Escape(p.name));
    }
    body +=
        "</p><p class=\"muted\">Only admins may create, move or remove "
        "an alias with a protected name.</p>";
  }
  return Page(frame, "Collections", body);
}

std::string CollectionPage(const Frame& frame, const CollectionView& view) {
  const reg::Collection& c = view.collection;
  std::string body = fmt::format(
      "<h1>{}</h1><p class=\"muted\">{} collection, {} version{}, {} "
      "alias{}, created {} by {} &middot; {}</p>",
      Escape(c.name), Escape(reg::KindName(c.kind)), c.version_count,
      c.version_count == 1 ? "" : "s", c.alias_count,
      c.alias_count == 1 ? "" : "es", Escape(reg::FormatTime(c.created)),
      Escape(c.creator), Link(HistoryUrl(c.name), "history"));
  body += "<h2>Aliases</h2>";
  body += view.aliases.empty() ? "<p class=\"muted\">No aliases.</p>"
                               : Badges(view.aliases, true);
  body += fmt::format(
      "<h2>Timeline</h2><div class=\"timeline\">{}</div>"
      "<p>{}</p>",
      RenderTimelineSvg(view.timeline),
      Link(TimelineUrl(c.name), "every change as a table"));
  body += "<h2>Versions</h2>";
  if (view.versions.empty()) {
    body += "<p class=\"muted\">No versions yet.</p>";
    return Page(frame, c.name, body);
  }
  body += "<table class=\"versions\">";
  body += c.kind == reg::Kind::kTree
              ? HeaderRow({"Version", "Size", "Files", "Created", "Creator",
                           "Tags", "Description and metadata", "Aliases"})
              : HeaderRow({"Version", "Size", "Created", "Creator", "Tags",
                           "Description and metadata", "Aliases"});
  body += "<tbody>";
  // Newest first, as people look for the recent ones.
  for (auto it = view.versions.rbegin(); it != view.versions.rend(); ++it) {
    body += VersionRow(c, *it, view.aliases);
  }
  body += "</tbody></table>";
  return Page(frame, c.name, body);
}

namespace {

std::string VersionFacts(const reg::Version& v) {
  std::string out = "<dl class=\"meta facts\">";
  auto fact = [&out](std::string_view name, const std::string& html) {
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", name, html);
  };
  fact("Kind", Escape(reg::KindName(v.kind)));
  fact("Size",
       Escape(fmt::format("{} ({} bytes)", FormatSize(v.size), v.size)));
  if (v.kind == reg::Kind::kTree) fact("Files", std::to_string(v.files));
  fact(v.kind == reg::Kind::kTree ? "Pushed from" : "File name",
       Escape(v.filename));
  fact("Created", Escape(reg::FormatTime(v.created)));
  fact("Creator", Escape(v.creator));
  fact("Digest", fmt::format("<code>{}</code>", Escape(v.digest)));
  if (!v.tags.empty()) fact("Tags", Tags(v.tags));
  if (!v.description.empty()) fact("Description", Escape(v.description));
  return out + "</dl>";
}

std::string FileTable(const VersionView& view) {
  std::string out = "<table class=\"files\">";
  out += HeaderRow({"Path", "Size", "Digest"});
  out += "<tbody>";
  for (const TreeFile& f : view.files) {
    out += "<tr>";
    out += Cell(Escape(f.path) + (f.executable ? " <span class=\"muted\">"
                                                 "(executable)</span>"
                                               : ""),
                "mono");
    out += Cell(f.is_dir ? "" : Escape(FormatSize(f.size)), "num");
    out += Cell(Escape(f.digest), "mono");
    out += "</tr>";
  }
  out += "</tbody></table>";
  if (view.files_truncated) {
    out += fmt::format("<p class=\"muted\">The first {} entries.</p>",
                       view.files.size());
  }
  return out;
}

}  // namespace

std::string VersionPage(const Frame& frame, const VersionView& view) {
  const reg::Version& v = view.version;
  const std::string title =
      fmt::format("{}/{}", v.collection, reg::VersionName(v.number));
  std::string body = fmt::format(
      "<h1>{} / {}</h1>", Link(CollectionUrl(v.collection), v.collection),
      Escape(reg::VersionName(v.number)));
  if (!view.aliases.empty()) body += Badges(view.aliases, false);
  body += VersionFacts(v);
  if (!v.metadata.empty()) body += "<h2>Metadata</h2>" + Metadata(v.metadata);
  if (v.kind == reg::Kind::kTree) {
    body += "<h2>Files</h2>" + FileTable(view);
  }
  return Page(frame, title, body);
}

std::string TimelinePage(const Frame& frame, const Timeline& timeline) {
  std::string body = fmt::format(
      "<h1>{} &middot; aliases over time</h1><p class=\"muted\">One lane per "
      "alias, a step at each change; hover over a point for who and "
      "when.</p><div class=\"timeline\">{}</div><h2>Changes</h2>",
      Link(CollectionUrl(timeline.collection), timeline.collection),
      RenderTimelineSvg(timeline));
  body += "<table class=\"changes\">";
  body += HeaderRow({"Event", "Time", "Alias", "Now names", "By", "Kind"});
  body += "<tbody>";
  for (const TimelineLane& lane : timeline.lanes) {
    for (const TimelineStep& step : lane.steps) {
      std::string alias = Escape(lane.alias);
      if (lane.is_protected) alias = LockIcon() + " " + alias;
      std::string names =
          step.version ? Link(VersionUrl(timeline.collection, *step.version),
                              reg::VersionName(*step.version))
                       : "(removed)";
      if (!step.note.empty())
        names += " <span class=\"muted\">" + Escape(step.note) + "</span>";
      body += fmt::format(
          "<tr>{}{}{}{}{}{}</tr>", Cell(fmt::format("#{}", step.seq), "num"),
          Cell(Escape(reg::FormatTime(step.time)), "mono"), Cell(alias),
          Cell(names), Cell(Escape(step.user)), Cell(Escape(step.event)));
    }
  }
  body += "</tbody></table>";
  return Page(frame, timeline.collection + " timeline", body);
}

namespace {

// A history row's extras: a rename's new name and the detail's keys.
std::string EventDetail(const reg::Event& e) {
  std::string out;
  if (!e.renamed_to.empty()) out += "to " + e.renamed_to;
  if (e.detail.is_object()) {
    for (const auto& [key, value] : e.detail.items()) {
      if (!out.empty()) out += ", ";
      out += key + "=" +
             (value.is_string()
                  ? value.get<std::string>()
                  : value.dump(-1, ' ', false,
                               nlohmann::json::error_handler_t::replace));
    }
  }
  return Escape(out);
}

std::string EventRow(const reg::Event& e) {
  std::string change;
  if (e.old_version || e.new_version) {
    change = Escape(fmt::format("{} \u2192 {}", VersionText(e.old_version),
                                VersionText(e.new_version)));
  }
  const std::string collection =
      e.collection.empty() ? ""
                           : Link(CollectionUrl(e.collection), e.collection);
  return fmt::format(
      "<tr>{}{}{}{}{}{}{}{}{}</tr>", Cell(fmt::format("{}", e.seq), "num"),
      Cell(Escape(reg::FormatTime(e.time)), "mono"),
      Cell(Escape(reg::EventTypeName(e.type))), Cell(collection),
      Cell(Escape(e.alias)), Cell(change), Cell(Escape(e.user)),
      Cell(Escape(reg::InterfaceName(e.interface))), Cell(EventDetail(e)));
}

}  // namespace

std::string HistoryPage(const Frame& frame, const HistoryView& view) {
  std::string body =
      view.collection.empty()
          ? std::string("<h1>History</h1>")
          : fmt::format("<h1>History of {}</h1>",
                        Link(CollectionUrl(view.collection), view.collection));
  if (view.events.empty()) {
    body += "<p class=\"muted\">No events.</p>";
    return Page(frame, "History", body);
  }
  body += "<table class=\"history\">";
  body += HeaderRow({"#", "Time", "Event", "Collection", "Alias", "Change",
                     "User", "Via", "Detail"});
  body += "<tbody>";
  for (const reg::Event& e : view.events) body += EventRow(e);
  body += "</tbody></table>";
  if (view.older) {
    std::string url = HistoryUrl(view.collection);
    url += url.find('?') == std::string::npos ? "?" : "&";
    url += fmt::format("before={}", *view.older);
    body += "<p>" + Link(url, "older events") + "</p>";
  }
  return Page(frame, "History", body);
}

std::string ErrorPage(const Frame& frame, int status,
                      std::string_view message) {
  return Page(frame, fmt::format("{}", status),
              fmt::format("<h1>{}</h1><p class=\"note\">{}</p>", status,
                          Escape(message)));
}

}  // namespace regfs::web
