// The S3 client's reply parsers (registry/s3_xml.h) and its pieces of
// URL and query (registry/s3_transport.h), on canned text.
#include "registry/s3_xml.h"

#include <gtest/gtest.h>

#include <string>

#include "registry/s3_transport.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;

TEST(S3XmlTest, DecodesEntities) {
  struct Case {
    std::string_view in;
    std::string_view out;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"a&amp;b", "a&b"},
      {"&lt;Key&gt;", "<Key>"},
      {"&quot;etag&quot;", "\"etag\""},
      {"it&apos;s", "it's"},
      {"&#38;&#x26;&#X26;", "&&&"},
      {"line&#x0D;end", "line\rend"},
      {"&#xE9;t&#233;", "\xC3\xA9t\xC3\xA9"},
      {"&#x1F600;", "\xF0\x9F\x98\x80"},
      {"", ""},
  };
  for (const Case& c : cases) {
    auto decoded = s3xml::DecodeEntities(c.in);
    ASSERT_TRUE(decoded) << c.in << ": " << Describe(decoded);
    EXPECT_EQ(*decoded, c.out) << c.in;
  }
}

TEST(S3XmlTest, RefusesUnknownOrBrokenEntities) {
  for (const std::string_view bad :
       {"&nbsp;", "a & b", "&amp", "&#;", "&#x;", "&#xZZ;", "&#0;", "&#xD800;",
        "&#x110000;"}) {
    auto decoded = s3xml::DecodeEntities(bad);
    EXPECT_EQ(CodeOf(decoded), Code::kCorruption) << bad;
  }
}

TEST(S3XmlTest, EscapesWhatItSends) {
  EXPECT_EQ(s3xml::EscapeText("\"a\"&<b>'c'"),
            "&quot;a&quot;&amp;&lt;b&gt;&apos;c&apos;");
  auto round = s3xml::DecodeEntities(s3xml::EscapeText("x<&>\"'y"));
  ASSERT_TRUE(round);
  EXPECT_EQ(*round, "x<&>\"'y");
}

TEST(S3XmlTest, FindsElementsByExactName) {
  const std::string_view xml =
      "<R xmlns=\"x\"><KeyCount>2</KeyCount><Key>a</Key><Key "
      "attr=\"1\">b&amp;c</Key>"
      "<Key/><Keys>no</Keys></R>";
  auto keys = s3xml::Elements(xml, "Key");
  ASSERT_TRUE(keys) << Describe(keys);
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0], "a");
  EXPECT_EQ((*keys)[1], "b&amp;c");  // raw
  EXPECT_EQ((*keys)[2], "");
  auto first = s3xml::Text(xml, "Key");
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "a");
  auto count = s3xml::Text(xml, "KeyCount");
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, "2");
  auto missing = s3xml::Text(xml, "Nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, std::nullopt);
}

TEST(S3XmlTest, RefusesUnclosedElements) {
  EXPECT_EQ(CodeOf(s3xml::Elements("<R><Key>a</R>", "Key")), Code::kCorruption);
  EXPECT_EQ(CodeOf(s3xml::Text("<R><Key>a", "Key")), Code::kCorruption);
  EXPECT_EQ(CodeOf(s3xml::Text("<R><Key", "Key")), Code::kCorruption);
}

TEST(S3XmlTest, ParsesIsoTimes) {
  EXPECT_EQ(s3xml::ParseIsoTimeMs("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03T11:50:31.123Z"), 1796298631123);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03T11:50:31Z"), 1796298631000);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03T11:50:31.5Z"), 1796298631500);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03T11:50:31.123456Z"),
            1796298631123);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03 11:50:31Z"), std::nullopt);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("2026-12-03T11:50:31"), std::nullopt);
  EXPECT_EQ(s3xml::ParseIsoTimeMs("yesterday"), std::nullopt);
}

TEST(S3XmlTest, ParsesAnErrorReply) {
  const auto error = s3xml::ParseError(
      "<?xml version=\"1.0\" "
      "encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
      "<Message>The specified key does not "
      "exist.</Message><Key>a&amp;b</Key></Error>");
  EXPECT_EQ(error.code, "NoSuchKey");
  EXPECT_EQ(error.message, "The specified key does not exist.");
  EXPECT_EQ(s3xml::ParseError("not xml").code, "");
}

