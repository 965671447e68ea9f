// serve: the read-only web view of the store (tools/web_server.h).
#include <string>

#include "tools/commands.h"
#include "tools/web_server.h"

namespace regfs::tools {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  ServeOptions options;  // parsed from `listen` by PrepareServe
};

registry::Status PrepareServe(ServeArgs& args) {
  REGFS_ASSIGN_OR_RETURN(args.options, ParseListen(args.listen));
  return {};
}

}  // namespace

void AddServeCommand(CLI::App& app, Context& ctx) {
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
             DirectAction(ctx, "serve", args, PrepareServe,
                          [](Context&, registry::Registry& registry,
                             const ServeArgs& a) {
                            return Serve(registry, a.options);
                          }));
}

}  // namespace regfs::tools
