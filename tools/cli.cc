#include "tools/cli.h"

#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "tools/commands.h"
#include "tools/context.h"

#ifndef REGFS_VERSION
#error "REGFS_VERSION must be defined by the build"
#endif

namespace regfs::tools {
namespace {

// Library logging goes to stderr as "regfs: warning: ..." and only from
// warnings up, so that a refusal prints exactly one line; SPDLOG_LEVEL
// (e.g. SPDLOG_LEVEL=debug) overrides. The logger is named "cli": `mount`
// registers its own "regfs" logger.
void SetUpLogging() {
  auto logger = spdlog::stderr_logger_st("cli");
  logger->set_pattern("regfs: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::cfg::load_env_levels();
}

// "regfs alias set": the subcommands the parse got to.
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (!current->get_subcommands().empty()) {
    current = current->get_subcommands().front();
    path += " " + current->get_name();
  }
  return path;
}

// An argument that starts with '-' and is no option of the command: a
// name such as "-dash", which CLI11 sets aside (and then reports what it
// misses instead, "TARGET is required"). The first such, if any.
std::optional<std::string> StrayDashArgument(const CLI::App& app) {
  for (const std::string& arg : app.remaining(/*recurse=*/true)) {
    if (arg.size() > 1 && arg.front() == '-') return arg;
  }
  return std::nullopt;
}

}  // namespace

int RunCli(int argc, char** argv) {
  SetUpLogging();
  Context ctx;
  CLI::App app(
      "regfs: a registry of immutable, versioned artifacts, served as a "
      "filesystem",
      "regfs");
  app.set_version_flag("--version", "regfs " REGFS_VERSION);
  app.require_subcommand(1);
  // Lets --store follow the subcommand too ("regfs ls --store S"); set
  // before adding subcommands, which inherit it.
  app.fallthrough();
  app.add_option("--store,-s", ctx.store_option(),
                 "The store directory (default: $REGFS_STORE, else "
                 "$XDG_DATA_HOME/regfs or ~/.local/share/regfs)")
      ->envname("REGFS_STORE")
      ->check(CLI::Validator(
          [](std::string& path) -> std::string {
            return path.empty() ? "an empty store path" : "";
          },
          "DIR"));
  AddSubcommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end the parse with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    if (auto stray = StrayDashArgument(app)) {
      fmt::print(stderr,
                 "regfs: '{}' is not an option of '{}', and as a name it is "
                 "invalid: names must not start with '.' or '-'\n",
                 *stray, CommandPath(app));
      return kExitUsage;
    }
    fmt::print(stderr, "regfs: {}\nRun '{} --help' for usage.\n", e.what(),
               CommandPath(app));
    return kExitUsage;
  }
  return ctx.RunAction();
}

}  // namespace regfs::tools
