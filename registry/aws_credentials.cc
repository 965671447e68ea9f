// The AWS conventions for credentials and region (environment variables,
// ~/.aws/credentials, ~/.aws/config), and s3:// URLs. Declared in
// s3_client.h.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "registry/s3_client.h"

namespace regfs::registry {
namespace {

using Section = std::map<std::string, std::string>;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// The file named by `variable`, else ~/`home_relative`; "" when neither
// is known.
std::string AwsFile(const char* variable, const char* home_relative) {
  std::string path = Env(variable);
  if (!path.empty()) return path;
  const std::string home = Env("HOME");
  return home.empty() ? "" : home + "/" + home_relative;
}

// The keys of section `[name]` of the INI file `path` (keys lower-cased),
// or nullopt when the file or the section is missing. Lines starting with
// '#' or ';' are comments; a key repeated keeps its last value.
std::optional<Section> ReadIniSection(const std::string& path,
                                      std::string_view name) {
  std::ifstream in(path);
  if (path.empty() || !in) return std::nullopt;
  std::optional<Section> found;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view text = Trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      inside = Trim(text.substr(1, text.size() - 2)) == name;
      if (inside && !found) found.emplace();
      continue;
    }
    const size_t eq = text.find('=');
    if (!inside || eq == std::string_view::npos) continue;
    std::string key(Trim(text.substr(0, eq)));
    for (char& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    (*found)[key] = std::string(Trim(text.substr(eq + 1)));
  }
  return found;
}

std::string Profile() {
  const std::string profile = Env("AWS_PROFILE");
  return profile.empty() ? "default" : profile;
}

std::string ValueOr(const Section& section, const std::string& key) {
  const auto it = section.find(key);
  return it == section.end() ? "" : it->second;
}

// S3's rules for a bucket's name: 3 to 63 lower-case letters, digits,
// dots and hyphens, starting and ending with a letter or a digit.
bool ValidBucket(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  for (const char c : name) {
    if (!alnum(c) && c != '.' && c != '-') return false;
  }
  return alnum(name.front()) && alnum(name.back());
}

}  // namespace

Result<AwsCredentials> LoadAwsCredentials() {
  AwsCredentials credentials{Env("AWS_ACCESS_KEY_ID"),
                             Env("AWS_SECRET_ACCESS_KEY"),
                             Env("AWS_SESSION_TOKEN")};
  if (!credentials.access_key_id.empty() ||
      !credentials.secret_access_key.empty()) {
    if (credentials.access_key_id.empty() ||
        credentials.secret_access_key.empty()) {
      return Fail(Code::kInvalidArgument,
                  "AWS credentials: set both AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY, or neither");
    }
    return credentials;
  }
  const std::string path =
      AwsFile("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
  const std::string profile = Profile();
  const std::optional<Section> section = ReadIniSection(path, profile);
  if (!section) {
    return Fail(
        Code::kNotFound,
        fmt::format("no AWS credentials: AWS_ACCESS_KEY_ID is not set "
                    "and {} has no profile [{}]",
                    path.empty() ? "~/.aws/credentials" : path, profile));
  }
  credentials.access_key_id = ValueOr(*section, "aws_access_key_id");
  credentials.secret_access_key = ValueOr(*section, "aws_secret_access_key");
  credentials.session_token = ValueOr(*section, "aws_session_token");
  if (credentials.access_key_id.empty() ||
      credentials.secret_access_key.empty()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("AWS credentials: profile [{}] of {} lacks "
                            "aws_access_key_id or aws_secret_access_key",
                            profile, path));
  }
  return credentials;
}

std::string DefaultAwsRegion() {
  for (const char* variable : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::string region = Env(variable);
    if (!region.empty()) return region;
  }
  const std::string profile = Profile();
  const std::string section =
      profile == "default" ? profile : "profile " + profile;
  const auto config =
      ReadIniSection(AwsFile("AWS_CONFIG_FILE", ".aws/config"), section);
  if (config) {
    std::string region = ValueOr(*config, "region");
    if (!region.empty()) return region;
  }
  return "us-east-1";
}

Result<S3Url> ParseS3Url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  auto refuse = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument,
                fmt::format("not an S3 URL s3://BUCKET[/PREFIX]: \"{}\": {}",
                            url, why));
  };
  if (!url.starts_with(kScheme)) return refuse("it does not start with s3://");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  S3Url parsed;
  parsed.bucket = std::string(rest.substr(0, slash));
  if (!ValidBucket(parsed.bucket)) {
    return refuse(
        "a bucket is 3 to 63 lower-case letters, digits, '.' and '-'");
  }
  std::string_view prefix =
      slash == std::string_view::npos ? "" : rest.substr(slash);
  while (prefix.starts_with('/')) prefix.remove_prefix(1);
  while (prefix.ends_with('/')) prefix.remove_suffix(1);
  for (size_t at = 0; at <= prefix.size() && !prefix.empty();) {
    const size_t end = std::min(prefix.find('/', at), prefix.size());
    const std::string_view part = prefix.substr(at, end - at);
    if (part.empty() || part == "." || part == "..") {
      return refuse("the prefix has an empty, '.' or '..' component");
    }
    at = end + 1;
  }
  for (const char c : prefix) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '?' ||
        c == '#') {
      return refuse("the prefix has a control character, '?' or '#'");
    }
  }
  parsed.prefix = std::string(prefix);
  return parsed;
}

}  // namespace regfs::registry
