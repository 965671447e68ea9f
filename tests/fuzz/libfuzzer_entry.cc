// libFuzzer's entry point for one target, chosen at compile time by
// REGFS_FUZZ_ENTRY (clang, -fsanitize=fuzzer; see CMakeLists.txt).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

#ifndef REGFS_FUZZ_ENTRY
#error "REGFS_FUZZ_ENTRY must name the entry function"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return regfs::fuzz::REGFS_FUZZ_ENTRY(data, size);
}
