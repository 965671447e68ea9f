// serve: the read-only web view of the store (tools/web_server.h).
#include "tools/actions.h"
#include "tools/web_server.h"

namespace regfs::tools {

registry::Status PrepareServe(ServeArgs& args) {
  REGFS_ASSIGN_OR_RETURN(args.options, ParseListen(args.listen));
  return {};
}

registry::Status RunServe(Context&, registry::Registry& registry,
                          const ServeArgs& args) {
  return Serve(registry, args.options);
}

}  // namespace regfs::tools
