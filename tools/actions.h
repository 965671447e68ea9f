// What each subcommand of `regfs` parses its arguments into, and the
// functions that check and run it. tools/subcommands.cc binds these to the
// command line (tools/commands.h says how a selected command runs); each
// group's functions are defined in the file its section names.
//
// A Prepare function checks its arguments and parses them into their
// typed fields before any store is opened; a Run function does the work and
// prints the result, on a Store (a store directory or a mount) or, for a
// command that only the store's owner runs, on the Registry itself.
#ifndef REGFS_TOOLS_ACTIONS_H_
#define REGFS_TOOLS_ACTIONS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry/automations.h"
#include "registry/error.h"
#include "registry/history.h"
#include "registry/model.h"
#include "registry/registry.h"
#include "registry/search.h"
#include "tools/commands.h"
#include "tools/context.h"
#include "tools/store.h"
#include "tools/web_server.h"

namespace regfs::tools {

// ---- init, push, rm, fsck, gc, whoami, mount (tools/store_commands.cc) ----

struct InitArgs {
  std::string metadata;  // a shared store's PostgreSQL conninfo
  std::string blobs;     // and its shared blob directory, or s3://…
  std::string s3_endpoint;
  std::string cache_size;
};

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

struct RmArgs {
  std::string version;
  bool all = false;  // COLLECTION --all: the collection and everything in it
  // Set by PrepareRm when `version` is COLLECTION/vN rather than COLLECTION.
  VersionRef ref;
  std::optional<uint64_t> number;
};

struct FsckArgs {
  bool json = false;
  bool repair = false;
  bool contents = false;
};

struct MountArgs {
  std::string mountpoint;
  std::vector<std::string> options;
  bool foreground = false;
  std::string log_level = "info";
  std::string log_file;
  std::string as_of;
};

registry::Status RunInit(Context& ctx, const InitArgs& args);
registry::Status RunPush(Context&, Store& store, const PushArgs& args);
registry::Status PrepareRm(RmArgs& args);
// `regfs rm COLLECTION/vN`; `regfs rm COLLECTION [--all]`: an empty
// collection (members), or with --all its versions and aliases too
// (admins).
registry::Status RunRm(Context&, Store& store, const RmArgs& args);
registry::Status RunFsck(Context&, registry::Registry& registry,
                         const FsckArgs& args);
registry::Status RunGc(Context& ctx, registry::Registry& registry,
                       const JsonArgs& args);
registry::Status RunWhoami(Context&, Store& store, const JsonArgs& args);
int RunMountCommand(Context& ctx, const MountArgs& args);

// ---- verify (tools/verify_command.cc) ----

struct VerifyArgs {
  std::string target;
  bool json = false;
  VersionRef ref;  // `target`, parsed by ParseTarget
};

registry::Status RunVerify(Context&, registry::Registry& registry,
                           const VerifyArgs& args);

// ---- cache ls, warm, drop (tools/cache_commands.cc) ----

struct CacheWarmArgs {
  std::vector<std::string> refs;
  std::vector<VersionRef> parsed;
  bool json = false;
};

registry::Status RunCacheLs(Context&, registry::Registry& registry,
                            const JsonArgs& args);
registry::Status PrepareCacheWarm(CacheWarmArgs& args);
registry::Status RunCacheWarm(Context& ctx, registry::Registry& registry,
                              const CacheWarmArgs& args);
registry::Status RunCacheDrop(Context& ctx, registry::Registry& registry,
                              const JsonArgs& args);

// ---- ls, resolve, history (tools/browse_commands.cc) ----

struct LsArgs {
  std::string target;
  bool json = false;
};

struct ResolveArgs {
  std::string target;
  std::string at;
  std::string mountpoint;
  bool json = false;
  VersionRef ref;  // `target`, parsed by ParseTarget
};

struct HistoryArgs {
  std::string target;
  std::string alias;
  std::string since;
  bool follow = false;
  bool json = false;
  registry::HistoryFilter filter;  // TARGET and --alias, set by PrepareHistory
};

// TARGET is parsed once the store is open: `ls` with a malformed TARGET and
// no store says there is no store.
registry::Status RunLs(Context&, Store& store, const LsArgs& args);
registry::Status RunResolve(Context&, Store& store, const ResolveArgs& args);
registry::Status PrepareHistory(HistoryArgs& args);
registry::Status RunHistory(Context&, Store& store, const HistoryArgs& args);

// ---- search (tools/search_command.cc) ----

struct SearchArgs {
  std::string term;
  uint64_t limit = registry::kSearchLimit;
  bool json = false;
};

registry::Status RunSearch(Context&, Store& store, const SearchArgs& args);

// ---- alias set, rm, mv, ls; tag add, rm; protect, unprotect
// (tools/alias_commands.cc) ----

struct AliasArgs {
  std::string collection;
  std::string alias;
  std::string target;  // set: the target; mv: the new name
  std::string expect;
  bool force = false;
  bool json = false;
};

struct TagArgs {
  std::string target;  // VERSION
  std::string tag;
  bool remove = false;
  VersionRef ref;  // `target`, parsed by ParseTarget
};

struct NameArgs {
  std::string name;
  bool protect = true;
};

registry::Status RunAliasSet(Context&, Store& store, const AliasArgs& args);
registry::Status RunAliasRm(Context&, Store& store, const AliasArgs& args);
registry::Status RunAliasMv(Context&, Store& store, const AliasArgs& args);
registry::Status RunAliasLs(Context&, Store& store, const AliasArgs& args);
registry::Status RunTag(Context&, Store& store, const TagArgs& args);
registry::Status RunProtect(Context&, Store& store, const NameArgs& args);

// ---- role grant, default, revoke, ls (tools/role_commands.cc) ----

struct RoleArgs {
  std::string principal;
  std::string role;
  bool json = false;
  registry::Role parsed_role =
      registry::Role::kNone;  // grant: set by PrepareGrant
};

registry::Status PrepareGrant(RoleArgs& args);
registry::Status RunRoleGrant(Context&, Store& store, const RoleArgs& args);
registry::Status RunRoleRevoke(Context&, Store& store, const RoleArgs& args);
registry::Status RunRoleLs(Context&, Store& store, const RoleArgs& args);

// ---- drafts ls, rm, limits (tools/draft_commands.cc) ----

struct DraftArgs {
  bool json = false;
  std::string collection;
  std::string name;
  std::string user;  // rm --user: a user name or uid
  std::string quota;
  std::string idle;
  // Set by the Prepare functions.
  std::optional<uid_t> owner;
  std::optional<uint64_t> quota_bytes;
  std::optional<std::chrono::seconds> idle_time;
};

registry::Status RunDraftsLs(Context& ctx, registry::Registry& registry,
                             const DraftArgs& args);
registry::Status PrepareDraftsRm(DraftArgs& args);
registry::Status RunDraftsRm(Context& ctx, registry::Registry& registry,
                             const DraftArgs& args);
registry::Status PrepareDraftsLimits(DraftArgs& args);
registry::Status RunDraftsLimits(Context& ctx, registry::Registry& registry,
                                 const DraftArgs& args);

// ---- automation add, ls, rm, test, log, run (tools/automation_commands.cc)
// ----

struct AutomationArgs {
  std::string name;
  std::string on;
  std::string collection;
  std::string alias;
  std::string webhook;
  std::string secret_file;
  std::string format = "json";
  std::string exec;
  bool json = false;
  uint64_t limit = 100;
  // run and test: delivery's tuning.
  uint64_t poll_ms = 1'000;
  uint64_t lease_ms = 30'000;
  uint64_t retry_base_ms = 1'000;
  uint64_t exec_timeout_ms = 60'000;
  registry::AutomationSpec spec;  // add: set by PrepareAutomationAdd
};

registry::Status PrepareAutomationAdd(AutomationArgs& a);
registry::Status RunAutomationAdd(Context&, Store& store,
                                  const AutomationArgs& a);
registry::Status RunAutomationLs(Context&, Store& store,
                                 const AutomationArgs& a);
registry::Status RunAutomationRm(Context&, Store& store,
                                 const AutomationArgs& a);
registry::Status RunAutomationTest(Context&, Store& store,
                                   const AutomationArgs& a);
registry::Status RunAutomationLog(Context&, Store& store,
                                  const AutomationArgs& a);
registry::Status RunAutomationRun(Context& ctx, registry::Registry& r,
                                  const AutomationArgs& a);

// ---- serve (tools/serve_command.cc) ----

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  ServeOptions options;  // parsed from `listen` by PrepareServe
};

registry::Status PrepareServe(ServeArgs& args);
registry::Status RunServe(Context&, registry::Registry& registry,
                          const ServeArgs& args);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_ACTIONS_H_
