// Every subcommand of `regfs`: its name, its place in `--help`, its
// options and their help, bound to the arguments and actions of
// tools/actions.h. The whole command line in one place, in `--help` order.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "registry/model.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "registry/replay.h"
#include "registry/search.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/context.h"

namespace regfs::tools {
namespace {

// ---- init, push, rm, fsck, verify, gc, whoami, mount ----

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

void AddGc(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<JsonArgs>(
      app, kStoreGroup, "gc",
      "Remove unreferenced blobs and abandoned temporary files (safe while "
      "pushes run)");
  cmd->add_flag("--json", args->json, "Print the counts as JSON");
  OnSelected(cmd, ctx, DirectAction(ctx, "gc", args, RunGc));
}

void AddWhoami(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<JsonArgs>(
      app, kStoreGroup, "whoami",
      "Show your uid, user name, groups and role in the store");
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, StoreAction(ctx, args, RunWhoami));
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

void AddVerify(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<VerifyArgs>(
      app, kVersionsGroup, "verify",
      "Hash the files of a version (or of every version of a collection) "
      "now; exit 1 if any is corrupt");
  cmd->add_option("TARGET", args->target,
                  "COLLECTION, or COLLECTION/VERSION (vN or an alias)")
      ->required();
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  OnSelected(
      cmd, ctx,
      DirectAction(ctx, "verify", args,
                   ParseTarget<VerifyArgs>(/*need_name=*/false), RunVerify));
}

// ---- cache ls, warm, drop ----

void AddCache(CLI::App& app, Context& ctx) {
  CLI::App* cache = NewCommandGroup(
      app, "cache",
      "This node's cache of a store whose blobs are in S3: ls, warm, drop");
  {
    auto [cmd, args] = NewCommand<JsonArgs>(
        *cache, nullptr, "ls",
        "List the cached blobs, least recently used first, and the cache's "
        "size against its bound");
    cmd->add_flag("--json", args->json, "Print the cache as JSON");
    OnSelected(cmd, ctx, DirectAction(ctx, "cache ls", args, RunCacheLs));
  }
  {
    auto [cmd, args] = NewCommand<CacheWarmArgs>(
        *cache, nullptr, "warm",
        "Fetch versions into the cache now (COLLECTION/ALIAS, "
        "COLLECTION/vN), so that the next open does not wait");
    cmd->add_option("refs", args->refs, "COLLECTION/ALIAS or COLLECTION/vN")
        ->required();
    cmd->add_flag("--json", args->json, "Print what was fetched as JSON");
    OnSelected(
        cmd, ctx,
        DirectAction(ctx, "cache warm", args, PrepareCacheWarm, RunCacheWarm));
  }
  {
    auto [cmd, args] = NewCommand<JsonArgs>(
        *cache, nullptr, "drop",
        "Remove every cached blob that is not open (admin only)");
    cmd->add_flag("--json", args->json, "Print the counts as JSON");
    OnSelected(cmd, ctx, DirectAction(ctx, "cache drop", args, RunCacheDrop));
  }
  cache->group(kStoreGroup);
}

// ---- ls, resolve, history, search ----

void AddLs(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<LsArgs>(
      app, kVersionsGroup, "ls",
      "List collections; a collection's versions and aliases; or one "
      "version in full");
  cmd->add_option("TARGET", args->target,
                  "COLLECTION, COLLECTION/vN or COLLECTION/ALIAS");
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, StoreAction(ctx, args, RunLs));
}

void AddResolve(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<ResolveArgs>(
      app, kVersionsGroup, "resolve",
      "Print the version an alias names (now, at a past moment, or N changes "
      "ago) and its blob path for a file version, to pin it for a job");
  cmd->add_option("TARGET", args->target,
                  "COLLECTION/ALIAS, or COLLECTION/ALIAS@{N} for the alias's "
                  "N-th previous target")
      ->required();
  AddMomentOption(cmd, "--at", args->at,
                  "Resolve the alias as it was right after MOMENT: now, an "
                  "event number (see 'regfs history'), or a UTC time "
                  "(2026-11-22T04:53:02Z, 2026-11-22, @SECONDS)");
  cmd->add_option("--path", args->mountpoint,
                  "Print only MOUNTPOINT/COLLECTION/vN, the version's "
                  "immutable path under a regfs mount of this store "
                  "(MOUNTPOINT is not checked: it may be a container's path)")
      ->type_name("MOUNTPOINT");
  cmd->add_flag("--json", args->json, "Print as JSON");
  auto action = StoreAction(
      ctx, args, ParseTarget<ResolveArgs>(/*need_name=*/true), RunResolve);
  cmd->callback([&ctx, args, action] {
    // Both name a past target: a usage error, reported as the parse's own.
    const auto ref = ParseVersionRef(args->target, /*need_name=*/true);
    if (!args->at.empty() && ref && registry::ParseReflogName(ref->name)) {
      throw CLI::ValidationError(
          "--at", "cannot be combined with ALIAS@{N}: use one or the other");
    }
    ctx.SetAction(action);
  });
}

void AddHistory(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<HistoryArgs>(
      app, kAliasesGroup, "history",
      "Show the event log, oldest first (all events, or one "
      "collection's or alias's)");
  cmd->add_option("TARGET", args->target, "COLLECTION or COLLECTION/ALIAS");
  cmd->add_option("--alias", args->alias, "Only events of this alias");
  AddMomentOption(cmd, "--since", args->since,
                  "Only events from MOMENT on: a UTC time (2026-11-22T04:53Z, "
                  "2026-11-22, @SECONDS), an event number, or now (only "
                  "events yet to come, with --follow)");
  cmd->add_flag("--follow,-f", args->follow,
                "Keep printing new events until interrupted");
  cmd->add_flag("--json", args->json,
                "Print JSON Lines, as the mount's history files do");
  OnSelected(cmd, ctx, StoreAction(ctx, args, PrepareHistory, RunHistory));
}

void AddSearch(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<SearchArgs>(
      app, kVersionsGroup, "search",
      "Find TERM (ignoring case) in collection and alias names, tags, "
      "metadata, descriptions and file names; results grouped by what "
      "matched");
  cmd->add_option("TERM", args->term,
                  "Text to find anywhere in a name or value, literally")
      ->required();
  cmd->add_option(
         "--limit", args->limit,
         fmt::format("Matches shown per group (default {}, at most "
                     "{}); the rest are counted",
                     registry::kSearchLimit, registry::kSearchMaxLimit))
      ->check(CLI::Range(uint64_t{1}, registry::kSearchMaxLimit));
  cmd->add_flag("--json", args->json, "Print as JSON");
  OnSelected(cmd, ctx, StoreAction(ctx, args, RunSearch));
}

// ---- alias, tag, protect, unprotect ----

void AddAlias(CLI::App& app, Context& ctx) {
  auto* parent = NewCommandGroup(
      app, "alias", "Create, move, rename, remove and list aliases");

  auto [set, set_args] = NewCommand<AliasArgs>(
      *parent, nullptr, "set",
      "Point ALIAS at TARGET (a version or another alias), creating "
      "it if needed");
  set->add_option("COLLECTION", set_args->collection)->required();
  set->add_option("ALIAS", set_args->alias)->required();
  set->add_option("TARGET", set_args->target, "vN, or an alias name")
      ->required();
  set->add_option("--expect", set_args->expect,
                  "Move only if ALIAS now names this version ('none': only "
                  "if it does not exist)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text == "none" || registry::ParseVersionName(text)) return {};
            return "--expect takes vN or none, not '" + text + "'";
          },
          "vN|none"));
  OnSelected(set, ctx, StoreAction(ctx, set_args, RunAliasSet));

  auto [rm, rm_args] =
      NewCommand<AliasArgs>(*parent, nullptr, "rm", "Remove an alias");
  rm->add_option("COLLECTION", rm_args->collection)->required();
  rm->add_option("ALIAS", rm_args->alias)->required();
  OnSelected(rm, ctx, StoreAction(ctx, rm_args, RunAliasRm));

  auto [mv, mv_args] =
      NewCommand<AliasArgs>(*parent, nullptr, "mv", "Rename an alias");
  mv->add_option("COLLECTION", mv_args->collection)->required();
  mv->add_option("FROM", mv_args->alias)->required();
  mv->add_option("TO", mv_args->target)->required();
  mv->add_flag("--force,-f", mv_args->force, "Replace TO if it exists");
  OnSelected(mv, ctx, StoreAction(ctx, mv_args, RunAliasMv));

  auto [ls, ls_args] = NewCommand<AliasArgs>(*parent, nullptr, "ls",
                                             "List a collection's aliases");
  ls->add_option("COLLECTION", ls_args->collection)->required();
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, StoreAction(ctx, ls_args, RunAliasLs));
  // Set last: subcommands inherit the group they are created under.
  parent->group(kAliasesGroup);
}

