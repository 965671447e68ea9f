// `regfs serve`: the read-only web view of a store (issue 16), served with
// cpp-httplib. The pages themselves are web/'s pure renderers; this file
// loads what they show from the registry and answers HTTP.
#ifndef REGFS_TOOLS_WEB_SERVER_H_
#define REGFS_TOOLS_WEB_SERVER_H_

#include <string>

#include "registry/error.h"
#include "registry/registry.h"

namespace regfs::tools {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (the one chosen is printed)
};

// Serves `registry` until SIGINT or SIGTERM, then returns ok.
//
// It reads as the store's default role and nothing more: as the principal
// "*" with no uid of a user and no groups, whom RoleOf gives exactly the
// default role. A default role of `none` lets nobody read, so it refuses
// to start (PermissionDenied, saying how to change it); if the role
// becomes `none` while serving, every page answers 403. Only GET and HEAD
// are answered; any other method gets 405. Prints one line once it
// listens: "serving http://HOST:PORT read-only, as the default role
// 'viewer'".
[[nodiscard]] registry::Status Serve(registry::Registry& registry,
                                     const ServeOptions& options);

// "127.0.0.1:8080", "localhost:0", "[::1]:8080", "0.0.0.0:80" -> host and
// port; InvalidArgument otherwise.
[[nodiscard]] registry::Result<ServeOptions> ParseListen(std::string_view text);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_WEB_SERVER_H_
