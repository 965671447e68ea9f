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
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/mount_delivery.h"
#include "tools/output.h"
#include "tools/progress.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

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

// "enabled on 12 blobs", "not supported by the store's file system".
std::string VerityLine(const reg::FsckReport& report) {
  if (report.verity_supported == false) {
    return "not supported by the store's file system (blobs are verified "
           "when first opened instead)";
  }
  return fmt::format("enabled on {} blob{}", report.verity_blobs,
                     report.verity_blobs == 1 ? "" : "s");
}

}  // namespace

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

}  // namespace regfs::tools
