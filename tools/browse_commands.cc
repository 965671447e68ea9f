// Read-only commands: ls, resolve, history (search: search_command.cc).
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "registry/replay.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;
using reg::Registry;

reg::Status ListCollections(Store& store, bool json) {
  REGFS_ASSIGN_OR_RETURN(const auto collections, store.ListCollections());
  if (json) {
    PrintJson(ToJsonArray(collections));
    return {};
  }
  if (collections.empty()) {
    fmt::print(
        "no collections yet: add one with 'regfs push COLLECTION "
        "FILE'\n");
  } else {
    Table table({"COLLECTION", "KIND", "VERSIONS", "LATEST", "ALIASES"});
    for (const auto& c : collections) {
      table.AddRow({c.name, std::string(reg::KindName(c.kind)),
                    std::to_string(c.version_count), VersionOrDash(c.latest),
                    std::to_string(c.alias_count)});
    }
    table.Print(stdout);
  }
  auto protected_names = store.ListProtected();
  if (protected_names && !protected_names->empty()) {
    std::vector<std::string> names;
    for (const auto& p : *protected_names) names.push_back(p.name);
    fmt::print("\nprotected names: {}\n", JoinNames(names));
  }
  return {};
}

// A collection with its live versions (in full) and aliases.
struct CollectionListing {
  reg::Collection collection;
  std::vector<reg::Version> versions;
  std::vector<reg::Alias> aliases;
};

reg::Result<CollectionListing> LoadCollection(Store& store,
                                              const std::string& name) {
  CollectionListing listing;
  REGFS_ASSIGN_OR_RETURN(listing.collection, store.GetCollection(name));
  REGFS_ASSIGN_OR_RETURN(listing.versions, store.ListVersionsInFull(name));
  REGFS_ASSIGN_OR_RETURN(listing.aliases, store.ListAliases(name));
  return listing;
}

void PrintCollectionJson(Store& store, const CollectionListing& listing) {
  Json versions = Json::array();
  for (const auto& v : listing.versions) {
    versions.push_back(ToJsonWithBlobPath(store, v));
  }
  Json j;
  j["collection"] = ToJson(listing.collection);
  j["versions"] = std::move(versions);
  j["aliases"] = ToJsonArray(listing.aliases);
  PrintJson(j);
}

void PrintCollectionText(const CollectionListing& listing) {
  const reg::Collection& c = listing.collection;
  fmt::print("{}  ({} collection, {} version{})\n", c.name,
             reg::KindName(c.kind), c.version_count,
             c.version_count == 1 ? "" : "s");
  if (listing.versions.empty()) return;
  const bool tree = c.kind == reg::Kind::kTree;
  std::vector<std::string> header = {"VERSION", "SIZE"};
  if (tree) header.push_back("FILES");
  for (const char* h : {"CREATED", "CREATOR", "ALIASES"}) header.push_back(h);
  Table table(std::move(header));
  for (const auto& v : listing.versions) {
    std::vector<std::string> row = {reg::VersionName(v.number),
                                    FormatSize(v.size)};
    if (tree) row.push_back(std::to_string(v.files));
    row.push_back(reg::FormatTime(v.created));
    row.push_back(v.creator);
    row.push_back(JoinNames(v.aliases));
    table.AddRow(std::move(row));
  }
  fmt::print("\n");
  table.Print(stdout);
  if (listing.aliases.empty()) return;
  fmt::print("\n");
  AliasTable(listing.aliases).Print(stdout);
}

reg::Status ListCollection(Store& store, const std::string& name, bool json) {
  REGFS_ASSIGN_OR_RETURN(const auto listing, LoadCollection(store, name));
  if (json) {
    PrintCollectionJson(store, listing);
  } else {
    PrintCollectionText(listing);
  }
  return {};
}

struct TreeFile {
  std::string path;  // relative to the version's root; dirs end in '/'
  reg::TreeEntry entry;
};

