// Commands on the store as a whole: init, push, rm, fsck, gc, whoami, mount.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "fs/mount.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "registry/shared_store.h"
#include "registry/whoami.h"
#include "tools/commands.h"
#include "tools/mount_delivery.h"
#include "tools/output.h"
#include "tools/progress.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// ---- init ----

struct InitArgs {
  std::string metadata;  // a shared store's PostgreSQL conninfo
  std::string blobs;     // and its shared blob directory, or s3://…
  std::string s3_endpoint;
  std::string cache_size;
};

// The shared store `args` describe.
reg::Result<reg::SharedStoreConfig> SharedConfigOf(const InitArgs& args) {
  reg::SharedStoreConfig config;
  config.metadata = args.metadata;
  REGFS_TRY(reg::SetBlobsLocation(config, args.blobs));
  if (!config.s3 && (!args.s3_endpoint.empty() || !args.cache_size.empty())) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     "--s3-endpoint and --cache-size go with --blobs "
                     "s3://BUCKET/PREFIX");
  }
  if (config.s3) config.s3->endpoint = args.s3_endpoint;
  if (!args.cache_size.empty()) {
    REGFS_ASSIGN_OR_RETURN(config.cache_size,
                           reg::ParseByteSize(args.cache_size));
  }
  return config;
}

reg::Status RunInit(Context& ctx, const InitArgs& args) {
  const std::filesystem::path store = ctx.StorePath();
  // The per-user default (~/.local/share/regfs) may lack its parents on a
  // fresh account; make them as `mkdir -p` would. The store itself is
  // Init's to create, with its own mode.
  std::error_code ec;
  std::filesystem::create_directories(store.parent_path(), ec);
  if (ec) {
    return reg::Fail(reg::Code::kIoError,
                     fmt::format("cannot create {}: {}",
                                 store.parent_path().string(), ec.message()));
  }
  if (args.metadata.empty()) {
    REGFS_TRY(reg::Registry::Init(store, ctx.identity()));
    fmt::print("initialized an empty store at {}\n", store.string());
    return {};
  }
  REGFS_ASSIGN_OR_RETURN(const reg::SharedStoreConfig config,
                         SharedConfigOf(args));
  bool joined = false;
  REGFS_TRY(reg::InitSharedStore(store, ctx.identity(), config, &joined));
  // InitShared refused a conninfo with a password: this one can be shown.
  const std::string& where = args.metadata;
  if (joined) {
    fmt::print("joined the existing registry in {} (blobs in {}) at {}\n",
               where, args.blobs, store.string());
  } else {
    fmt::print(
        "initialized an empty shared registry in {} (blobs in {}) at "
        "{}\n",
        where, args.blobs, store.string());
  }
  if (config.s3) {
    fmt::print("this node caches up to {} of the blobs in {}\n",
               FormatSize(config.cache_size), (store / "blobs").string());
  }
  return {};
}

void AddInit(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<InitArgs>(
      app, kStoreGroup, "init",
      "Create an empty store (mode 0700; you are its owner and admin)");
  auto* metadata = cmd->add_option(
      "--metadata", args->metadata,
      "A shared store: the registry's PostgreSQL database "
      "(postgresql://USER@HOST/DB; no password: use ~/.pgpass or PGPASSFILE); "
      "joins it if it already holds a registry");
  auto* blobs = cmd->add_option(
      "--blobs", args->blobs,
      "A shared store: the blob directory every node shares (absolute "
      "path), or s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID, "
      "... or ~/.aws/credentials)");
  auto* endpoint = cmd->add_option(
      "--s3-endpoint", args->s3_endpoint,
      "Blobs in S3: the service's URL, for MinIO, Ceph RGW and the like "
      "(default: AWS_ENDPOINT_URL, else AWS)");
  auto* cache_size = cmd->add_option(
      "--cache-size", args->cache_size,
      "Blobs in S3: this node's cache bound (200G, 512M; default 100G)");
  metadata->needs(blobs);
  blobs->needs(metadata);
  endpoint->needs(blobs);
  cache_size->needs(blobs);
  OnSelected(cmd, ctx, [&ctx, args] { return ExitCode(RunInit(ctx, *args)); });
}

