// The control file .regfs/ctl (control_file.h): lookup, attributes, open
// and the write that runs one request. Reads of its reply and release go
// through Read and the dispatcher like any open file.
#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <memory>
#include <string>

#include "fs/control_file.h"
#include "fs/file_system.h"
#include "fs/file_system_internal.h"

namespace regfs::fs {

using registry::Action;
using registry::Identity;

// rw for everyone (the registry decides each request), size 0: the reply
// is read at offset 0 after the write, with direct_io.
struct stat FileSystem::ControlFileStat() const {
  return FileStat(kCtlIno, 0666, 0, options_.owner_uid, started_);
}

Reply FileSystem::LookupControlFile(const Request&) {
  return MakeEntry(kCtlIno, ControlFileStat(), kControlEntryTimeout,
                   kUncachedTimeout);
}

Reply FileSystem::OpenControlFile(const Request& r, int flags) {
  const auto what = [&] {
    return fmt::format("open of .regfs/ctl (flags 0x{:x})", flags);
  };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  if (options_.as_of && (flags & O_ACCMODE) != O_RDONLY) {
    return Refuse(r, what, EROFS, "a frozen mount takes no requests");
  }
  OpenReply reply;
  reply.handle = std::make_unique<Handle>();
  reply.handle->kind = Handle::Kind::kText;
  reply.handle->control = std::make_shared<ControlReply>();
  reply.info.direct_io = 1;
  return reply;
}

Reply FileSystem::Write(const Request& r, Ino ino, Handle& handle,
                        std::string_view data, off_t offset) {
  if (ino == kCtlIno && handle.control) {
    return WriteControl(r, *handle.control, data);
  }
  return Write(r, handle, data, offset);
}

Reply FileSystem::WriteControl(const Request& r, ControlReply& reply,
                               std::string_view data) {
  auto request = ParseControlRequest(data);
  const std::string op = request ? request->op : std::string("?");
  const auto what = [&] { return fmt::format("ctl request '{}'", op); };
  // Answers the write with `error`'s errno, logged as every refusal is,
  // and leaves the reply to be read.
  const auto refuse = [&](const registry::Error& error) -> Reply {
    const ErrorReply refused = Refuse(r, what, error);
    reply.Set(ControlFailure(error, refused.err));
    return refused;
  };
  if (!request) return refuse(request.error());
  Identity who;
  if (request->changes) {
    who = ChangeIdentity(r);
  } else {
    who = ReadIdentity(r);
    auto allowed = callers_.Authorize(who, Action::Read());
    if (!allowed) return refuse(allowed.error());
  }
  const registry::Result<uint64_t> before =
      request->changes ? registry_.LastSeq() : registry::Result<uint64_t>(0);
  auto result = IsPublish(*request)
                    ? PublishFromControl(r, who, *request)
                    : RunControlRequest(registry_, who, *request);
  if (!result) return refuse(result.error());
  reply.Set(ControlSuccess(*result));
  // The kernel forgets what the change made stale, as for changes made
  // through plain file operations.
  if (request->changes && before) {
    registry::HistoryFilter since;
    since.after_seq = *before;
    if (auto events = registry_.History(since)) OnEvents(*events);
  }
  return WriteReply{data.size()};
}

registry::Result<registry::OrderedJson> FileSystem::PublishFromControl(
    const Request& r, const Identity& who, const ControlRequest& request) {
  REGFS_ASSIGN_OR_RETURN(const auto publish, PublishRequestOf(request, r.uid));
  REGFS_ASSIGN_OR_RETURN(const auto version, PublishDraftLocked(who, publish));
  return registry::ToJson(version, registry::JsonForm::kWire);
}

}  // namespace regfs::fs
