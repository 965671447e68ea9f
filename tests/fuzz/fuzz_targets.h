// Fuzz entry points (issue #5). Each takes libFuzzer's input, runs one
// parser or renderer of regfs on it, and checks what must always hold;
// a violated check aborts (libFuzzer records the input as a crash) or,
// in the GoogleTest replay (fuzz_regression_test.cc), throws FuzzFailure.
//
// The functions are plain C++ so that GCC builds them in the normal build
// too: clang's libFuzzer entry (libfuzzer_entry.cc) and the replay test
// both call them.
#ifndef REGFS_TESTS_FUZZ_FUZZ_TARGETS_H_
#define REGFS_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace regfs::fuzz {

// registry/names.h: ValidateName, ValidateAliasName,
// ValidateCollectionName, ValidateTag, ValidateMetaKey, ParseVersionName,
// VersionName, against an independent reading of DESIGN.md's name rule.
int FuzzNames(const uint8_t* data, size_t size);
// registry/names.h ParseLinkTarget: accepts exactly DESIGN.md's targets
// ("v3", "./v3", an alias, "../models/v3", "/.../models/v3"), returns a
// name inside the collection, and is idempotent.
int FuzzLinkTarget(const uint8_t* data, size_t size);
// Metadata and JSON: KEY=VALUE pairs as the CLI splits them, through
// ValidateMetaKey into a version's extended attributes (fs/xattrs.h) and
// JSON; arbitrary text through the history's detail parsing.
int FuzzMetadata(const uint8_t* data, size_t size);
// registry/history.h ParseTime (and FormatTime round trips).
int FuzzTime(const uint8_t* data, size_t size);
// registry/history.h RenderJsonLine: always one valid JSON line that
// parses back to the event.
int FuzzHistoryRender(const uint8_t* data, size_t size);

// Thrown by a failed check when ThrowOnFailure(true) (the replay test).
class FuzzFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
void ThrowOnFailure(bool enable);
[[noreturn]] void Fail(const char* file, int line, const std::string& what);

// Input bytes shown safely in a message.
std::string Escape(std::string_view bytes);

// Reads structured values off the input, GCC-friendly (libFuzzer's
// FuzzedDataProvider is clang-only).
class Bytes final {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return size_ == 0; }
  uint8_t Byte();
  uint64_t U64();
  // A string of at most `max` bytes: one length byte, then the bytes.
  std::string Str(size_t max);
  std::string Rest();

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace regfs::fuzz

#define FUZZ_CHECK(cond, what)                                     \
  do {                                                             \
    if (!(cond)) ::regfs::fuzz::Fail(__FILE__, __LINE__, (what)); \
  } while (0)

#endif  // REGFS_TESTS_FUZZ_FUZZ_TARGETS_H_
