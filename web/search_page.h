// `/search?q=`: Registry::Search's results (registry/search.h) as a page.
// A pure function, as the other pages (web/pages.h).
#ifndef REGFS_WEB_SEARCH_PAGE_H_
#define REGFS_WEB_SEARCH_PAGE_H_

#include <string>
#include <string_view>

#include "registry/search.h"
#include "web/html.h"

namespace regfs::web {

// The results grouped by where the term matched, each hit with its
// collection, version (linked) and that version's aliases; empty groups
// are left out. `results.term` empty: the page asks for a term.
std::string SearchPage(const Frame& frame,
                       const registry::SearchResults& results);

}  // namespace regfs::web

#endif  // REGFS_WEB_SEARCH_PAGE_H_
