// Read-only commands: ls, resolve, history.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;
using reg::Registry;

Json BlobPathJson(const Registry& registry, const reg::Version& v) {
  if (v.blob.empty()) return Json(nullptr);
  return Json(registry.BlobPath(v.blob).string());
}

// ---- ls ----

struct LsArgs {
  std::string target;
  bool json = false;
};

int ListCollections(Registry& registry, bool json) {
  auto collections = registry.ListCollections();
  if (!collections) return ReportError(collections.error());
  if (json) {
    Json j = Json::array();
    for (const auto& c : *collections) j.push_back(ToJson(c));
    PrintJson(j);
    return kExitOk;
  }
  if (collections->empty()) {
    fmt::print(
        "no collections yet: add one with 'regfs push COLLECTION "
        "FILE'\n");
  } else {
    Table table({"COLLECTION", "KIND", "VERSIONS", "LATEST", "ALIASES"});
    for (const auto& c : *collections) {
      table.AddRow({c.name, std::string(reg::KindName(c.kind)),
                    std::to_string(c.version_count), VersionOrDash(c.latest),
                    std::to_string(c.alias_count)});
    }
    table.Print(stdout);
  }
  auto protected_names = registry.ListProtected();
  if (protected_names && !protected_names->empty()) {
    std::vector<std::string> names;
    for (const auto& p : *protected_names) names.push_back(p.name);
    fmt::print("\nprotected names: {}\n", JoinNames(names));
  }
  return kExitOk;
}

// A collection with its live versions (aliases filled in) and aliases.
struct CollectionListing {
  reg::Collection collection;
  std::vector<reg::Version> versions;
  std::vector<reg::Alias> aliases;
};

reg::Result<CollectionListing> LoadCollection(Registry& registry,
                                              const std::string& name) {
  CollectionListing listing;
  auto collection = registry.GetCollection(name);
  if (!collection) return std::unexpected(collection.error());
  listing.collection = std::move(*collection);
  auto versions = registry.ListVersions(name);
  if (!versions) return std::unexpected(versions.error());
  listing.versions = std::move(*versions);
  auto aliases = registry.ListAliases(name);
  if (!aliases) return std::unexpected(aliases.error());
  listing.aliases = std::move(*aliases);
  // ListVersions leaves out aliases; hang them on their versions here.
  std::map<uint64_t, std::vector<std::string>> by_version;
  for (const auto& a : listing.aliases) {
    by_version[a.version].push_back(a.name);
  }
  for (auto& v : listing.versions) v.aliases = by_version[v.number];
  return listing;
}

