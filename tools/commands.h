// The subcommands of `regfs`, grouped by what they work on. Each Add*
// function registers its subcommands on `app`; when the parse selects one,
// its callback hands the work to Context::SetAction.
#ifndef REGFS_TOOLS_COMMANDS_H_
#define REGFS_TOOLS_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "tools/context.h"

namespace regfs::tools {

// init, push, rm, fsck, gc, whoami, mount.
void AddStoreCommands(CLI::App& app, Context& ctx);
// verify (tools/verify_command.cc), registered by AddStoreCommands.
void AddVerify(CLI::App& app, Context& ctx);
// ls, resolve, history.
void AddBrowseCommands(CLI::App& app, Context& ctx);
// alias, tag, protect, unprotect, role.
void AddAliasCommands(CLI::App& app, Context& ctx);

// The groups of `regfs --help`, listed in the order first used.
inline constexpr const char* kStoreGroup = "Store";
inline constexpr const char* kVersionsGroup = "Versions";
inline constexpr const char* kAliasesGroup = "Aliases and history";

// Makes `run(ctx, *args)` the action of `cmd` once the parse selects it.
// `args` holds the values CLI11 parses into and lives as long as the App.
template <class Args, class Run>
void OnSelected(CLI::App* cmd, Context& ctx, std::shared_ptr<Args> args,
                Run run) {
  cmd->callback([&ctx, args, run] {
    ctx.SetAction([&ctx, args, run] { return run(ctx, *args); });
  });
}

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_COMMANDS_H_
