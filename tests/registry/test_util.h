// Shared helpers of the registry tests: a temporary directory per test, a
// fixture that opens a fresh store in it, identities, and printers that make
// a failed Result readable in gtest output.
#ifndef REGFS_TESTS_REGISTRY_TEST_UTIL_H_
#define REGFS_TESTS_REGISTRY_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/registry.h"
#include "tests/registry/test_store.h"  // TestOnPostgres

namespace regfs::registry {

// gtest printers, found by ADL.
void PrintTo(Code code, std::ostream* os);
void PrintTo(const Error& error, std::ostream* os);
void PrintTo(Role role, std::ostream* os);
void PrintTo(Kind kind, std::ostream* os);
void PrintTo(EventType type, std::ostream* os);

}  // namespace regfs::registry

namespace regfs::registry::testing {

// "ok", or "permission denied: alias 'x' is protected".
template <class T>
std::string Describe(const Result<T>& result) {
  if (result.has_value()) return "ok";
  return std::string(CodeName(result.error().code)) + ": " +
         result.error().message;
}

// The error code of a failed result; nullopt on success.
template <class T>
std::optional<Code> CodeOf(const Result<T>& result) {
  if (result.has_value()) return std::nullopt;
  return result.error().code;
}

// Asserts that a Result holds a value, printing the error otherwise.
#define REGFS_ASSERT_OK(expr)                                   \
  do {                                                          \
    const auto& regfs_result_ = (expr);                         \
    ASSERT_TRUE(regfs_result_.has_value())                      \
        << #expr << " -> "                                      \
        << ::regfs::registry::testing::Describe(regfs_result_); \
  } while (0)
#define REGFS_EXPECT_OK(expr)                                   \
  do {                                                          \
    const auto& regfs_result_ = (expr);                         \
    EXPECT_TRUE(regfs_result_.has_value())                      \
        << #expr << " -> "                                      \
        << ::regfs::registry::testing::Describe(regfs_result_); \
  } while (0)

// A directory made with mkdtemp(); removed with everything in it (after
// making it writable again) when destroyed. Owns the directory.
class TempDir final {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Identities used across the tests. None of these uids has a passwd entry
// (except 0), so each user's name is its uid in decimal.
inline constexpr uid_t kOwnerUid = 10000;
Identity Root(Interface interface = Interface::kCli);
Identity Owner(Interface interface = Interface::kCli);
Identity User(uid_t uid, std::vector<gid_t> groups = {},
              Interface interface = Interface::kCli);

// Writes `content` to `path`, creating parent directories.
void WriteFile(const std::filesystem::path& path, std::string_view content);
std::string ReadFile(const std::filesystem::path& path);
// Regular files under `dir`, recursively, skipping directories named tmp.
std::vector<std::filesystem::path> FilesUnder(const std::filesystem::path& dir);

// Every test gets a fresh store at tmp/store, initialised by Owner(), and a
// scratch directory tmp/src for files to push.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Re-opens the store (closing the current Registry first).
  void Reopen(OpenOptions options = {});

  const std::filesystem::path& store() const { return store_; }
  const std::filesystem::path& src() const { return src_; }
  Registry& reg() { return *registry_; }

  // Writes tmp/src/NAME with `content` and returns its path.
  std::filesystem::path Source(std::string_view name, std::string_view content);

  // Pushes one file with `content` (named `filename`) as `who`.
  Result<Version> PushContent(const Identity& who, std::string_view collection,
                              std::string_view content,
                              std::string_view filename = "model.bin");

  // All events, oldest first; fails the test on error.
  std::vector<Event> AllEvents();
  uint64_t Seq();
  // Number of blob files in the store (temporary files not counted).
  size_t BlobCount();

  std::unique_ptr<TempDir> tmp_;
  std::filesystem::path store_;
  std::filesystem::path src_;
  std::unique_ptr<Registry> registry_;
  int pushed_ = 0;  // makes Source names unique
  // Options used by SetUp's Init; a derived fixture may set them first.
  OpenOptions init_options_;
};

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_TEST_UTIL_H_