void AddTag(CLI::App& app, Context& ctx) {
  auto* parent = NewCommandGroup(app, "tag", "Add or remove version tags");
  for (const bool remove : {false, true}) {
    auto [cmd, args] = NewCommand<TagArgs>(
        *parent, nullptr, remove ? "rm" : "add",
        remove ? "Remove TAG from a version" : "Add TAG to a version");
    args->remove = remove;
    cmd->add_option("VERSION", args->target, "COLLECTION/vN")->required();
    cmd->add_option("TAG", args->tag)->required();
    OnSelected(cmd, ctx,
               StoreAction(ctx, args, ParseTarget<TagArgs>(/*need_name=*/true),
                           RunTag));
  }
  // Set last: subcommands inherit the group they are created under.
  parent->group(kVersionsGroup);
}

void AddProtect(CLI::App& app, Context& ctx) {
  for (const bool protect : {true, false}) {
    auto [cmd, args] = NewCommand<NameArgs>(
        app, kAliasesGroup, protect ? "protect" : "unprotect",
        protect ? "Reserve an alias name, in every collection, to admins"
                : "Make a protected alias name ordinary again");
    args->protect = protect;
    cmd->add_option("NAME", args->name, "An alias name, e.g. production")
        ->required();
    OnSelected(cmd, ctx, StoreAction(ctx, args, RunProtect));
  }
}