// ---- push ----

struct PushArgs {
  std::string collection;
  std::vector<std::string> paths;
  std::vector<std::string> aliases;
  std::vector<std::string> tags;
  std::vector<std::string> meta;
  std::string description;
  bool follow_symlinks = false;
  bool json = false;
};

// The bytes a push of `paths` will copy, for deciding on a progress bar.
// Unreadable entries count as nothing: Push() reports them properly.
uint64_t TotalSize(const std::vector<std::string>& paths, bool follow) {
  namespace stdfs = std::filesystem;
  uint64_t total = 0;
  for (const auto& path : paths) {
    std::error_code ec;
    const auto status =
        follow ? stdfs::status(path, ec) : stdfs::symlink_status(path, ec);
    if (ec) continue;
    if (stdfs::is_regular_file(status)) {
      total += stdfs::file_size(path, ec);
      continue;
    }
    if (!stdfs::is_directory(status)) continue;
    // Without following, links are not walked (the push refuses them);
    // with it, a loop ends the count early (the push reports it).
    const auto options =
        stdfs::directory_options::skip_permission_denied |
        (follow ? stdfs::directory_options::follow_directory_symlink
                : stdfs::directory_options::none);
    for (auto it = stdfs::recursive_directory_iterator(path, options, ec);
         !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code size_ec;
      if (it->is_regular_file(size_ec)) {
        const uint64_t size = it->file_size(size_ec);
        if (!size_ec) total += size;
      }
    }
  }
  return total;
}

// "models/v2  (1.2 MiB, digest …)  aliases: latest, candidate".
std::string PushSummary(const reg::Version& v) {
  std::string shape =
      v.kind == reg::Kind::kTree
          ? fmt::format("tree, {} file{}, ", v.files, v.files == 1 ? "" : "s")
          : std::string();
  std::string line = fmt::format("{}/{}  ({}{}, digest {})", v.collection,
                                 reg::VersionName(v.number), shape,
                                 FormatSize(v.size), v.digest);
  if (!v.aliases.empty()) line += "  aliases: " + JoinNames(v.aliases);
  if (!v.tags.empty()) line += "  tags: " + JoinNames(v.tags);
  return line;
}

reg::PushRequest MakePushRequest(const PushArgs& args) {
  reg::PushRequest request;
  request.collection = args.collection;
  for (const auto& path : args.paths) request.paths.emplace_back(path);
  request.aliases = args.aliases;
  request.tags = args.tags;
  for (const auto& kv : args.meta) {
    const size_t eq = kv.find('=');  // the option's check guarantees one
    request.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  request.description = args.description;
  request.follow_symlinks = args.follow_symlinks;
  return request;
}

reg::Status RunPush(Context&, Store& store, const PushArgs& args) {
  reg::PushRequest request = MakePushRequest(args);
  std::unique_ptr<ProgressBar> bar;
  if (IsTerminal(STDERR_FILENO) &&
      TotalSize(args.paths, args.follow_symlinks) > kProgressThreshold) {
    bar = std::make_unique<ProgressBar>(stderr, "pushing " + args.collection);
    request.progress = [&bar](uint64_t done, uint64_t total) {
      bar->Update(done, total);
    };
  }
  auto pushed = store.Push(request);
  if (bar) bar->Finish();
  REGFS_ASSIGN_OR_RETURN(const reg::Version version, std::move(pushed));

  // Push returns the version as stored, aliases and tags included.
  if (args.json) {
    PrintJson(ToJsonWithBlobPath(store, version));
  } else {
    fmt::print("{}\n", PushSummary(version));
  }
  return {};
}

void AddPush(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<PushArgs>(
      app, kVersionsGroup, "push",
      "Add a new version to COLLECTION: one file makes a file version, "
      "several files or a directory make a tree version");
  cmd->add_option("COLLECTION", args->collection, "Collection name")
      ->required();
  cmd->add_option("PATH", args->paths, "Files or directories to push")
      ->required();
  cmd->add_option("--alias,-a", args->aliases,
                  "Point this alias at the new version (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--tag,-t", args->tags, "Tag the new version (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--meta,-m", args->meta, "Metadata KEY=VALUE (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(
          [](std::string& kv) -> std::string {
            const size_t eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) {
              return "metadata '" + kv + "' is not KEY=VALUE";
            }
            return {};
          },
          "KEY=VALUE"));
  cmd->add_option("--description,-d", args->description,
                  "A description of the new version");
  cmd->add_flag("-L,--follow-symlinks", args->follow_symlinks,
                "Push what symbolic links point to, as cp -L does (e.g. a "
                "Hugging Face snapshot folder); without it links are refused");
  cmd->add_flag("--json", args->json, "Print the new version as JSON");
  OnSelected(cmd, ctx, StoreAction(ctx, args, RunPush));
}

