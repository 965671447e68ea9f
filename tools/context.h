// What the subcommands of one `regfs` run share: the store option, the
// acting identity, error reporting, and the one action the parsed command
// line selected.
#ifndef REGFS_TOOLS_CONTEXT_H_
#define REGFS_TOOLS_CONTEXT_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::tools {

class Store;  // tools/store.h

// Exit codes of `regfs`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // refused or failed operation
inline constexpr int kExitUsage = 2;   // the command line is malformed

// Prints "regfs: MESSAGE" as one line on stderr and returns kExitFailed.
// Newlines inside the message are flattened so that it stays one line.
int ReportError(std::string_view message);
int ReportError(const registry::Error& error);

// kExitOk for success; else ReportError(its error). The one place where
// the outcome of a command is printed and becomes its exit code.
int ExitCode(const registry::Status& outcome);

// Not thread-safe; one per process.
class Context final {
 public:
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Bound to --store (CLI11 fills it from $REGFS_STORE when absent).
  std::string& store_option() { return store_option_; }

  // --store, else $REGFS_STORE, else Registry::DefaultStorePath(); made
  // absolute so that it stays valid after a daemon changes directory.
  std::filesystem::path StorePath() const;

  // The calling process, interface `cli`; resolved on first use.
  const registry::Identity& identity();

  // Opens the store; says how to create one when there is none.
  registry::Result<std::unique_ptr<registry::Registry>> Open() const;
  // The store the commands use: a regfs mount's control file when
  // StorePath() is a regfs mount (tools/mount_client.h), else Open().
  registry::Result<std::unique_ptr<Store>> OpenStore();

  // The command chosen by the parse; runs after parsing succeeded, so that
  // a usage error never half-executes a command.
  void SetAction(std::function<int()> action) { action_ = std::move(action); }
  int RunAction() const { return action_ ? action_() : kExitOk; }

 private:
  std::string store_option_;
  std::optional<registry::Identity> identity_;
  std::function<int()> action_;
};

// "models", "models/", "models/v2", "models/production".
struct VersionRef {
  std::string collection;
  std::string name;  // a version or alias name; empty for the collection
};

// Splits COLLECTION[/NAME]. With `need_name`, NAME must be present.
registry::Result<VersionRef> ParseVersionRef(std::string_view text,
                                             bool need_name);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_CONTEXT_H_