// ---- role ----

// Accepts what registry::ParseRole accepts, with its message.
CLI::Validator RoleValidator() {
  std::string names;
  for (const registry::Role role :
       {registry::Role::kAdmin, registry::Role::kMember,
        registry::Role::kViewer, registry::Role::kNone}) {
    names += (names.empty() ? "" : "|") + std::string(registry::RoleName(role));
  }
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto role = registry::ParseRole(text);
        return role ? std::string() : role.error().message;
      },
      names);
}

void AddRole(CLI::App& app, Context& ctx) {
  auto* parent = NewCommandGroup(
      app, "role", "Grant, revoke and list roles (admin, member, viewer)");

  auto [grant, grant_args] = NewCommand<RoleArgs>(
      *parent, nullptr, "grant",
      "Give PRINCIPAL (a user name or uid, group:NAME or group:GID, or *) a "
      "role; none denies the user or group what the default gives");
  grant->add_option("PRINCIPAL", grant_args->principal)->required();
  grant->add_option("ROLE", grant_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(grant, ctx,
             StoreAction(ctx, grant_args, PrepareGrant, RunRoleGrant));

  auto [def, default_args] = NewCommand<RoleArgs>(
      *parent, nullptr, "default", "Set the role of everyone without a grant");
  default_args->principal = registry::Registry::kDefaultPrincipal;
  def->add_option("ROLE", default_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(def, ctx,
             StoreAction(ctx, default_args, PrepareGrant, RunRoleGrant));

  auto [revoke, revoke_args] = NewCommand<RoleArgs>(*parent, nullptr, "revoke",
                                                    "Remove PRINCIPAL's grant");
  revoke->add_option("PRINCIPAL", revoke_args->principal)->required();
  OnSelected(revoke, ctx, StoreAction(ctx, revoke_args, RunRoleRevoke));

  auto [ls, ls_args] = NewCommand<RoleArgs>(*parent, nullptr, "ls",
                                            "List grants and the default role");
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, StoreAction(ctx, ls_args, RunRoleLs));
  // Set last: subcommands inherit the group they are created under.
  parent->group(kStoreGroup);
}

// ---- drafts ----

void AddDrafts(CLI::App& app, Context& ctx) {
  auto* parent = NewCommandGroup(
      app, "drafts", "List and remove drafts; show or set their limits");

  auto [ls, ls_args] = NewCommand<DraftArgs>(
      *parent, nullptr, "ls",
      "List your drafts (an admin: everyone's), with size and idle time");
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, DirectAction(ctx, "drafts ls", ls_args, RunDraftsLs));

  auto [rm, rm_args] = NewCommand<DraftArgs>(
      *parent, nullptr, "rm",
      "Discard draft NAME (.model.pt) in COLLECTION: yours, or as an "
      "admin anyone's (--user)");
  rm->add_option("COLLECTION", rm_args->collection)->required();
  rm->add_option("NAME", rm_args->name)->required();
  rm->add_option("--user,-u", rm_args->user,
                 "The draft's writer (a user name or uid; default: you)");
  OnSelected(
      rm, ctx,
      DirectAction(ctx, "drafts rm", rm_args, PrepareDraftsRm, RunDraftsRm));

  auto [limits, limits_args] = NewCommand<DraftArgs>(
      *parent, nullptr, "limits",
      "Show the per-user quota and idle time of drafts; set them "
      "(admin)");
  limits->add_option("--quota", limits_args->quota,
                     "Bytes of drafts per user (e.g. 50G, 1T)");
  limits->add_option("--idle", limits_args->idle,
                     "Remove drafts untouched for this long (e.g. 3d, 12h)");
  limits->add_flag("--json", limits_args->json, "Print as JSON");
  OnSelected(limits, ctx,
             DirectAction(ctx, "drafts limits", limits_args,
                          PrepareDraftsLimits, RunDraftsLimits));
  // Set last: subcommands inherit the group they are created under.
  parent->group(kStoreGroup);
}

