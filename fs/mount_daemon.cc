#include "fs/mount_daemon.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fs/mount_options.h"

namespace regfs::fs {

using registry::UniqueFd;

void ReadyReporter::Fail(std::string_view message) {
  if (fd_.valid()) {
    Send(fmt::format("ERR {}", message));
  } else {
    std::fprintf(stderr, "regfs: %.*s\n", static_cast<int>(message.size()),
                 message.data());
  }
}

void ReadyReporter::Send(std::string_view line) {
  if (!fd_.valid()) return;
  const std::string text = fmt::format("{}\n", line);
  (void)!::write(fd_.get(), text.data(), text.size());
  fd_.Reset();
}

namespace {

// A log file grows to kLogFileBytes, then is renamed NAME.1.EXT (the
// older ones shift up to NAME.{kLogFileBackups}.EXT, the oldest is
// removed) and a new one is started.
constexpr size_t kLogFileBytes = 10 * 1024 * 1024;
constexpr size_t kLogFileBackups = 3;

std::shared_ptr<spdlog::logger> FileLogger(const std::string& path) {
  return spdlog::rotating_logger_mt("mount", path, kLogFileBytes,
                                    kLogFileBackups);
}

// The parent's side: waits for the child's line, prints its error.
int AwaitChild(pid_t child, UniqueFd fd) {
  std::string line;
  char c = 0;
  while (true) {
    const ssize_t n = ::read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  if (line == "OK") return 0;
  if (line.starts_with("ERR ")) {
    std::fprintf(stderr, "regfs: %s\n", line.c_str() + 4);
  } else {
    int status = 0;
    waitpid(child, &status, 0);
    std::fprintf(stderr, "regfs: the mount daemon exited before mounting\n");
  }
  return 1;
}

}  // namespace

std::optional<std::string> SetUpLogging(const MountOptions& options,
                                        const std::filesystem::path& store) {
  const spdlog::level::level_enum level =
      spdlog::level::from_str(options.log_level);
  if (level == spdlog::level::off && options.log_level != "off") {
    return fmt::format("unknown log level '{}'", options.log_level);
  }
  std::shared_ptr<spdlog::logger> logger;
  spdlog::drop("mount");
  try {
    if (!options.log_file.empty()) {
      logger = FileLogger(options.log_file);
    } else if (options.foreground) {
      logger = spdlog::stderr_logger_mt("mount");
    } else {
      try {
        logger = FileLogger((store / "regfs-mount.log").string());
      } catch (const spdlog::spdlog_ex&) {
        logger = spdlog::null_logger_mt("mount");
      }
    }
  } catch (const spdlog::spdlog_ex& e) {
    return fmt::format("cannot open log file {}: {}", options.log_file,
                       e.what());
  }
  logger->set_level(HasOption(options, "debug") ? spdlog::level::debug : level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%P] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return std::nullopt;
}

void DetachStdio() {
  std::fflush(stdout);
  std::fflush(stderr);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  ::close(null);
}

int RunDetached(const std::function<int(ReadyReporter&)>& serve) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "regfs: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "regfs: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child > 0) {
    write_end.Reset();
    return AwaitChild(child, std::move(read_end));
  }
  read_end.Reset();
  setsid();
  if (::chdir("/") != 0) {
    // Not fatal: all paths are absolute.
  }
  ReadyReporter ready(std::move(write_end));
  const int rc = serve(ready);
  spdlog::shutdown();
  std::_Exit(rc);
}

}  // namespace regfs::fs
