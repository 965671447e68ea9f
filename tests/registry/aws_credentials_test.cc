// The AWS conventions (LoadAwsCredentials, DefaultAwsRegion) and s3://
// URLs, declared in registry/s3_client.h.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>

#include "registry/s3_client.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kAwsVariables[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",       "AWS_SESSION_TOKEN",
    "AWS_PROFILE",       "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    "AWS_REGION",        "AWS_DEFAULT_REGION",          "HOME"};

// Each test starts with none of the AWS variables and HOME in a temporary
// directory; the environment is put back afterwards.
class AwsConventionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kAwsVariables) {
      const char* value = getenv(name);
      saved_[name] = value ? std::optional<std::string>(value) : std::nullopt;
      unsetenv(name);
    }
    setenv("HOME", home_.path().c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

  void WriteHomeFile(const std::string& relative, std::string_view content) {
    std::filesystem::create_directories(
        (home_.path() / relative).parent_path());
    WriteFile(home_.path() / relative, content);
  }

  TempDir home_;
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(AwsConventionsTest, CredentialsFromTheEnvironment) {
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  WriteHomeFile(
      ".aws/credentials",
      "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = f\n");
  auto credentials = LoadAwsCredentials();
  ASSERT_TRUE(credentials) << Describe(credentials);
  EXPECT_EQ(credentials->access_key_id, "AKIAENV");
  EXPECT_EQ(credentials->secret_access_key, "env-secret");
  EXPECT_EQ(credentials->session_token, "");

  setenv("AWS_SESSION_TOKEN", "token", 1);
  credentials = LoadAwsCredentials();
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->session_token, "token");
}

TEST_F(AwsConventionsTest, HalfTheEnvironmentIsAnError) {
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  auto credentials = LoadAwsCredentials();
  EXPECT_EQ(CodeOf(credentials), Code::kInvalidArgument);
}

TEST_F(AwsConventionsTest, CredentialsFromTheDefaultProfile) {
  WriteHomeFile(".aws/credentials",
                "# a comment\n[other]\naws_access_key_id=AKIAOTHER\n"
                "aws_secret_access_key=other\n\n[default]\n"
                "  AWS_ACCESS_KEY_ID = AKIADEFAULT  \n"
                "aws_secret_access_key = with = sign\n"
                "; another comment\naws_session_token = tok\n");
  auto credentials = LoadAwsCredentials();
  ASSERT_TRUE(credentials) << Describe(credentials);
  EXPECT_EQ(credentials->access_key_id, "AKIADEFAULT");
  EXPECT_EQ(credentials->secret_access_key, "with = sign");
  EXPECT_EQ(credentials->session_token, "tok");
}

TEST_F(AwsConventionsTest, CredentialsFromANamedProfileInANamedFile) {
  const auto file = home_.path() / "elsewhere";
  WriteFile(
      file,
      "[default]\naws_access_key_id=A\naws_secret_access_key=B\n"
      "[ci]\naws_access_key_id=AKIACI\naws_secret_access_key=ci-secret\n");
  setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  setenv("AWS_PROFILE", "ci", 1);
  auto credentials = LoadAwsCredentials();
  ASSERT_TRUE(credentials) << Describe(credentials);
  EXPECT_EQ(credentials->access_key_id, "AKIACI");
  EXPECT_EQ(credentials->secret_access_key, "ci-secret");
}

TEST_F(AwsConventionsTest, NoCredentialsSaysWhereItLooked) {
  auto credentials = LoadAwsCredentials();
  ASSERT_EQ(CodeOf(credentials), Code::kNotFound);
  EXPECT_NE(credentials.error().message.find(".aws/credentials"),
            std::string::npos)
      << credentials.error().message;
  EXPECT_NE(credentials.error().message.find("[default]"), std::string::npos);

  WriteHomeFile(".aws/credentials", "[default]\naws_access_key_id=A\n");
  credentials = LoadAwsCredentials();
  EXPECT_EQ(CodeOf(credentials), Code::kInvalidArgument);
  setenv("AWS_PROFILE", "missing", 1);
  credentials = LoadAwsCredentials();
  EXPECT_EQ(CodeOf(credentials), Code::kNotFound);
}

TEST_F(AwsConventionsTest, RegionFromTheEnvironmentThenTheConfig) {
  EXPECT_EQ(DefaultAwsRegion(), "us-east-1");
  WriteHomeFile(
      ".aws/config",
      "[default]\nregion = eu-west-3\n[profile ci]\nregion=ap-south-1\n"
      "[ci]\nregion=wrong\n");
  EXPECT_EQ(DefaultAwsRegion(), "eu-west-3");
  setenv("AWS_PROFILE", "ci", 1);
  EXPECT_EQ(DefaultAwsRegion(), "ap-south-1");
  setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
  EXPECT_EQ(DefaultAwsRegion(), "us-west-2");
  setenv("AWS_REGION", "eu-central-1", 1);
  EXPECT_EQ(DefaultAwsRegion(), "eu-central-1");

  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  const auto file = home_.path() / "other-config";
  WriteFile(file, "[profile ci]\nregion = sa-east-1\n");
  setenv("AWS_CONFIG_FILE", file.c_str(), 1);
  EXPECT_EQ(DefaultAwsRegion(), "sa-east-1");
}

TEST(ParseS3UrlTest, Parses) {
  struct Case {
    std::string_view url;
    std::string_view bucket;
    std::string_view prefix;
  };
  const Case cases[] = {
      {"s3://bucket", "bucket", ""},
      {"s3://bucket/", "bucket", ""},
      {"s3://my.bucket-1/regfs", "my.bucket-1", "regfs"},
      {"s3://bkt//a/b/", "bkt", "a/b"},
      {"s3://bkt/team a/blobs", "bkt", "team a/blobs"},
  };
  for (const Case& c : cases) {
    auto url = ParseS3Url(c.url);
    ASSERT_TRUE(url) << c.url << ": " << Describe(url);
    EXPECT_EQ(url->bucket, c.bucket) << c.url;
    EXPECT_EQ(url->prefix, c.prefix) << c.url;
  }
}

TEST(ParseS3UrlTest, Refuses) {
  for (const std::string_view bad :
       {"", "bucket/prefix", "S3://bucket", "s3:/bucket", "https://bucket",
        "s3://", "s3:///prefix", "s3://ab", "s3://Bucket", "s3://under_score",
        "s3://-bucket", "s3://bucket-", "s3://bucket/a//b",
        "s3://bucket/a/../b", "s3://bucket/./a", "s3://bucket/a?b",
        "s3://bucket/a#b", "s3://bucket/a\nb"}) {
    auto url = ParseS3Url(bad);
    EXPECT_EQ(CodeOf(url), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace regfs::registry
