// regfs: the command line of the registry. See tools/cli.h.
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <new>

#include "tools/cli.h"

namespace {

// A push of a tree holds each staged file open (its lock keeps gc away)
// until the version commits, and a mount daemon holds one descriptor per
// open version: both may need far more than the soft limit's usual 1024.
// The hard limit is what the system grants (524288 under systemd); past
// it, the push fails with EMFILE and commits nothing.
void RaiseOpenFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  RaiseOpenFileLimit();
  // No exception leaves main: each becomes one line and exit code 1.
  try {
    return regfs::tools::RunCli(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fputs("regfs: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "regfs: %s\n", e.what());
  } catch (...) {
    std::fputs("regfs: unexpected error\n", stderr);
  }
  return 1;
}
