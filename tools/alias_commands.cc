// Commands that change names: alias, tag, protect, unprotect.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// --expect: "none" (the alias must not exist) or "vN".
using Expectation = std::optional<std::optional<uint64_t>>;

Expectation ParseExpect(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text == "none") return std::optional<uint64_t>();
  return reg::ParseVersionName(text);  // checked by the option
}

// ---- alias set / rm / mv / ls ----

struct AliasArgs {
  std::string collection;
  std::string alias;
  std::string target;  // set: the target; mv: the new name
  std::string expect;
  bool force = false;
  bool json = false;
};

reg::Status RunAliasSet(Context&, Store& store, const AliasArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const reg::Alias alias,
                         store.SetAlias(args.collection, args.alias,
                                        args.target, ParseExpect(args.expect)));
  fmt::print("{}/{} -> {}\n", alias.collection, alias.name,
             reg::VersionName(alias.version));
  return {};
}

reg::Status RunAliasRm(Context&, Store& store, const AliasArgs& args) {
  auto done = store.RemoveAlias(args.collection, args.alias);
  if (!done) return done;
  fmt::print("removed alias {}/{}\n", args.collection, args.alias);
  return {};
}

reg::Status RunAliasMv(Context&, Store& store, const AliasArgs& args) {
  auto done =
      store.RenameAlias(args.collection, args.alias, args.target, args.force);
  if (!done) return done;
  fmt::print("renamed alias {}/{} to {}\n", args.collection, args.alias,
             args.target);
  return {};
}

reg::Status RunAliasLs(Context&, Store& store, const AliasArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const auto aliases,
                         store.ListAliases(args.collection));
  if (args.json) {
    PrintJson(ToJsonArray(aliases));
  } else {
    AliasTable(aliases).Print(stdout);
  }
  return {};
}

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
            if (text == "none" || reg::ParseVersionName(text)) return {};
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

// ---- tag add / rm ----

struct TagArgs {
  std::string target;  // VERSION
  std::string tag;
  bool remove = false;
  VersionRef ref;  // `target`, parsed by ParseTarget
};

reg::Status RunTag(Context&, Store& store, const TagArgs& args) {
  const VersionRef& ref = args.ref;
  // COLLECTION/ALIAS tags the version the alias names now.
  REGFS_ASSIGN_OR_RETURN(const reg::Version v,
                         store.Resolve(ref.collection, ref.name));
  const std::string where =
      fmt::format("{}/{}", v.collection, reg::VersionName(v.number));
  if (args.remove) {
    auto done = store.RemoveTag(ref.collection, v.number, args.tag);
    if (!done) return done;
    fmt::print("removed tag {} from {}\n", args.tag, where);
  } else {
    auto done = store.AddTag(ref.collection, v.number, args.tag);
    if (!done) return done;
    fmt::print("tagged {} {}\n", where, args.tag);
  }
  return {};
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

// ---- protect / unprotect ----

struct NameArgs {
  std::string name;
  bool protect = true;
};

reg::Status RunProtect(Context&, Store& store, const NameArgs& args) {
  auto done =
      args.protect ? store.Protect(args.name) : store.Unprotect(args.name);
  if (!done) return done;
  if (args.protect) {
    fmt::print(
        "protected '{}': only admins may create, move or remove "
        "aliases with this name\n",
        args.name);
  } else {
    fmt::print("unprotected '{}'\n", args.name);
  }
  return {};
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

}  // namespace

void AddAliasCommands(CLI::App& app, Context& ctx) {
  AddAlias(app, ctx);
  AddTag(app, ctx);
  AddProtect(app, ctx);
}

}  // namespace regfs::tools
