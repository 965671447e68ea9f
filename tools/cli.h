// The `regfs` command line: builds the CLI11 app, parses, runs the chosen
// subcommand.
#ifndef REGFS_TOOLS_CLI_H_
#define REGFS_TOOLS_CLI_H_

namespace regfs::tools {

// Returns the process exit code: 0 success, 1 a refused or failed
// operation (one "regfs: ..." line on stderr), 2 a usage error. May throw
// (std::bad_alloc, ...); main() turns that into exit 1.
int RunCli(int argc, char** argv);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_CLI_H_
