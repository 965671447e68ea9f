// A file that changes while Registry::Push copies it: the push is refused
// with a message naming the file, and nothing is committed or left behind
// (but what gc removes). The change is made from the push's own progress
// callback, so it lands mid-copy every time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "registry/registry.h"
#include "registry/shared_store.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::WriteFile;

constexpr size_t kSize = 3 << 20;  // several copy chunks on every path

struct Change {
  const char* name;
  std::function<void(const fs::path&)> apply;
};

void Truncate(const fs::path& path) { fs::resize_file(path, kSize / 2); }
void Append(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "more", 4), 4);
  ::close(fd);
}
void Rewrite(const fs::path& path) {  // same size, new bytes
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "X", 1, 10), 1);
  ::close(fd);
}

const Change kChanges[] = {
    {"Truncated", Truncate}, {"Appended", Append}, {"Rewritten", Rewrite}};

class PushChangeTest : public RegistryTest,
                       public ::testing::WithParamInterface<Change> {
 protected:
  // Writes a kSize file at `path`, old enough that a change in this clock
  // tick still moves its mtime and ctime.
  void BigFile(const fs::path& path) {
    WriteFile(path, std::string(kSize, 'a'));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // Pushes `paths`, applying the change to `victim` the first time the
  // push reports more than `after` bytes done.
  Result<Version> PushChanging(std::vector<fs::path> paths,
                               const fs::path& victim, uint64_t after) {
    PushRequest r;
    r.collection = "c";
    r.paths = std::move(paths);
    bool changed = false;
    r.progress = [&](uint64_t done, uint64_t) {
      if (changed || done <= after) return;
      changed = true;
      GetParam().apply(victim);
    };
    auto v = reg().Push(Owner(), r);
    EXPECT_TRUE(changed) << "the push never reported progress past " << after;
    return v;
  }

  void ExpectNothingLeft() {
    auto collections = reg().ListCollections();
    REGFS_ASSERT_OK(collections);
    EXPECT_TRUE(collections->empty()) << "no collection, no version";
    EXPECT_EQ(BlobCount(), 0u);
    EXPECT_TRUE(fs::is_empty(BlobsDirOf(store()) / "tmp"))
        << "the staged copy is removed";
  }
};

TEST_P(PushChangeTest, AFileIsRefused) {
  const fs::path file = src() / "model.bin";
  BigFile(file);
  auto v = PushChanging({file}, file, 0);
  ASSERT_EQ(CodeOf(v), Code::kConflict) << Describe(v);
  EXPECT_NE(v.error().message.find(file.string() +
                                   " changed while it was being pushed"),
            std::string::npos)
      << v.error().message;
  EXPECT_NE(v.error().message.find("push it again when it is complete"),
            std::string::npos)
      << v.error().message;
  ExpectNothingLeft();
}

TEST_P(PushChangeTest, AFileInsideATreeIsRefused) {
  const fs::path dir = src() / "tree";
  WriteFile(dir / "a.bin", std::string(kSize, 'b'));
  BigFile(dir / "sub" / "b.bin");
  // a.bin is copied first (by path); change b.bin while it is copied.
  auto v = PushChanging({dir}, dir / "sub" / "b.bin", kSize);
  ASSERT_EQ(CodeOf(v), Code::kConflict) << Describe(v);
  EXPECT_NE(v.error().message.find((dir / "sub" / "b.bin").string() +
                                   " changed while it was being pushed"),
            std::string::npos)
      << v.error().message;
  ExpectNothingLeft();
}

INSTANTIATE_TEST_SUITE_P(Changes, PushChangeTest, ::testing::ValuesIn(kChanges),
                         [](const auto& info) { return info.param.name; });

TEST_F(RegistryTest, PushOfAnUnchangedFileStillWorksAfterARefusal) {
  const fs::path file = src() / "model.bin";
  WriteFile(file, std::string(kSize, 'a'));
  PushRequest r;
  r.collection = "c";
  r.paths = {file};
  bool changed = false;
  r.progress = [&](uint64_t, uint64_t) {
    if (!changed) Append(file);
    changed = true;
  };
  ASSERT_EQ(CodeOf(reg().Push(Owner(), r)), Code::kConflict);
  r.progress = nullptr;
  auto v = reg().Push(Owner(), r);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 0u);
  EXPECT_EQ(v->size, kSize + 4);
}

}  // namespace
}  // namespace regfs::registry
