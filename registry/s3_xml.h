// The XML replies of S3 that the client reads (s3_client.h), parsed by a
// small extractor: no XML library is packaged for regfs, and the replies
// are flat sequences of <Tag>text</Tag> with one level of grouping
// (<Contents>, <Upload>), no CDATA and no comments.
//
// The extractor finds elements by name anywhere below the text it is
// given; it does not handle an element nested inside another of the same
// name, which these replies never have. Text never holds a literal '<'
// (XML escapes it), so a tag found by search is a tag.
//
// Pure functions; thread-safe.
#ifndef REGFS_REGISTRY_S3_XML_H_
#define REGFS_REGISTRY_S3_XML_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/s3_client.h"

namespace regfs::registry::s3xml {

// The raw contents (entities not decoded) of every <tag>…</tag> in `xml`,
// in order; an empty element (<tag/>) gives "". A tag opened and never
// closed is kCorruption.
[[nodiscard]] Result<std::vector<std::string_view>> Elements(
    std::string_view xml, std::string_view tag);

// The decoded text of the first <tag>…</tag> in `xml`, or nullopt.
[[nodiscard]] Result<std::optional<std::string>> Text(std::string_view xml,
                                                      std::string_view tag);

// Text with the five XML entities and numeric references (&#38; &#x26;)
// decoded; another entity is kCorruption.
[[nodiscard]] Result<std::string> DecodeEntities(std::string_view text);

// `text` with & < > " ' escaped, for a body the client sends.
std::string EscapeText(std::string_view text);

// "2026-12-03T11:50:31.000Z" as Unix milliseconds; nullopt if malformed.
std::optional<int64_t> ParseIsoTimeMs(std::string_view text);

// An <Error> reply's code and message ("NoSuchKey", "The specified key
// does not exist."); empty strings when `xml` is not one.
struct ErrorReply {
  std::string code;
  std::string message;
};
ErrorReply ParseError(std::string_view xml);

// One page of ListObjectsV2.
struct ListPage {
  std::vector<S3Object> objects;
  // Set when the listing goes on: the next page's continuation-token.
  std::optional<std::string> next_token;
};
[[nodiscard]] Result<ListPage> ParseListObjects(std::string_view xml);

// One page of ListMultipartUploads.
struct UploadsPage {
  std::vector<S3Upload> uploads;
  // Set when the listing goes on: the next page's key-marker and
  // upload-id-marker.
  std::optional<std::pair<std::string, std::string>> next_markers;
};
[[nodiscard]] Result<UploadsPage> ParseListUploads(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult.
[[nodiscard]] Result<std::string> ParseUploadId(std::string_view xml);

}  // namespace regfs::registry::s3xml

#endif  // REGFS_REGISTRY_S3_XML_H_
