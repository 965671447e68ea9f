#include "tools/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "tools/output.h"

namespace regfs::tools {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

bool IsTerminal(int fd) { return ::isatty(fd) == 1; }

ProgressBar::ProgressBar(std::FILE* out, std::string label)
    : out_(out), label_(std::move(label)), start_(Clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

std::string ProgressBar::Frame(const std::string& label, uint64_t done,
                               uint64_t total, double bytes_per_second) {
  const double fraction = total == 0
                              ? 1.0
                              : std::min(1.0, static_cast<double>(done) /
                                                  static_cast<double>(total));
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  std::string rate;
  if (bytes_per_second > 0) {
    rate = fmt::format("  {}/s",
                       FormatSize(static_cast<uint64_t>(bytes_per_second)));
  }
  return fmt::format("{} [{}] {:3}%  {} / {}{}", label, bar,
                     static_cast<int>(fraction * 100), FormatSize(done),
                     FormatSize(total), rate);
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  const auto now = Clock::now();
  if (drawn_ && done < total && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0.2 ? static_cast<double>(done) / seconds : 0;
  // "\x1b[K" erases what a longer previous frame left behind.
  fmt::print(out_, "\r{}\x1b[K", Frame(label_, done, total, rate));
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  fmt::print(out_, "\r\x1b[K");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace regfs::tools