reg::Status WalkTree(Store& store, int64_t version_id, int64_t parent,
                     const std::string& prefix, std::vector<TreeFile>& out) {
  REGFS_ASSIGN_OR_RETURN(const auto entries, store.ListTree(version_id, parent));
  for (const auto& e : entries) {
    const std::string path = prefix + e.name + (e.is_dir ? "/" : "");
    out.push_back({path, e});
    if (!e.is_dir) continue;
    if (auto s = WalkTree(store, version_id, e.id, path, out); !s) return s;
  }
  return {};
}

// One version in full, as `ls COLLECTION/NAME` shows it.
struct VersionDetail {
  reg::Version version;
  std::string alias;            // the alias it was named by, if any
  std::vector<TreeFile> files;  // every entry of a tree version
};

reg::Result<VersionDetail> LoadVersion(Store& store, const VersionRef& ref) {
  // Resolve fills in tags, metadata and aliases.
  VersionDetail detail;
  REGFS_ASSIGN_OR_RETURN(detail.version,
                         store.Resolve(ref.collection, ref.name));
  if (!reg::ParseVersionName(ref.name)) detail.alias = ref.name;
  if (detail.version.kind == reg::Kind::kTree) {
    REGFS_TRY(WalkTree(store, detail.version.id, 0, "", detail.files));
  }
  return detail;
}

void PrintVersionJson(Store& store, const VersionDetail& d) {
  Json j = ToJsonWithBlobPath(store, d.version);
  if (!d.alias.empty()) j["resolved_from"] = d.alias;
  if (d.version.kind == reg::Kind::kTree) {
    Json files = Json::array();
    for (const auto& f : d.files) {
      Json jf;
      jf["path"] = f.path;
      jf["type"] = f.entry.is_dir ? "dir" : "file";
      jf["size"] = f.entry.size;
      jf["executable"] = f.entry.executable;
      files.push_back(std::move(jf));
    }
    j["tree"] = std::move(files);
  }
  PrintJson(j);
}

void PrintVersionText(Store& store, const VersionDetail& d) {
  const reg::Version& v = d.version;
  const std::string name = reg::VersionName(v.number);
  if (d.alias.empty()) {
    fmt::print("{}/{}\n", v.collection, name);
  } else {
    fmt::print("{}/{} -> {}\n", v.collection, d.alias, name);
  }
  Table table({});
  table.AddRow({"kind:", std::string(reg::KindName(v.kind))});
  table.AddRow(
      {"size:", fmt::format("{} ({} bytes)", FormatSize(v.size), v.size)});
  if (v.kind == reg::Kind::kTree) {
    table.AddRow({"files:", std::to_string(v.files)});
  }
  table.AddRow({"digest:", v.digest});
  table.AddRow({"created:", reg::FormatTime(v.created)});
  table.AddRow(
      {"creator:", fmt::format("{} (uid {})", v.creator, v.creator_uid)});
  table.AddRow({"filename:", v.filename});
  if (!v.blob.empty()) {
    table.AddRow({"blob:", BlobPathText(store, v.blob)});
  }
  table.AddRow({"aliases:", JoinNames(v.aliases)});
  if (!v.tags.empty()) table.AddRow({"tags:", JoinNames(v.tags)});
  if (!v.description.empty()) table.AddRow({"description:", v.description});
  for (const auto& [key, value] : v.metadata) {
    table.AddRow({"meta " + key + ":", value});
  }
  table.Print(stdout);
  if (d.files.empty()) return;
  fmt::print("\n");
  Table tree({"SIZE", "PATH"});
  for (const auto& f : d.files) {
    tree.AddRow({f.entry.is_dir ? "-" : FormatSize(f.entry.size), f.path});
  }
  tree.Print(stdout);
}

reg::Status ShowVersion(Store& store, const VersionRef& ref, bool json) {
  REGFS_ASSIGN_OR_RETURN(const auto detail, LoadVersion(store, ref));
  if (json) {
    PrintVersionJson(store, detail);
  } else {
    PrintVersionText(store, detail);
  }
  return {};
}

// What `resolve` found, and at which moment.
struct Resolution {
  reg::Version version;
  std::optional<uint64_t> at_seq;  // --at: right after this event
  std::optional<uint64_t> back;    // ALIAS@{N}: N changes ago
};

