#include "registry/s3_xml.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <utility>

namespace regfs::registry::s3xml {
namespace {

Error Malformed(std::string_view what) {
  return Error{Code::kCorruption, fmt::format("malformed S3 reply: {}", what)};
}

// Appends code point `cp` to `out` as UTF-8; false when it is not one.
bool AppendUtf8(uint32_t cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return true;
}

// Appends the character of entity `name` ("amp", "#38", "#x26").
bool AppendEntity(std::string_view name, std::string& out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [n, c] : kNamed) {
    if (name == n) {
      out += c;
      return true;
    }
  }
  if (name.size() < 2 || name[0] != '#') return false;
  int base = 10;
  std::string_view digits = name.substr(1);
  if (digits[0] == 'x' || digits[0] == 'X') {
    base = 16;
    digits.remove_prefix(1);
  }
  uint32_t cp = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), cp, base);
  if (digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size()) {
    return false;
  }
  return AppendUtf8(cp, out);
}

// The position of the next start tag of `tag` at or after `from`, and the
// position just after its '>'; `empty` tells a <tag/>.
struct OpenTag {
  size_t start = std::string_view::npos;
  size_t content = 0;
  bool empty = false;
};
Result<OpenTag> FindOpen(std::string_view xml, std::string_view tag,
                         size_t from) {
  const std::string open = fmt::format("<{}", tag);
  for (size_t at = xml.find(open, from); at != std::string_view::npos;
       at = xml.find(open, at + 1)) {
    const size_t after = at + open.size();
    if (after >= xml.size()) break;
    const char next = xml[after];
    if (next != '>' && next != '/' && next != ' ' && next != '\t' &&
        next != '\n' && next != '\r') {
      continue;  // a longer name: <KeyCount> when looking for <Key>
    }
    const size_t close = xml.find('>', after);
    if (close == std::string_view::npos) break;
    return OpenTag{at, close + 1, xml[close - 1] == '/'};
  }
  if (const size_t at = xml.rfind(open);
      at != std::string_view::npos && at >= from &&
      xml.find('>', at) == std::string_view::npos) {
    return std::unexpected(Malformed(fmt::format("<{} is cut short", tag)));
  }
  return OpenTag{};
}

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t n = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::unexpected(Malformed(fmt::format("size \"{}\"", text)));
  }
  return n;
}

// The decoded text of the first <tag> of `xml`, "" when there is none.
Result<std::string> TextOrEmpty(std::string_view xml, std::string_view tag) {
  REGFS_ASSIGN_OR_RETURN(std::optional<std::string> text, Text(xml, tag));
  return text.value_or("");
}

Result<bool> IsTruncated(std::string_view xml) {
  REGFS_ASSIGN_OR_RETURN(const std::optional<std::string> text,
                         Text(xml, "IsTruncated"));
  return text == "true";
}

}  // namespace

Result<std::vector<std::string_view>> Elements(std::string_view xml,
                                               std::string_view tag) {
  std::vector<std::string_view> found;
  const std::string close = fmt::format("</{}>", tag);
  size_t from = 0;
  for (;;) {
    REGFS_ASSIGN_OR_RETURN(OpenTag open, FindOpen(xml, tag, from));
    if (open.start == std::string_view::npos) return found;
    if (open.empty) {
      found.push_back({});
      from = open.content;
      continue;
    }
    const size_t end = xml.find(close, open.content);
    if (end == std::string_view::npos) {
      return std::unexpected(Malformed(fmt::format("<{}> is not closed", tag)));
    }
    found.push_back(xml.substr(open.content, end - open.content));
    from = end + close.size();
  }
}

Result<std::optional<std::string>> Text(std::string_view xml,
                                        std::string_view tag) {
  REGFS_ASSIGN_OR_RETURN(OpenTag open, FindOpen(xml, tag, 0));
  if (open.start == std::string_view::npos) return std::nullopt;
  if (open.empty) return std::string();
  const std::string close = fmt::format("</{}>", tag);
  const size_t end = xml.find(close, open.content);
  if (end == std::string_view::npos) {
    return std::unexpected(Malformed(fmt::format("<{}> is not closed", tag)));
  }
  REGFS_ASSIGN_OR_RETURN(
      std::string text,
      DecodeEntities(xml.substr(open.content, end - open.content)));
  return text;
}

Result<std::string> DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t amp = text.find('&', i);
    out.append(text.substr(i, amp == std::string_view::npos ? amp : amp - i));
    if (amp == std::string_view::npos) break;
    const size_t semi = text.find(';', amp);
    if (semi == std::string_view::npos ||
        !AppendEntity(text.substr(amp + 1, semi - amp - 1), out)) {
      return std::unexpected(Malformed(fmt::format(
          "entity in \"{}\"",
          text.substr(amp, std::min<size_t>(12, text.size() - amp)))));
    }
    i = semi + 1;
  }
  return out;
}

