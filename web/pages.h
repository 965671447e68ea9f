// The pages of `regfs serve`: each a pure function from registry values to
// a whole HTML document (web/html.h's Page), so that tests can render them
// with any values, hostile ones included. tools/web_server.cc loads the
// values and serves the result.
#ifndef REGFS_WEB_PAGES_H_
#define REGFS_WEB_PAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/history.h"
#include "registry/model.h"
#include "web/html.h"
#include "web/timeline.h"

namespace regfs::web {

// `/`: every collection with its kind, counts of versions and aliases and
// its latest version, and the store's protected names.
std::string CollectionsPage(
    const Frame& frame, const std::vector<registry::Collection>& collections,
    const std::vector<registry::ProtectedName>& protect);

// `/c/NAME`: a collection's aliases as badges, its timeline, and its
// versions in full (size, creator, time, tags, metadata, description).
struct CollectionView {
  registry::Collection collection;
  std::vector<registry::Version> versions;  // in full, oldest first
  std::vector<registry::Alias> aliases;     // `latest` included
  Timeline timeline;
};
std::string CollectionPage(const Frame& frame, const CollectionView& view);

// `/c/NAME/vN`: one version in full, the aliases that name it, and for a
// tree its files.
struct TreeFile {
  std::string path;  // relative to the version's root; directories end in /
  bool is_dir = false;
  bool executable = false;
  uint64_t size = 0;
  std::string digest;
};
struct VersionView {
  registry::Version version;             // in full
  std::vector<registry::Alias> aliases;  // those that name this version
  std::vector<TreeFile> files;           // trees only
  bool files_truncated = false;          // more files than the page lists
};
std::string VersionPage(const Frame& frame, const VersionView& view);

// `/c/NAME/timeline`: the timeline picture alone, and each change as a
// table row for readers that cannot see it.
std::string TimelinePage(const Frame& frame, const Timeline& timeline);

// `/history`: events, newest first. `collection` non-empty: the feed is
// that collection's. `older` is the `before` parameter of the next page
// of older events, if there are any.
struct HistoryView {
  std::string collection;
  std::vector<registry::Event> events;  // newest first
  std::optional<uint64_t> older;
};
std::string HistoryPage(const Frame& frame, const HistoryView& view);

// Any refusal or failure: the status, and a message (escaped).
std::string ErrorPage(const Frame& frame, int status, std::string_view message);

}  // namespace regfs::web

#endif  // REGFS_WEB_PAGES_H_
