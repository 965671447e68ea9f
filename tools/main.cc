// regfs: the command line of the registry. See tools/cli.h.
#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <new>

#include "tools/cli.h"

namespace {

// A mount daemon holds one descriptor per open version (a push holds one
// for all its staged files: its staging area's): it may need far more
// than the soft limit's usual 1024. The hard limit is what the system
// grants (524288 under systemd).
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