std::string EscapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::optional<int64_t> ParseIsoTimeMs(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff…]Z
  auto number = [&](size_t at, size_t len) -> std::optional<int> {
    int n = 0;
    if (at + len > text.size()) return std::nullopt;
    const char* first = text.data() + at;
    const auto [end, ec] = std::from_chars(first, first + len, n);
    if (ec != std::errc() || end != first + len) return std::nullopt;
    return n;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':' || text[16] != ':' || text.back() != 'Z') {
    return std::nullopt;
  }
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2),
             hour = number(11, 2), minute = number(14, 2),
             second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second)
    return std::nullopt;
  int ms = 0;
  if (text.size() > 20) {  // a fraction: its first three digits are ms
    if (text[19] != '.') return std::nullopt;
    const std::string_view frac = text.substr(20, text.size() - 21);
    if (frac.empty()) return std::nullopt;
    for (size_t i = 0; i < frac.size(); ++i) {
      if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
      if (i < 3) ms = ms * 10 + (frac[i] - '0');
    }
    for (size_t i = frac.size(); i < 3; ++i) ms *= 10;
  }
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

ErrorReply ParseError(std::string_view xml) {
  auto error = Elements(xml, "Error");
  if (!error || error->empty()) return {};
  auto code = TextOrEmpty(error->front(), "Code");
  auto message = TextOrEmpty(error->front(), "Message");
  return ErrorReply{code.value_or(""), message.value_or("")};
}

Result<ListPage> ParseListObjects(std::string_view xml) {
  ListPage page;
  REGFS_ASSIGN_OR_RETURN(auto contents, Elements(xml, "Contents"));
  for (const std::string_view item : contents) {
    S3Object object;
    REGFS_ASSIGN_OR_RETURN(std::optional<std::string> key, Text(item, "Key"));
    if (!key) return std::unexpected(Malformed("<Contents> without <Key>"));
    object.key = std::move(*key);
    REGFS_ASSIGN_OR_RETURN(std::string size, TextOrEmpty(item, "Size"));
    REGFS_ASSIGN_OR_RETURN(object.size, ParseSize(size));
    REGFS_ASSIGN_OR_RETURN(std::string time, TextOrEmpty(item, "LastModified"));
    object.last_modified_ms = ParseIsoTimeMs(time).value_or(0);
    page.objects.push_back(std::move(object));
  }
  REGFS_ASSIGN_OR_RETURN(const bool truncated, IsTruncated(xml));
  if (truncated) {
    REGFS_ASSIGN_OR_RETURN(std::string token,
                           TextOrEmpty(xml, "NextContinuationToken"));
    if (token.empty()) {
      return std::unexpected(
          Malformed("truncated without a NextContinuationToken"));
    }
    page.next_token = std::move(token);
  }
  return page;
}

Result<UploadsPage> ParseListUploads(std::string_view xml) {
  UploadsPage page;
  REGFS_ASSIGN_OR_RETURN(auto uploads, Elements(xml, "Upload"));
  for (const std::string_view item : uploads) {
    S3Upload upload;
    REGFS_ASSIGN_OR_RETURN(upload.key, TextOrEmpty(item, "Key"));
    REGFS_ASSIGN_OR_RETURN(upload.upload_id, TextOrEmpty(item, "UploadId"));
    if (upload.key.empty() || upload.upload_id.empty()) {
      return std::unexpected(Malformed("<Upload> without <Key> or <UploadId>"));
    }
    REGFS_ASSIGN_OR_RETURN(std::string time, TextOrEmpty(item, "Initiated"));
    upload.initiated_ms = ParseIsoTimeMs(time).value_or(0);
    page.uploads.push_back(std::move(upload));
  }
  REGFS_ASSIGN_OR_RETURN(const bool truncated, IsTruncated(xml));
  if (truncated) {
    REGFS_ASSIGN_OR_RETURN(std::string key, TextOrEmpty(xml, "NextKeyMarker"));
    REGFS_ASSIGN_OR_RETURN(std::string id,
                           TextOrEmpty(xml, "NextUploadIdMarker"));
    if (key.empty()) {
      return std::unexpected(Malformed("truncated without a NextKeyMarker"));
    }
    page.next_markers = {std::move(key), std::move(id)};
  }
  return page;
}

Result<std::string> ParseUploadId(std::string_view xml) {
  REGFS_ASSIGN_OR_RETURN(std::string id, TextOrEmpty(xml, "UploadId"));
  if (id.empty()) return std::unexpected(Malformed("no <UploadId>"));
  return id;
}

}  // namespace regfs::registry::s3xml
