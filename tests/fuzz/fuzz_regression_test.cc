// Replays every input under tests/fuzz/corpus/TARGET/ (seeds) and
// tests/fuzz/regressions/TARGET/ (inputs that once failed) through the
// fuzz entry points, in the normal GCC build: a crash libFuzzer found
// stays fixed. A failed check throws FuzzFailure here instead of
// aborting, so that each bad input is reported by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

#ifndef REGFS_FUZZ_DIR
#error "REGFS_FUZZ_DIR must name tests/fuzz"
#endif

namespace regfs::fuzz {
namespace {

namespace stdfs = std::filesystem;

struct Target {
  const char* name;
  int (*entry)(const uint8_t*, size_t);
};

void PrintTo(const Target& target, std::ostream* os) { *os << target.name; }

class FuzzRegressionTest : public ::testing::TestWithParam<Target> {};

std::vector<stdfs::path> Inputs(const std::string& target) {
  std::vector<stdfs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const stdfs::path dir = stdfs::path(REGFS_FUZZ_DIR) / kind / target;
    std::error_code ec;
    for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST_P(FuzzRegressionTest, ReplaysCorpusAndRegressions) {
  ThrowOnFailure(true);
  const auto files = Inputs(GetParam().name);
  EXPECT_FALSE(files.empty()) << "no seeds for " << GetParam().name;
  for (const stdfs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    try {
      GetParam().entry(reinterpret_cast<const uint8_t*>(bytes.data()),
                       bytes.size());
    } catch (const FuzzFailure& e) {
      ADD_FAILURE() << file.lexically_relative(REGFS_FUZZ_DIR).string() << ": "
                    << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Targets, FuzzRegressionTest,
    ::testing::Values(Target{"names", FuzzNames},
                      Target{"link_target", FuzzLinkTarget},
                      Target{"metadata", FuzzMetadata},
                      Target{"time", FuzzTime},
                      Target{"history_render", FuzzHistoryRender}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace regfs::fuzz
