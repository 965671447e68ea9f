// A one-line progress bar for long pushes, redrawn in place on a terminal.
#ifndef REGFS_TOOLS_PROGRESS_H_
#define REGFS_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace regfs::tools {

// Pushes at least this large show a bar (when stderr is a terminal).
inline constexpr uint64_t kProgressThreshold = uint64_t{64} << 20;

// Draws "\rLABEL [#####.....]  45%  1.2 GiB / 2.6 GiB  310.0 MiB/s" on
// `out`, at most ten times a second. Not thread-safe. Does not own `out`.
class ProgressBar final {
 public:
  ProgressBar(std::FILE* out, std::string label);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // Erases the bar if it is still drawn.
  ~ProgressBar();

  void Update(uint64_t done, uint64_t total);
  // Erases the line, leaving the cursor at its start.
  void Finish();

  // The text of one frame, without "\r" (for tests).
  static std::string Frame(const std::string& label, uint64_t done,
                           uint64_t total, double bytes_per_second);

 private:
  using Clock = std::chrono::steady_clock;

  std::FILE* out_;
  std::string label_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drawn_ = false;
};

// Whether `fd` is a terminal.
bool IsTerminal(int fd);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_PROGRESS_H_