// ---- automation ----

void AddTuning(CLI::App* cmd, AutomationArgs& a, bool run) {
  cmd->add_option("--exec-timeout-ms", a.exec_timeout_ms,
                  run ? "Kill a command after this long (default 60000)"
                      : "Kill a command after this long (default 60000; "
                        "through a mount at most 10000)");
  if (!run) return;
  cmd->add_option("--poll-ms", a.poll_ms,
                  "Look for events nobody announced this often "
                  "(default 1000)");
  cmd->add_option("--lease-ms", a.lease_ms,
                  "How long the lease outlives a deliverer that died "
                  "(default 30000)");
  cmd->add_option("--retry-base-ms", a.retry_base_ms,
                  "First retry after this long, doubling to an hour; failed "
                  "after a day (default 1000)");
}

void AddAutomationAdd(CLI::App* parent, Context& ctx) {
  auto args = std::make_shared<AutomationArgs>();
  auto* add = parent->add_subcommand(
      "add", "Deliver history events to a webhook or a command");
  add->add_option("NAME", args->name)->required();
  add->add_option("--on", args->on,
                  "Event kinds, comma-separated (alias.move,version.create)")
      ->required();
  add->add_option("--collection", args->collection, "Only this collection");
  add->add_option("--alias", args->alias, "Only this alias");
  auto* webhook = add->add_option("--webhook", args->webhook,
                                  "POST each event to this http(s) URL");
  add->add_option("--secret-file", args->secret_file,
                  "Sign webhook bodies with the secret in this file")
      ->needs(webhook);
  add->add_option("--format", args->format, "json (default) or slack")
      ->needs(webhook);
  auto* exec = add->add_option(
      "--exec", args->exec,
      "Run this /bin/sh command as you, the event on stdin and in "
      "REGFS_EVENT_* variables");
  webhook->excludes(exec);
  OnSelected(add, ctx,
             StoreAction(ctx, args, PrepareAutomationAdd, RunAutomationAdd));
}