// ---- rm ----

struct RmArgs {
  std::string version;
  bool all = false;  // COLLECTION --all: the collection and everything in it
  // Set by PrepareRm when `version` is COLLECTION/vN rather than COLLECTION.
  VersionRef ref;
  std::optional<uint64_t> number;
};

reg::Status PrepareRm(RmArgs& args) {
  if (args.version.find('/') == std::string::npos) return {};
  if (args.all) {
    return reg::Fail(
        reg::Code::kInvalidArgument,
        fmt::format("--all deletes a whole collection: 'regfs rm COLLECTION "
                    "--all', not '{}'",
                    args.version));
  }
  REGFS_ASSIGN_OR_RETURN(VersionRef ref,
                         ParseVersionRef(args.version, /*need_name=*/true));
  args.number = reg::ParseVersionName(ref.name);
  if (!args.number) {
    return reg::Fail(
        reg::Code::kInvalidArgument,
        fmt::format("'{}' does not name a version: rm takes COLLECTION/vN "
                    "(remove an alias with 'regfs alias rm')",
                    args.version));
  }
  args.ref = std::move(ref);
  return {};
}

// `regfs rm COLLECTION/vN`; `regfs rm COLLECTION [--all]`: an empty
// collection (members), or with --all its versions and aliases too
// (admins).
reg::Status RunRm(Context&, Store& store, const RmArgs& args) {
  if (!args.number) {
    auto done = store.DeleteCollection(args.version, args.all);
    if (!done) return done;
    fmt::print("deleted collection {}\n", args.version);
    return {};
  }
  auto done = store.DeleteVersion(args.ref.collection, *args.number);
  if (!done) return done;
  fmt::print("deleted {}/{}\n", args.ref.collection, args.ref.name);
  return {};
}

void AddRm(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<RmArgs>(
      app, kVersionsGroup, "rm",
      "Delete a version (admin only; its aliases are removed too), or an "
      "empty collection; --all deletes a collection with its versions and "
      "aliases (admin only)");
  cmd->add_option("VERSION", args->version, "COLLECTION/vN or COLLECTION")
      ->required();
  cmd->add_flag("--all", args->all,
                "Delete the collection with all its versions and aliases");
  OnSelected(cmd, ctx, StoreAction(ctx, args, PrepareRm, RunRm));
}

// ---- fsck ----

struct FsckArgs {
  bool json = false;
  bool repair = false;
  bool contents = false;
};

// "enabled on 12 blobs", "not supported by the store's file system".
std::string VerityLine(const reg::FsckReport& report) {
  if (report.verity_supported == false) {
    return "not supported by the store's file system (blobs are verified "
           "when first opened instead)";
  }
  return fmt::format("enabled on {} blob{}", report.verity_blobs,
                     report.verity_blobs == 1 ? "" : "s");
}

