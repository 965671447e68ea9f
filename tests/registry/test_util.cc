#include "tests/registry/test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

#include "registry/shared_store.h"
#include "tests/registry/test_store.h"

namespace regfs::registry {

void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }

void PrintTo(const Error& error, std::ostream* os) {
  *os << CodeName(error.code) << ": " << error.message;
}

void PrintTo(Role role, std::ostream* os) { *os << RoleName(role); }

void PrintTo(Kind kind, std::ostream* os) { *os << KindName(kind); }

void PrintTo(EventType type, std::ostream* os) { *os << EventTypeName(type); }

}  // namespace regfs::registry

namespace regfs::registry::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "regfs-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    return;
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  // Blobs and versions are read-only; make everything removable first.
  for (auto it = fs::recursive_directory_iterator(
           path_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      ::chmod(it->path().c_str(), 0700);
    }
  }
  ::chmod(path_.c_str(), 0700);
  fs::remove_all(path_, ec);
}

Identity Root(Interface interface) {
  return Identity::For(0, 0, {}, interface);
}

Identity Owner(Interface interface) {
  return Identity::For(kOwnerUid, kOwnerUid, {}, interface);
}

Identity User(uid_t uid, std::vector<gid_t> groups, Interface interface) {
  return Identity::For(uid, uid, std::move(groups), interface);
}

void WriteFile(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << "writing " << path;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory() && it->path().filename() == "tmp") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path());
  }
  return files;
}

void RegistryTest::SetUp() {
  tmp_ = std::make_unique<TempDir>();
  ASSERT_FALSE(tmp_->path().empty());
  store_ = tmp_->path() / "store";
  src_ = tmp_->path() / "src";
  fs::create_directories(src_);
  // On PostgreSQL (REGFS_TEST_ENGINE, test_store.h), a shared store whose
  // blob directory is tmp/blobs.
  if (TestOnPostgres()) {
    auto opened = InitTestSharedStore(store_, Owner(), tmp_->path() / "blobs",
                                      init_options_);
    ASSERT_TRUE(opened.has_value()) << Describe(opened);
    registry_ = std::move(*opened);
    return;
  }
  auto opened = Registry::Init(store_, Owner(), init_options_);
  ASSERT_TRUE(opened.has_value()) << Describe(opened);
  registry_ = std::move(*opened);
}

void RegistryTest::TearDown() {
  registry_.reset();
  tmp_.reset();
}

void RegistryTest::Reopen(OpenOptions options) {
  registry_.reset();
  auto opened = Registry::Open(store_, std::move(options));
  ASSERT_TRUE(opened.has_value()) << Describe(opened);
  registry_ = std::move(*opened);
}

fs::path RegistryTest::Source(std::string_view name, std::string_view content) {
  const fs::path path = src_ / name;
  WriteFile(path, content);
  return path;
}

Result<Version> RegistryTest::PushContent(const Identity& who,
                                          std::string_view collection,
                                          std::string_view content,
                                          std::string_view filename) {
  const fs::path dir = src_ / ("push" + std::to_string(pushed_++));
  const fs::path path = dir / filename;
  WriteFile(path, content);
  PushRequest request;
  request.collection = std::string(collection);
  request.paths = {path};
  return registry_->Push(who, request);
}

std::vector<Event> RegistryTest::AllEvents() {
  auto events = registry_->History(HistoryFilter{});
  EXPECT_TRUE(events.has_value()) << Describe(events);
  if (!events.has_value()) return {};
  return *events;
}

uint64_t RegistryTest::Seq() {
  auto seq = registry_->LastSeq();
  EXPECT_TRUE(seq.has_value()) << Describe(seq);
  return seq.value_or(0);
}

// Drafts (BLOBS/drafts on a shared store) are no blobs.
size_t RegistryTest::BlobCount() {
  const fs::path blobs = BlobsDirOf(store_);
  size_t count = 0;
  for (const fs::path& file : FilesUnder(blobs)) {
    if (!file.lexically_relative(blobs).string().starts_with("drafts/")) {
      ++count;
    }
  }
  return count;
}

}  // namespace regfs::registry::testing
