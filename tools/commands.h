// How the subcommands of `regfs` are declared and how a selected one runs.
// AddSubcommands (tools/subcommands.cc) registers them all on `app`; when
// the parse selects one, its callback hands an action to
// Context::SetAction, which runs once the whole command line has parsed.
#ifndef REGFS_TOOLS_COMMANDS_H_
#define REGFS_TOOLS_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/registry.h"
#include "tools/context.h"
#include "tools/store.h"

namespace regfs::tools {

// Adds every subcommand of `regfs` to `app` (tools/subcommands.cc).
void AddSubcommands(CLI::App& app, Context& ctx);

// The groups of `regfs --help`, listed in the order first used.
inline constexpr const char* kStoreGroup = "Store";
inline constexpr const char* kVersionsGroup = "Versions";
inline constexpr const char* kAliasesGroup = "Aliases and history";

// A subcommand and the arguments CLI11 parses into for it; `args` lives as
// long as the App, since the callbacks hold it.
template <class Args>
struct Command {
  CLI::App* cmd;
  std::shared_ptr<Args> args;
};

// Adds subcommand `name` to `parent`, listed under `group` in `--help`. A
// subcommand of a command group (alias set, role ls) passes nullptr and keeps
// the group CLI11 gives it.
template <class Args>
Command<Args> NewCommand(CLI::App& parent, const char* group,
                         std::string name, std::string description) {
  auto args = std::make_shared<Args>();
  auto* cmd = parent.add_subcommand(std::move(name), std::move(description));
  if (group != nullptr) cmd->group(group);
  return {cmd, std::move(args)};
}

// A command that only groups subcommands (alias, role, drafts): one of them
// must follow it. Set its --help group last, once its subcommands exist:
// they take the group of the command they are created under.
inline CLI::App* NewCommandGroup(CLI::App& app, std::string name,
                                 std::string description) {
  auto* parent = app.add_subcommand(std::move(name), std::move(description));
  parent->require_subcommand(1);
  return parent;
}

// The action `run(ctx, store, args)`, `store` being what Context::OpenStore
// opened for it: the store directory, or a regfs mount. First `prepare(args)`
// checks the arguments and parses them into their typed fields, so that a
// malformed argument is reported ahead of a store that is missing or refused.
// Each step returns a Status, whose error ExitCode (tools/context.h) prints.
// `args` holds the values CLI11 parses into and lives as long as the App.
template <class Args, class Prepare, class Run>
std::function<int()> StoreAction(Context& ctx, std::shared_ptr<Args> args,
                                 Prepare prepare, Run run) {
  return [&ctx, args, prepare, run] {
    if (auto prepared = prepare(*args); !prepared) return ExitCode(prepared);
    auto store = ctx.OpenStore();
    if (!store) return ExitCode(std::unexpected(store.error()));
    // Reported while the store is still open, as each command did itself.
    return ExitCode(run(ctx, **store, std::as_const(*args)));
  };
}

// The same for a command whose arguments need no preparation.
template <class Args, class Run>
std::function<int()> StoreAction(Context& ctx, std::shared_ptr<Args> args,
                                 Run run) {
  return StoreAction(
      ctx, std::move(args), [](Args&) { return registry::Status(); }, run);
}

// The same for a command that only the store's owner runs on the store
// directory: `run(ctx, registry, args)`; through a mount it fails, naming
// `command` (Store::Direct).
template <class Args, class Prepare, class Run>
std::function<int()> DirectAction(Context& ctx, std::string command,
                                  std::shared_ptr<Args> args, Prepare prepare,
                                  Run run) {
  return StoreAction(ctx, std::move(args), prepare,
                     [command, run](Context& c, Store& store,
                                    const Args& a) -> registry::Status {
                       REGFS_ASSIGN_OR_RETURN(registry::Registry * direct,
                                              store.Direct(command));
                       return run(c, *direct, a);
                     });
}

template <class Args, class Run>
std::function<int()> DirectAction(Context& ctx, std::string command,
                                  std::shared_ptr<Args> args, Run run) {
  return DirectAction(
      ctx, std::move(command), std::move(args),
      [](Args&) { return registry::Status(); }, run);
}

// The `prepare` of a command whose TARGET argument is COLLECTION[/NAME]:
// parses `args.target` into `args.ref` as ParseVersionRef does.
template <class Args>
auto ParseTarget(bool need_name) {
  return [need_name](Args& args) -> registry::Status {
    REGFS_ASSIGN_OR_RETURN(args.ref, ParseVersionRef(args.target, need_name));
    return {};
  };
}

// The arguments of a command whose only option is --json.
struct JsonArgs {
  bool json = false;
};

// Makes `action` the one to run once the parse selects `cmd`.
inline void OnSelected(CLI::App* cmd, Context& ctx,
                       std::function<int()> action) {
  cmd->callback([&ctx, action] { ctx.SetAction(action); });
}

// Adds option `name`, bound to `moment`, that takes a MOMENT (--at,
// --as-of, --since) as Registry::SeqAt reads it: now, an event number, or a
// time. Checked while parsing, so that a malformed moment is a usage error.
inline CLI::Option* AddMomentOption(CLI::App* cmd, std::string name,
                                    std::string& moment,
                                    std::string description) {
  return cmd->add_option(std::move(name), moment, std::move(description))
      ->type_name("MOMENT")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto parsed = registry::ParseMoment(text);
            return parsed ? std::string() : parsed.error().message;
          },
          ""));
}

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_COMMANDS_H_
