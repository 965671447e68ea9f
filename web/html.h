// The pieces every page of `regfs serve` is made of: escaping, links, the
// page frame and small formatters. Pure functions, no I/O.
//
// Every value that comes from the store (names, metadata, descriptions,
// file names, user names) reaches HTML only through Escape, in text and in
// double-quoted attribute values alike, so that no value can open a tag,
// close an attribute or start a script.
#ifndef REGFS_WEB_HTML_H_
#define REGFS_WEB_HTML_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registry/model.h"

namespace regfs::web {

// & < > " ' as character references: safe in text and in attribute values
// quoted with either quote.
std::string Escape(std::string_view text);

// Percent-encodes everything but A-Z a-z 0-9 - . _ ~, for one path segment
// or one query value.
std::string UrlEncode(std::string_view text);

// The URL of each page; names are encoded (UrlEncode), not escaped.
std::string CollectionUrl(std::string_view collection);
std::string VersionUrl(std::string_view collection, uint64_t number);
std::string TimelineUrl(std::string_view collection);
std::string HistoryUrl(std::string_view collection = {});

// <a href="URL">TEXT</a>, both escaped.
std::string Link(std::string_view url, std::string_view text);

// 1536 -> "1.5 KiB"; below 1 KiB in bytes.
std::string FormatSize(uint64_t bytes);
// "v3"; "-" for none.
std::string VersionText(std::optional<uint64_t> number);

// A small padlock drawn in SVG (no font needed), titled "protected".
std::string LockIcon();

// An alias as a badge: its name, the version it names and, for a
// protected one, a lock. `link` makes it a link to that version.
std::string AliasBadge(const registry::Alias& alias, bool link);

// What the frame of every page shows besides the page itself.
struct Frame {
  // The role the pages are served as ("viewer"), shown in the footer.
  std::string role;
  // Whether the header has a search box (/search?q=).
  bool search = false;
};

// A whole HTML document: doctype, head (title, the stylesheet at
// /style.css), a header with the navigation, `body`, and a footer saying
// it is a read-only view as `frame.role`. `title` is escaped; `body` is
// HTML already.
std::string Page(const Frame& frame, std::string_view title,
                 std::string_view body);

// The stylesheet served at /style.css: the pages use no inline style, so
// that the Content-Security-Policy can forbid it along with scripts.
std::string_view StyleSheet();

}  // namespace regfs::web

#endif  // REGFS_WEB_HTML_H_
