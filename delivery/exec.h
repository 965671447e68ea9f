// Commands: `/bin/sh -c COMMAND` as the user who added the automation,
// the event on stdin (JSON) and in REGFS_EVENT_* variables, never in the
// command line.
#ifndef REGFS_DELIVERY_EXEC_H_
#define REGFS_DELIVERY_EXEC_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "delivery/attempt.h"

namespace regfs::delivery {

struct CommandRequest {
  std::string command;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string stdin_json;
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout{60'000};
};

// Runs the command in its own process group with only PATH, HOME, USER,
// LOGNAME and `env` in its environment, as `uid`/`gid` (with `user`'s
// groups): a process that is not root can only run commands as itself.
// On timeout the whole group is killed. ok for exit status 0; the status
// is the exit status, or 128 + the signal; the message is the start of
// its output (stdout and stderr).
Attempt RunCommand(const CommandRequest& request);

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_EXEC_H_