void PrintCollectionJson(const Registry& registry,
                         const CollectionListing& listing) {
  Json versions = Json::array();
  for (const auto& v : listing.versions) {
    Json jv = ToJson(v);
    jv["blob_path"] = BlobPathJson(registry, v);
    versions.push_back(std::move(jv));
  }
  Json aliases = Json::array();
  for (const auto& a : listing.aliases) aliases.push_back(ToJson(a));
  Json j;
  j["collection"] = ToJson(listing.collection);
  j["versions"] = std::move(versions);
  j["aliases"] = std::move(aliases);
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

int ListCollection(Registry& registry, const std::string& name, bool json) {
  auto listing = LoadCollection(registry, name);
  if (!listing) return ReportError(listing.error());
  if (json) {
    PrintCollectionJson(registry, *listing);
  } else {
    PrintCollectionText(*listing);
  }
  return kExitOk;
}

struct TreeFile {
  std::string path;  // relative to the version's root; dirs end in '/'
  reg::TreeEntry entry;
};

reg::Status WalkTree(Registry& registry, int64_t version_id, int64_t parent,
                     const std::string& prefix, std::vector<TreeFile>& out) {
  auto entries = registry.ListTree(version_id, parent);
  if (!entries) return std::unexpected(entries.error());
  for (const auto& e : *entries) {
    const std::string path = prefix + e.name + (e.is_dir ? "/" : "");
    out.push_back({path, e});
    if (!e.is_dir) continue;
    if (auto s = WalkTree(registry, version_id, e.id, path, out); !s) return s;
  }
  return {};
}

// One version in full, as `ls COLLECTION/NAME` shows it.
struct VersionDetail {
  reg::Version version;
  std::string alias;            // the alias it was named by, if any
  std::vector<TreeFile> files;  // every entry of a tree version
};

reg::Result<VersionDetail> LoadVersion(Registry& registry,
                                       const VersionRef& ref) {
  auto resolved = registry.Resolve(ref.collection, ref.name);
  if (!resolved) return std::unexpected(resolved.error());
  auto v = registry.GetVersion(ref.collection, resolved->number);
  if (!v) return std::unexpected(v.error());
  VersionDetail detail;
  detail.version = std::move(*v);
  if (!reg::ParseVersionName(ref.name)) detail.alias = ref.name;
  if (detail.version.kind == reg::Kind::kTree) {
    auto walked = WalkTree(registry, detail.version.id, 0, "", detail.files);
    if (!walked) return std::unexpected(walked.error());
  }
  return detail;
}

void PrintVersionJson(const Registry& registry, const VersionDetail& d) {
  Json j = ToJson(d.version);
  j["blob_path"] = BlobPathJson(registry, d.version);
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

void PrintVersionText(const Registry& registry, const VersionDetail& d) {
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
    table.AddRow({"blob:", registry.BlobPath(v.blob).string()});
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

int ShowVersion(Registry& registry, const VersionRef& ref, bool json) {
  auto detail = LoadVersion(registry, ref);
  if (!detail) return ReportError(detail.error());
  if (json) {
    PrintVersionJson(registry, *detail);
  } else {
    PrintVersionText(registry, *detail);
  }
  return kExitOk;
}

int RunLs(Context& ctx, const LsArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  if (args.target.empty()) return ListCollections(**registry, args.json);
  auto ref = ParseVersionRef(args.target, /*need_name=*/false);
  if (!ref) return ReportError(ref.error());
  if (ref->name.empty()) {
    return ListCollection(**registry, ref->collection, args.json);
  }
  return ShowVersion(**registry, *ref, args.json);
}

void AddLs(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<LsArgs>();
  auto* cmd = app.add_subcommand(
      "ls",
      "List collections; a collection's versions and aliases; or one "
      "version in full");
  cmd->group(kVersionsGroup);
  cmd->add_option("TARGET", args->target,
                  "COLLECTION, COLLECTION/vN or COLLECTION/ALIAS");
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, args, RunLs);
}

// ---- resolve ----

struct ResolveArgs {
  std::string target;
  bool json = false;
};

int RunResolve(Context& ctx, const ResolveArgs& args) {
  auto ref = ParseVersionRef(args.target, /*need_name=*/true);
  if (!ref) return ReportError(ref.error());
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto v = (*registry)->Resolve(ref->collection, ref->name);
  if (!v) return ReportError(v.error());
  const std::string name = reg::VersionName(v->number);
  if (args.json) {
    Json j;
    j["collection"] = v->collection;
    j["name"] = ref->name;
    j["version"] = name;
    j["number"] = v->number;
    j["kind"] = reg::KindName(v->kind);
    j["digest"] = v->digest;
    j["blob_path"] = BlobPathJson(**registry, *v);
    PrintJson(j);
  } else if (v->blob.empty()) {
    fmt::print("{}\n", name);
  } else {
    fmt::print("{} {}\n", name, (*registry)->BlobPath(v->blob).string());
  }
  return kExitOk;
}

void AddResolve(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ResolveArgs>();
  auto* cmd = app.add_subcommand(
      "resolve",
      "Print the version an alias names now (and its blob path for a file "
      "version), to pin it for a job");
  cmd->group(kVersionsGroup);
  cmd->add_option("TARGET", args->target, "COLLECTION/ALIAS")->required();
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, args, RunResolve);
}

// ---- history ----

struct HistoryArgs {
  std::string target;
  std::string alias;
  std::string since;
  bool follow = false;
  bool json = false;
};

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

int Follow(Registry& registry, reg::HistoryFilter filter, bool json) {
  constexpr auto kPollInterval = std::chrono::milliseconds(200);
  InstallStopHandlers();
  while (!stop_following.load()) {
    std::this_thread::sleep_for(kPollInterval);
    auto last = registry.LastSeq();
    if (!last) return ReportError(last.error());
    if (*last <= filter.after_seq) continue;
    auto events = registry.History(filter);
    if (!events) return ReportError(events.error());
    const uint64_t printed = PrintEvents(*events, json, /*flush=*/true);
    // Skip past what did not match the filter, too.
    filter.after_seq = std::max({filter.after_seq, *last, printed});
  }
  return kExitOk;
}

int RunHistory(Context& ctx, const HistoryArgs& args) {
  reg::HistoryFilter filter;
  if (!args.target.empty()) {
    auto ref = ParseVersionRef(args.target, /*need_name=*/false);
    if (!ref) return ReportError(ref.error());
    filter.collection = ref->collection;
    filter.alias = ref->name;
  }
  if (!args.alias.empty()) filter.alias = args.alias;
  if (!args.since.empty()) {
    auto since = reg::ParseTime(args.since);  // checked by the option too
    if (!since) return ReportError(since.error());
    filter.since = *since;
  }

  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  // Read the cursor before the backlog so that nothing falls in between.
  auto last = (*registry)->LastSeq();
  if (!last) return ReportError(last.error());
  auto events = (*registry)->History(filter);
  if (!events) return ReportError(events.error());
  const uint64_t printed = PrintEvents(*events, args.json, args.follow);
  if (!args.follow) return kExitOk;
  std::fflush(stdout);
  filter.after_seq = std::max(*last, printed);
  return Follow(**registry, filter, args.json);
}

void AddHistory(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd =
      app.add_subcommand("history",
                         "Show the event log, oldest first (all events, or one "
                         "collection's or alias's)");
  cmd->group(kAliasesGroup);
  cmd->add_option("TARGET", args->target, "COLLECTION or COLLECTION/ALIAS");
  cmd->add_option("--alias", args->alias, "Only events of this alias");
  cmd->add_option("--since", args->since,
                  "Only events at or after TIME (2026-11-22T04:53Z, "
                  "2026-11-22, @SECONDS; UTC)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto t = reg::ParseTime(text);
            return t ? std::string() : t.error().message;
          },
          "TIME"));
  cmd->add_flag("--follow,-f", args->follow,
                "Keep printing new events until interrupted");
  cmd->add_flag("--json", args->json,
                "Print JSON Lines, as the mount's history files do");
  OnSelected(cmd, ctx, args, RunHistory);
}

}  // namespace

void AddBrowseCommands(CLI::App& app, Context& ctx) {
  AddLs(app, ctx);
  AddResolve(app, ctx);
  AddHistory(app, ctx);
}

}  // namespace regfs::tools