// The version a past state of an alias names. `what` describes that state
// ("models/production named v1 after event 5") for the error when the
// version has been deleted since: its content is gone, so the pin fails.
reg::Result<reg::Version> VersionNamedBy(Store& store, const reg::Alias& alias,
                                         const std::string& what) {
  if (alias.version_id == 0) {
    return reg::Fail(reg::Code::kNotFound,
                     fmt::format("{}, but {} has been deleted since", what,
                                 reg::VersionName(alias.version)));
  }
  return store.GetVersionById(alias.version_id);
}

reg::Result<Resolution> ResolveAt(Store& store, const VersionRef& ref,
                                  const std::string& at) {
  REGFS_ASSIGN_OR_RETURN(const uint64_t seq, store.SeqAt(at));
  REGFS_ASSIGN_OR_RETURN(const auto alias,
                         store.GetAliasAt(ref.collection, ref.name, seq));
  REGFS_ASSIGN_OR_RETURN(
      auto v, VersionNamedBy(store, alias,
                             fmt::format("{}/{} named {} after event {}",
                                         ref.collection, ref.name,
                                         reg::VersionName(alias.version), seq)));
  return Resolution{.version = std::move(v), .at_seq = seq};
}

reg::Result<Resolution> ResolveBefore(Store& store, const VersionRef& ref,
                                      const reg::ReflogName& reflog) {
  REGFS_ASSIGN_OR_RETURN(
      const auto alias,
      store.GetAliasBefore(ref.collection, reflog.alias, reflog.back));
  REGFS_ASSIGN_OR_RETURN(
      auto v, VersionNamedBy(store, alias,
                             fmt::format("{}/{} named {}", ref.collection,
                                         ref.name,
                                         reg::VersionName(alias.version))));
  return Resolution{.version = std::move(v), .back = reflog.back};
}

// `ref` now, after `at` (--at), or N changes ago (ALIAS@{N}).
reg::Result<Resolution> LoadResolution(Store& store, const VersionRef& ref,
                                       const std::string& at) {
  if (!at.empty()) return ResolveAt(store, ref, at);
  if (auto reflog = reg::ParseReflogName(ref.name)) {
    return ResolveBefore(store, ref, *reflog);
  }
  REGFS_ASSIGN_OR_RETURN(auto v, store.Resolve(ref.collection, ref.name));
  return Resolution{.version = std::move(v)};
}

// MOUNTPOINT/COLLECTION/vN, absolute. The mount point is taken as given:
// it may be where a container sees the mount.
std::string MountPath(const std::string& mountpoint, const reg::Version& v) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::absolute(mountpoint, ec);
  if (ec) root = mountpoint;
  return (root.lexically_normal() / v.collection / reg::VersionName(v.number))
      .string();
}

void PrintResolutionJson(Store& store, const ResolveArgs& args,
                         const VersionRef& ref, const Resolution& r) {
  const reg::Version& v = r.version;
  Json j;
  j["collection"] = v.collection;
  j["name"] = ref.name;
  j["version"] = reg::VersionName(v.number);
  j["number"] = v.number;
  j["kind"] = reg::KindName(v.kind);
  j["digest"] = v.digest;
  j["blob_path"] = BlobPathJson(store, v);
  if (r.at_seq) j["at_seq"] = *r.at_seq;
  if (r.back) j["back"] = *r.back;
  if (!args.mountpoint.empty()) j["path"] = MountPath(args.mountpoint, v);
  PrintJson(j);
}

// Set by SIGINT/SIGTERM while `history --follow` runs.
std::atomic<bool> stop_following{false};

extern "C" void OnStopSignal(int) { stop_following.store(true); }

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Prints `events` and returns the highest sequence number among them.
uint64_t PrintEvents(const std::vector<reg::Event>& events, bool json,
                     bool flush) {
  uint64_t last = 0;
  for (const auto& e : events) {
    fmt::print("{}\n", json ? reg::RenderJsonLine(e) : reg::RenderText(e));
    if (flush) std::fflush(stdout);
    last = std::max(last, e.seq);
  }
  return last;
}