// Two pages of ListObjectsV2 as AWS writes them.
TEST(S3XmlTest, ParsesListObjectsPages) {
  const std::string first =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</"
      "MaxKeys>"
      "<IsTruncated>true</IsTruncated>"
      "<Contents><Key>p/a&amp;1</Key><LastModified>2026-12-03T11:50:31.000Z</"
      "LastModified>"
      "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
      "<StorageClass>STANDARD</StorageClass></Contents>"
      "<Contents><Key>p/b</Key><LastModified>2026-12-03T11:50:32.000Z</"
      "LastModified>"
      "<Size>12582912</Size><Owner><ID>x</ID><DisplayName>y</DisplayName></"
      "Owner></Contents>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
      "NextContinuationToken>"
      "</ListBucketResult>";
  auto page = s3xml::ParseListObjects(first);
  ASSERT_TRUE(page) << Describe(page);
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&1");
  EXPECT_EQ(page->objects[0].size, 0u);
  EXPECT_EQ(page->objects[0].last_modified_ms, 1796298631000);
  EXPECT_EQ(page->objects[1].key, "p/b");
  EXPECT_EQ(page->objects[1].size, 12582912u);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  const std::string last =
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "<Contents><Key>p/c</Key><Size>7</Size></Contents></ListBucketResult>";
  page = s3xml::ParseListObjects(last);
  ASSERT_TRUE(page) << Describe(page);
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].last_modified_ms, 0);
  EXPECT_EQ(page->next_token, std::nullopt);

  auto empty = s3xml::ParseListObjects(
      "<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->objects.empty());
}

TEST(S3XmlTest, RefusesABrokenListing) {
  EXPECT_EQ(CodeOf(s3xml::ParseListObjects(
                "<L><Contents><Size>1</Size></Contents></L>")),
            Code::kCorruption);
  EXPECT_EQ(CodeOf(s3xml::ParseListObjects(
                "<L><Contents><Key>a</Key><Size>-1</Size></Contents></L>")),
            Code::kCorruption);
  EXPECT_EQ(
      CodeOf(s3xml::ParseListObjects("<L><IsTruncated>true</IsTruncated></L>")),
      Code::kCorruption);
}

TEST(S3XmlTest, ParsesUploadsAndUploadIds) {
  const std::string xml =
      "<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>true</"
      "IsTruncated>"
      "<NextKeyMarker>p/b</NextKeyMarker><NextUploadIdMarker>id2</"
      "NextUploadIdMarker>"
      "<Upload><Key>p/a</Key><UploadId>id1</UploadId>"
      "<Initiator><ID>x</ID></Initiator><Initiated>2026-12-03T11:50:31.000Z</"
      "Initiated>"
      "</Upload><Upload><Key>p/b</Key><UploadId>id2</UploadId></Upload>"
      "</ListMultipartUploadsResult>";
  auto page = s3xml::ParseListUploads(xml);
  ASSERT_TRUE(page) << Describe(page);
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "p/a");
  EXPECT_EQ(page->uploads[0].upload_id, "id1");
  EXPECT_EQ(page->uploads[0].initiated_ms, 1796298631000);
  EXPECT_EQ(page->uploads[1].upload_id, "id2");
  ASSERT_TRUE(page->next_markers);
  EXPECT_EQ(page->next_markers->first, "p/b");
  EXPECT_EQ(page->next_markers->second, "id2");

  auto id = s3xml::ParseUploadId(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElE.ZWxvbmc-</UploadId></"
      "InitiateMultipartUploadResult>");
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, "VXBsb2FkIElE.ZWxvbmc-");
  EXPECT_EQ(CodeOf(s3xml::ParseUploadId("<Error/>")), Code::kCorruption);
}

TEST(S3RequestTest, QueriesAreCanonical) {
  EXPECT_EQ(s3::CanonicalQuery({{"prefix", "a/b c"}, {"list-type", "2"}}),
            "list-type=2&prefix=a%2Fb%20c");
  EXPECT_EQ(s3::CanonicalQuery({{"uploads", ""}, {"prefix", ""}}),
            "prefix=&uploads=");
  EXPECT_EQ(s3::CanonicalQuery({{"continuation-token", "1u+/x=="}}),
            "continuation-token=1u%2B%2Fx%3D%3D");
  EXPECT_EQ(
      s3::CanonicalQuery({{"uploadId", "a.b_c-d~e"}, {"partNumber", "10"}}),
      "partNumber=10&uploadId=a.b_c-d~e");
}

