// Commands that change names: alias, tag, protect, unprotect.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "tools/actions.h"
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

}  // namespace

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

}  // namespace regfs::tools