reg::Status Follow(Store& store, reg::HistoryFilter filter, bool json) {
  constexpr auto kPollInterval = std::chrono::milliseconds(200);
  InstallStopHandlers();
  while (!stop_following.load()) {
    std::this_thread::sleep_for(kPollInterval);
    REGFS_ASSIGN_OR_RETURN(const uint64_t last, store.LastSeq());
    if (last <= filter.after_seq) continue;
    REGFS_ASSIGN_OR_RETURN(const auto events, store.History(filter));
    const uint64_t printed = PrintEvents(events, json, /*flush=*/true);
    // Skip past what did not match the filter, too.
    filter.after_seq = std::max({filter.after_seq, last, printed});
  }
  return {};
}

// --since MOMENT, as `--at` takes it: a time keeps events at or after it,
// event N keeps N and later ones, and `now` (the newest event, `last`)
// keeps only events yet to come.
reg::Status ApplySince(const std::string& since, uint64_t last,
                       reg::HistoryFilter& filter) {
  if (since.empty()) return {};
  // Checked by the option too.
  REGFS_ASSIGN_OR_RETURN(const reg::Moment moment, reg::ParseMoment(since));
  switch (moment.kind) {
    case reg::Moment::Kind::kNow:
      filter.after_seq = last;
      break;
    case reg::Moment::Kind::kEvent:
      filter.after_seq = moment.value > 0 ? moment.value - 1 : 0;
      break;
    case reg::Moment::Kind::kTime:
      filter.since = static_cast<reg::TimeMs>(moment.value);
      break;
  }
  return {};
}

}  // namespace

reg::Status RunLs(Context&, Store& store, const LsArgs& args) {
  if (args.target.empty()) return ListCollections(store, args.json);
  REGFS_ASSIGN_OR_RETURN(const auto ref,
                         ParseVersionRef(args.target, /*need_name=*/false));
  if (ref.name.empty()) {
    return ListCollection(store, ref.collection, args.json);
  }
  return ShowVersion(store, ref, args.json);
}

reg::Status RunResolve(Context&, Store& store, const ResolveArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const Resolution r,
                         LoadResolution(store, args.ref, args.at));
  const reg::Version& v = r.version;
  if (args.json) {
    PrintResolutionJson(store, args, args.ref, r);
  } else if (!args.mountpoint.empty()) {
    fmt::print("{}\n", MountPath(args.mountpoint, v));
  } else if (v.blob.empty()) {
    fmt::print("{}\n", reg::VersionName(v.number));
  } else {
    fmt::print("{} {}\n", reg::VersionName(v.number),
               BlobPathText(store, v.blob));
  }
  return {};
}

reg::Status PrepareHistory(HistoryArgs& args) {
  if (!args.target.empty()) {
    REGFS_ASSIGN_OR_RETURN(auto ref,
                           ParseVersionRef(args.target, /*need_name=*/false));
    args.filter.collection = std::move(ref.collection);
    args.filter.alias = std::move(ref.name);
  }
  if (!args.alias.empty()) args.filter.alias = args.alias;
  return {};
}

reg::Status RunHistory(Context&, Store& store, const HistoryArgs& args) {
  reg::HistoryFilter filter = args.filter;
  // Read the cursor before the backlog so that nothing falls in between.
  REGFS_ASSIGN_OR_RETURN(const uint64_t last, store.LastSeq());
  if (auto s = ApplySince(args.since, last, filter); !s) return s;
  REGFS_ASSIGN_OR_RETURN(const auto events, store.History(filter));
  if (events.empty() && !filter.collection.empty()) {
    // No events and no such collection: say so rather than print nothing.
    REGFS_TRY(store.GetCollection(filter.collection));
  }
  const uint64_t printed = PrintEvents(events, args.json, args.follow);
  if (!args.follow) return {};
  std::fflush(stdout);
  filter.after_seq = std::max(last, printed);
  return Follow(store, filter, args.json);
}

}  // namespace regfs::tools