TEST(S3RequestTest, KeysAreEncodedInPaths) {
  EXPECT_EQ(s3::EncodePath("ab/cd.ef_g-h~i"), "ab/cd.ef_g-h~i");
  EXPECT_EQ(s3::EncodePath("a b+c%d?e#f"), "a%20b%2Bc%25d%3Fe%23f");
  EXPECT_EQ(s3::EncodePath("\xC3\xA9"), "%C3%A9");
}

TEST(S3RequestTest, AddressesPathStyleAndVirtualHosted) {
  S3Config config;
  config.bucket = "bk";
  config.region = "eu-west-1";
  auto aws = s3::ParseEndpoint(config);
  ASSERT_TRUE(aws) << Describe(aws);
  const s3::Request object{.method = "GET", .key = "ab/cd", .query = "x=1"};
  const s3::Request bucket{.method = "GET", .query = "list-type=2"};
  EXPECT_EQ(s3::RequestUrl(config, *aws, object),
            "https://bk.s3.eu-west-1.amazonaws.com/ab/cd?x=1");
  EXPECT_EQ(s3::RequestUrl(config, *aws, bucket),
            "https://bk.s3.eu-west-1.amazonaws.com/?list-type=2");

  config.endpoint = "http://127.0.0.1:9000/";
  config.path_style = true;
  auto local = s3::ParseEndpoint(config);
  ASSERT_TRUE(local) << Describe(local);
  EXPECT_EQ(s3::RequestUrl(config, *local, object),
            "http://127.0.0.1:9000/bk/ab/cd?x=1");
  EXPECT_EQ(s3::RequestUrl(config, *local, bucket),
            "http://127.0.0.1:9000/bk?list-type=2");

  config.endpoint = "https://minio.example.com/s3";
  auto behind_proxy = s3::ParseEndpoint(config);
  ASSERT_TRUE(behind_proxy);
  EXPECT_EQ(s3::RequestUrl(config, *behind_proxy, object),
            "https://minio.example.com/s3/bk/ab/cd?x=1");
}

TEST(S3RequestTest, RefusesBadEndpoints) {
  for (const char* endpoint :
       {"127.0.0.1:9000", "ftp://host", "http://user:secret@host",
        "http://host/?a=b", "http://host/#f", "not a url"}) {
    S3Config config;
    config.bucket = "bk";
    config.endpoint = endpoint;
    auto parsed = s3::ParseEndpoint(config);
    EXPECT_EQ(CodeOf(parsed), Code::kInvalidArgument) << endpoint;
    if (!parsed) {
      EXPECT_EQ(parsed.error().message.find("secret@"), std::string::npos);
    }
  }
}

TEST(S3RequestTest, HashesBodies) {
  EXPECT_EQ(s3::Sha256Hex({}),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string abc = "abc";
  EXPECT_EQ(s3::Sha256Hex(std::as_bytes(std::span(abc))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(S3RequestTest, RepliesBecomeErrors) {
  s3::Reply reply{.status = 403,
                  .body =
                      "<Error><Code>SignatureDoesNotMatch</Code><Message>No.</"
                      "Message></Error>"};
  Error error = s3::HttpError("s3 GET b/k", reply);
  EXPECT_EQ(error.code, Code::kPermissionDenied);
  EXPECT_EQ(error.message, "s3 GET b/k: HTTP 403 SignatureDoesNotMatch: No.");
  EXPECT_EQ(s3::HttpError("s3 HEAD b/k", {.status = 404}).code,
            Code::kNotFound);
  EXPECT_EQ(s3::HttpError("s3 HEAD b/k", {.status = 404}).message,
            "s3 HEAD b/k: HTTP 404 (not found)");
  EXPECT_EQ(s3::HttpError("x", {.status = 400}).code, Code::kInvalidArgument);
  EXPECT_EQ(s3::HttpError("x", {.status = 501}).code, Code::kInvalidArgument);
  EXPECT_EQ(s3::HttpError("x", {.status = 301}).code, Code::kInvalidArgument);
  EXPECT_EQ(s3::HttpError("x", {.status = 503}).code, Code::kIoError);
}

}  // namespace
}  // namespace regfs::registry
