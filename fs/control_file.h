// The mount's control file, `.regfs/ctl`, in the spirit of Plan 9's ctl
// files: open it, write ONE JSON request (one write(2)), read the JSON
// reply. It gives callers who see only the mount (members, jobs,
// containers) every registry call the `regfs` command makes, as
// themselves: the identity is the FUSE caller of the write, never a field
// of the request (unknown fields are ignored, "uid" included).
//
// A request is {"op": NAME, ...its arguments}; the ops and their
// arguments are listed in control_file.cc (kOps). A success replies
// {"ok":true,"result":...}; a refusal fails the write(2) with the errno
// the mount gives it elsewhere (ErrnoOf) and replies
// {"ok":false,"errno":N,"code":"not_permitted","error":"<message>"}.
// Values are in registry/model_json.h's wire form.
//
// This file holds the request dispatch only (no FUSE): one registry call
// per request. FileSystem (file_system_control.cc) serves the inode.
#ifndef REGFS_FS_CONTROL_FILE_H_
#define REGFS_FS_CONTROL_FILE_H_

#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model_json.h"
#include "registry/mutex.h"
#include "registry/registry.h"

namespace regfs::fs {

inline constexpr std::string_view kControlFile = "ctl";

// A parsed request.
struct ControlRequest {
  std::string op;
  // A change: made with the caller's fresh identity (CallerCache::
  // ForChange); else a read, which needs the read role.
  bool changes = false;
  registry::OrderedJson json;  // the whole request object
};

// InvalidArgument naming the problem: not JSON, not an object, no string
// "op", an unknown op.
registry::Result<ControlRequest> ParseControlRequest(std::string_view text);

// Whether FileSystem serves `request` itself rather than RunControlRequest.
bool IsPublish(const ControlRequest& request);

// Runs `request` as `who` and returns its "result" value. The registry
// decides (and refuses) exactly as for the same call from the CLI; a
// malformed argument is InvalidArgument naming it.
registry::Result<registry::OrderedJson> RunControlRequest(
    registry::Registry& registry, const registry::Identity& who,
    const ControlRequest& request);

// The op that publishes a draft: served by FileSystem itself (it holds the
// draft's lock meanwhile), with PublishRequestOf.
inline constexpr std::string_view kPublishOp = "publish";

// {"op":"publish","collection","draft","target" ("latest" if absent),
//  "aliases":[..],"tags":[..],"metadata":{"k":"v"},"description",
//  "owner" (whose draft, for an admin; the caller's if absent)}.
registry::Result<registry::PublishRequest> PublishRequestOf(
    const ControlRequest& request, uid_t caller);

// The reply texts, one JSON object and a newline.
std::string ControlSuccess(const registry::OrderedJson& result);
std::string ControlFailure(const registry::Error& error, int err);

// The reply of an open ctl file: set by each write, read back from any
// offset. Thread-safe (a read may race a write on a shared descriptor).
class ControlReply final {
 public:
  void Set(std::string text);
  std::string Read(size_t offset, size_t size) const;

 private:
  mutable Mutex mu_;
  std::string text_ GUARDED_BY(mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_CONTROL_FILE_H_
