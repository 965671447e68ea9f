// What one attempt at delivering an event came to, whatever the target.
#ifndef REGFS_DELIVERY_ATTEMPT_H_
#define REGFS_DELIVERY_ATTEMPT_H_

#include <cstdint>
#include <optional>
#include <string>

namespace regfs::delivery {

struct Attempt {
  bool ok = false;
  // The HTTP status or the command's exit status (128 + signal).
  std::optional<int64_t> status;
  std::string message;  // the error, or the start of the answer/output
  int64_t latency_ms = 0;
};

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_ATTEMPT_H_
