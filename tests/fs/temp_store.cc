#include "tests/fs/temp_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <system_error>
#include <utility>

namespace regfs::fs::testing {

namespace stdfs = std::filesystem;
using registry::Identity;
using registry::Interface;

Identity Caller(uid_t uid, std::vector<gid_t> groups) {
  return Identity::For(uid, uid, std::move(groups), Interface::kFs);
}

Identity Admin() { return Identity::For(0, 0, {}, Interface::kFs); }

TempStore::TempStore() {
  std::string tmpl =
      (stdfs::temp_directory_path() / "regfs-fs-unit.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    return;
  }
  dir_ = tmpl;
  src_ = dir_ / "src";
  stdfs::create_directories(src_);
  auto reg = registry::Registry::Init(dir_ / "store", Admin());
  if (!reg) {
    ADD_FAILURE() << "Init: " << reg.error().message;
    return;
  }
  registry_ = std::move(*reg);
}

TempStore::~TempStore() {
  registry_.reset();
  if (dir_.empty()) return;
  std::error_code ec;
  stdfs::remove_all(dir_, ec);
}

registry::Version TempStore::PushFile(std::string_view collection,
                                      std::string_view name,
                                      std::string_view content) {
  const stdfs::path path = src_ / name;
  std::ofstream(path, std::ios::binary) << content;
  registry::PushRequest request;
  request.collection = std::string(collection);
  request.paths = {path};
  auto version = registry_->Push(Admin(), request);
  EXPECT_TRUE(version.has_value())
      << "push " << path << ": " << version.error().message;
  return version.value_or(registry::Version{});
}

}  // namespace regfs::fs::testing
