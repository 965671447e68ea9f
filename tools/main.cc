// regfs: the command line of the registry. See tools/cli.h.
#include <cstdio>
#include <exception>
#include <new>

#include "tools/cli.h"

int main(int argc, char** argv) {
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