reg::Status RunFsck(Context&, reg::Registry& registry, const FsckArgs& args) {
  REGFS_ASSIGN_OR_RETURN(
      const auto report,
      registry.Fsck({.repair = args.repair, .contents = args.contents}));
  if (args.json) {
    Json j;
    j["clean"] = report.clean();
    j["versions"] = report.versions;
    j["blobs"] = report.blobs;
    j["bytes"] = report.bytes;
    j["problems"] = report.problems;
    j["affected"] = report.affected;
    if (args.repair) {
      j["verity_blobs"] = report.verity_blobs;
      if (report.verity_supported) {
        j["verity_supported"] = *report.verity_supported;
      }
    }
    PrintJson(j);
  } else {
    for (const auto& problem : report.problems) fmt::print("{}\n", problem);
    for (const auto& version : report.affected) {
      fmt::print("affected: {}\n", version);
    }
    if (args.repair) fmt::print("fs-verity: {}\n", VerityLine(report));
    fmt::print("checked {} versions and {} blobs ({}): {}\n", report.versions,
               report.blobs, FormatSize(report.bytes),
               report.clean()
                   ? "clean"
                   : fmt::format("{} problem{}", report.problems.size(),
                                 report.problems.size() == 1 ? "" : "s"));
  }
  if (report.clean()) return {};
  return reg::Fail(
      reg::Code::kCorruption,
      fmt::format("fsck found {} problem{} in {}", report.problems.size(),
                  report.problems.size() == 1 ? "" : "s",
                  registry.store().string()));
}

void AddFsck(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<FsckArgs>(
      app, kStoreGroup, "fsck",
      "Check every blob's size and hash and every reference; exit 1 if "
      "anything is wrong");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->add_flag("--repair", args->repair,
                "Also enable fs-verity on every intact blob that lacks it, "
                "where the file system supports it");
  cmd->add_flag("--contents", args->contents,
                "Blobs in S3: read every object and check its hash, not "
                "only that it is there with its size");
  OnSelected(cmd, ctx, DirectAction(ctx, "fsck", args, RunFsck));
}

// ---- gc ----

reg::Status RunGc(Context& ctx, reg::Registry& registry, const JsonArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const auto report, registry.Gc(ctx.identity()));
  const reg::BlobGcReport& r = report.blobs;
  if (args.json) {
    Json j;
    j["blobs_removed"] = r.blobs_removed;
    j["bytes_removed"] = r.bytes_removed;
    j["temps_removed"] = r.temps_removed;
    j["drafts_removed"] = report.drafts.abandoned + report.drafts.published;
    if (registry.HasRemoteBlobs()) {
      j["uploads_aborted"] = r.uploads_aborted;
      j["cached_removed"] = r.cached_removed;
    }
    PrintJson(j);
  } else {
    fmt::print(
        "removed {} unreferenced blob{} ({}) and {} stale temporary "
        "file{}\n",
        r.blobs_removed, r.blobs_removed == 1 ? "" : "s",
        FormatSize(r.bytes_removed), r.temps_removed,
        r.temps_removed == 1 ? "" : "s");
    if (registry.HasRemoteBlobs()) {
      fmt::print(
          "aborted {} unfinished upload{}{}; dropped {} unreferenced blob{} "
          "from this node's cache\n",
          r.uploads_aborted, r.uploads_aborted == 1 ? "" : "s",
          r.uploads_unlisted ? " (the server does not list them)" : "",
          r.cached_removed, r.cached_removed == 1 ? "" : "s");
    }
    const reg::DraftGcReport& d = report.drafts;
    if (d.abandoned + d.published > 0) {
      fmt::print("removed {} abandoned and {} published draft{} ({})\n",
                 d.abandoned, d.published,
                 d.abandoned + d.published == 1 ? "" : "s",
                 FormatSize(d.bytes_removed));
    }
  }
  return {};
}

void AddGc(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<JsonArgs>(
      app, kStoreGroup, "gc",
      "Remove unreferenced blobs and abandoned temporary files (safe while "
      "pushes run)");
  cmd->add_flag("--json", args->json, "Print the counts as JSON");
  OnSelected(cmd, ctx, DirectAction(ctx, "gc", args, RunGc));
}

// ---- whoami ----

