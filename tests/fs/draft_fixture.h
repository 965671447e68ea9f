// The drafts mount tests' fixture: MountTest's store and mount, plus a
// scratch directory every test user may write (the files they copy in),
// shell and syscall helpers, and where drafts are on disk.
#ifndef REGFS_TESTS_FS_DRAFT_FIXTURE_H_
#define REGFS_TESTS_FS_DRAFT_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {

class DraftTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    work_ = dir_ / "work";
    stdfs::create_directories(work_ / "tree" / "sub");
    WriteFile(work_ / "w.bin", Pattern(5 * 1024 * 1024 + 77, 7));
    WriteFile(work_ / "tree" / "a.txt", "alpha\n");
    WriteFile(work_ / "tree" / "sub" / "b.bin", Pattern(300000, 3));
    WriteFile(work_ / "tree" / ".hidden", "dot file\n");
    for (const auto& p : stdfs::recursive_directory_iterator(work_)) {
      chmod(p.path().c_str(), p.is_directory() ? 0777 : 0666);
    }
    chmod(work_.c_str(), 0777);
  }

  // Deterministic bytes.
  static std::string Pattern(size_t size, uint32_t seed) {
    std::string bytes(size, '\0');
    uint32_t x = seed;
    for (char& c : bytes) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>(x >> 24);
    }
    return bytes;
  }

  RunResult Sh(const User& user, const std::string& script) {
    return RunAs(user, {"/bin/sh", "-c", script});
  }

  int64_t CollectionId(const std::string& name) {
    auto c = reg().GetCollection(name);
    return c ? c->id : -1;
  }
  // Where `uid`'s draft `name` of `collection` is on disk.
  stdfs::path OnDisk(const std::string& collection, const User& user,
                     const std::string& name) {
    return reg().drafts().PathOf(CollectionId(collection), user.uid, name);
  }
  size_t Versions(const std::string& collection) {
    auto versions = reg().ListVersions(collection);
    return versions ? versions->size() : 0;
  }
  // lstat through the mount as `user`: 0 or the errno.
  int StatAs(const User& user, const stdfs::path& path) {
    return AsUser(user, [&] {
      struct stat st {};
      return lstat(path.c_str(), &st) == 0 ? 0 : errno;
    });
  }
  // rename(2) as `user`: 0 or the errno.
  int RenameAs(const User& user, const stdfs::path& from,
               const stdfs::path& to) {
    return AsUser(user, [&] {
      return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
    });
  }
  // The names `user` sees in a directory of the mount.
  std::vector<std::string> ListAs(const User& user, const stdfs::path& dir) {
    const RunResult ls = RunAs(user, {"ls", "-A", dir.string()});
    std::vector<std::string> names;
    size_t at = 0;
    while (at < ls.out.size()) {
      const size_t nl = ls.out.find('\n', at);
      names.push_back(ls.out.substr(at, nl - at));
      if (nl == std::string::npos) break;
      at = nl + 1;
    }
    return names;
  }

  stdfs::path work_;
};

}  // namespace regfs::fs::testing

#endif  // REGFS_TESTS_FS_DRAFT_FIXTURE_H_
