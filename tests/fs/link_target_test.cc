// fs/link_target.h: which absolute symlink targets name a version or alias
// under the mount's own mount point, and the relative name they become.
#include "fs/link_target.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace regfs::fs {
namespace {

TEST(LinkTargetTest, MountRelativeTarget) {
  struct {
    std::string mountpoint;
    std::string target;
    std::optional<std::string> relative;  // nullopt: InvalidArgument
  } cases[] = {
      // Relative targets pass through for the registry to judge.
      {"/registry", "v1", "v1"},
      {"/registry", "./v1", "./v1"},
      {"/registry", "../models/v1", "../models/v1"},
      {"/registry", "../other/v1", "../other/v1"},
      // Under this mount, in this collection.
      {"/registry", "/registry/models/v1", "v1"},
      {"/registry", "/registry/models/best", "best"},
      {"/registry", "//registry//models/./v1", "v1"},
      {"/registry", "/./registry/models/v1/", "v1"},
      {"/mnt/reg", "/mnt/reg/models/latest", "latest"},
      {"/", "/models/v1", "v1"},
      // Elsewhere, another collection, `..`, or not a name.
      {"/registry", "/elsewhere/models/v1", std::nullopt},
      {"/registry", "/registry2/models/v1", std::nullopt},
      {"/registry", "/regis/models/v1", std::nullopt},
      {"/mnt/reg", "/mnt/models/v1", std::nullopt},
      {"/mnt/reg", "/reg/models/v1", std::nullopt},
      {"/registry", "/registry/other/v1", std::nullopt},
      {"/registry", "/registry/models/../models/v1", std::nullopt},
      {"/registry", "/registry/../registry/models/v1", std::nullopt},
      {"/registry", "/registry/models", std::nullopt},
      {"/registry", "/registry", std::nullopt},
      {"/registry", "/", std::nullopt},
      {"/registry", "/registry/models/v1/file", std::nullopt},
      {"/registry", std::string("/registry/models/v1\0x", 21), std::nullopt},
      {"", "/registry/models/v1", std::nullopt},
      {"", "/models/v1", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = MountRelativeTarget(c.mountpoint, "models", c.target);
    if (c.relative) {
      EXPECT_EQ(got.value_or("<error: " +
                             (got ? std::string() : got.error().message) + ">"),
                *c.relative)
          << c.mountpoint << " " << c.target;
    } else {
      ASSERT_FALSE(got.has_value()) << c.mountpoint << " " << c.target
                                    << " gave " << *got;
      EXPECT_EQ(got.error().code, registry::Code::kInvalidArgument);
      EXPECT_NE(got.error().message.find("symlink target"), std::string::npos)
          << got.error().message;
    }
  }
}

}  // namespace
}  // namespace regfs::fs