reg::Status RunWhoami(Context&, Store& store, const JsonArgs& args) {
  // The caller as the store sees it: through a mount, as the daemon does.
  REGFS_ASSIGN_OR_RETURN(const reg::WhoAmI whoami, store.WhoAmI());
  const reg::Identity& who = whoami.who;
  if (args.json) {
    // The mount's .regfs/whoami, then the store.
    PrintJson(reg::ToJson(whoami));
    return {};
  }
  std::vector<std::string> groups;
  for (size_t i = 0; i < who.groups.size(); ++i) {
    groups.push_back(
        fmt::format("{}({})", who.groups[i],
                    i < who.group_names.size() ? who.group_names[i] : "?"));
  }
  Table table({});
  table.AddRow({"uid:", std::to_string(who.uid)});
  table.AddRow({"user:", who.user});
  table.AddRow({"groups:", JoinNames(groups)});
  table.AddRow({"role:", whoami.role ? std::string(reg::RoleName(*whoami.role))
                                     : std::string("unknown")});
  table.AddRow({"store:", whoami.store});
  table.Print(stdout);
  return {};
}

void AddWhoami(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<JsonArgs>(
      app, kStoreGroup, "whoami",
      "Show your uid, user name, groups and role in the store");
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, StoreAction(ctx, args, RunWhoami));
}

// ---- mount ----

struct MountArgs {
  std::string mountpoint;
  std::vector<std::string> options;
  bool foreground = false;
  std::string log_level = "info";
  std::string log_file;
  std::string as_of;
};

int RunMountCommand(Context& ctx, const MountArgs& args) {
  fs::MountOptions options;
  options.store = ctx.StorePath();
  std::error_code ec;
  options.mountpoint = std::filesystem::absolute(args.mountpoint, ec);
  if (ec) options.mountpoint = args.mountpoint;
  options.fuse_options = args.options;  // fs splits the comma lists
  options.as_of = args.as_of;
  options.foreground = args.foreground;
  options.log_level = args.log_level;
  if (!args.log_file.empty()) {
    options.log_file = std::filesystem::absolute(args.log_file, ec);
    if (ec) options.log_file = args.log_file;
  }
  // The daemon delivers automations unless -o nodelivery.
  if (const reg::Status delivery = SetUpDelivery(options); !delivery) {
    std::fprintf(stderr, "regfs: %s\n", delivery.error().message.c_str());
    return 1;
  }
  return fs::RunMount(options);
}

void AddMount(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<MountArgs>(
      app, kStoreGroup, "mount",
      "Serve the store as a filesystem at MOUNTPOINT (stop with umount or "
      "fusermount3 -u)");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "An empty directory")
      ->required();
  cmd->add_option("-o", args->options,
                  "Mount options, comma separated (allow_other, ro, "
                  "nopassthrough, draftpassthrough, nodelivery: no delivery "
                  "of automations by this daemon, ...; see regfs(1))")
      ->allow_extra_args(false);
  cmd->add_flag("-f,--foreground", args->foreground,
                "Stay in the foreground instead of daemonizing");
  cmd->add_option("--log-level", args->log_level, "Daemon log level")
      ->check(CLI::IsMember(
          {"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  cmd->add_option("--log-file", args->log_file,
                  "Write the daemon's log here instead of stderr");
  AddMomentOption(cmd, "--as-of", args->as_of,
                  "Freeze the mount at MOMENT: read-only, every alias "
                  "resolves as it did right after it (now, an event number, "
                  "or a UTC time such as 2026-11-22T04:53:02Z)");
  // fs::RunMount reports its own errors and picks the exit code.
  OnSelected(cmd, ctx, [&ctx, args] { return RunMountCommand(ctx, *args); });
}

}  // namespace

void AddStoreCommands(CLI::App& app, Context& ctx) {
  AddInit(app, ctx);
  AddPush(app, ctx);
  AddRm(app, ctx);
  AddFsck(app, ctx);
  AddVerify(app, ctx);
  AddGc(app, ctx);
  AddWhoami(app, ctx);
  AddMount(app, ctx);
}

}  // namespace regfs::tools