void AddAutomation(CLI::App& app, Context& ctx) {
  auto* parent = app.add_subcommand(
      "automation", "Webhooks and commands run on history events (admins)");
  parent->require_subcommand(1);
  AddAutomationAdd(parent, ctx);

  auto ls_args = std::make_shared<AutomationArgs>();
  auto* ls = parent->add_subcommand("ls", "List automations");
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, StoreAction(ctx, ls_args, RunAutomationLs));

  auto rm_args = std::make_shared<AutomationArgs>();
  auto* rm = parent->add_subcommand("rm", "Remove an automation and its log");
  rm->add_option("NAME", rm_args->name)->required();
  OnSelected(rm, ctx, StoreAction(ctx, rm_args, RunAutomationRm));

  auto test_args = std::make_shared<AutomationArgs>();
  auto* test = parent->add_subcommand(
      "test", "Deliver a sample event (seq 0) now and print the outcome");
  test->add_option("NAME", test_args->name)->required();
  AddTuning(test, *test_args, false);
  OnSelected(test, ctx, StoreAction(ctx, test_args, RunAutomationTest));

  auto log_args = std::make_shared<AutomationArgs>();
  auto* log = parent->add_subcommand(
      "log", "Deliveries: time, event, attempt, outcome, status, latency");
  log->add_option("NAME", log_args->name, "Only this automation's");
  log->add_option("--limit", log_args->limit, "The newest N (default 100)");
  log->add_flag("--json", log_args->json, "Print as JSON");
  OnSelected(log, ctx, StoreAction(ctx, log_args, RunAutomationLog));

  auto run_args = std::make_shared<AutomationArgs>();
  auto* run = parent->add_subcommand(
      "run",
      "Deliver in the foreground until SIGTERM (one deliverer per store; "
      "another waits and takes over)");
  AddTuning(run, *run_args, true);
  OnSelected(run, ctx,
             DirectAction(ctx, "automation run", run_args, RunAutomationRun));
  // Set last: subcommands inherit the group they are created under.
  parent->group(kStoreGroup);
}

// ---- serve ----

void AddServe(CLI::App& app, Context& ctx) {
  auto [cmd, args] = NewCommand<ServeArgs>(
      app, kStoreGroup, "serve",
      "Serve a read-only web view of the store (collections, versions, "
      "aliases and their timeline, search, history) as its default role, until "
      "interrupted");
  cmd->add_option("--listen", args->listen,
                  "Where to listen: HOST:PORT (default 127.0.0.1:8080, this "
                  "machine only; port 0: any free port)")
      ->type_name("HOST:PORT");
  OnSelected(cmd, ctx,
             DirectAction(ctx, "serve", args, PrepareServe, RunServe));
}

}  // namespace

void AddSubcommands(CLI::App& app, Context& ctx) {
  AddInit(app, ctx);
  AddPush(app, ctx);
  AddRm(app, ctx);
  AddFsck(app, ctx);
  AddVerify(app, ctx);
  AddGc(app, ctx);
  AddWhoami(app, ctx);
  AddMount(app, ctx);
  AddCache(app, ctx);
  AddLs(app, ctx);
  AddResolve(app, ctx);
  AddHistory(app, ctx);
  AddSearch(app, ctx);
  AddAlias(app, ctx);
  AddTag(app, ctx);
  AddProtect(app, ctx);
  AddRole(app, ctx);
  AddDrafts(app, ctx);
  AddAutomation(app, ctx);
  AddServe(app, ctx);
}

}  // namespace regfs::tools
