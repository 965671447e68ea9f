// `regfs serve` for real: the built binary serves a test store on a free
// port of 127.0.0.1, and libcurl fetches every page, as a browser would,
// checking status, headers and content; anything but GET and HEAD is
// refused and changes nothing.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/registry/pg_server.h"
#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using namespace std::chrono_literals;

struct Reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  // A header's value; empty if absent.
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  const std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::ranges::transform(name, name.begin(),
                           [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// One request with libcurl; `host` replaces the Host header when set.
Reply Fetch(const std::string& url, const std::string& method = "GET",
            const std::string& host = {}) {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "collection=evil");
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_slist* headers = nullptr;
  if (!host.empty()) {
    headers = curl_slist_append(headers, ("Host: " + host).c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << method << " " << url << ": "
                          << curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

const std::string kHostile = "<script>alert('meta')</script>";
const std::string kHostileFile = "\"><img src=x onerror=alert(1)>.bin";

class ServeTest : public CliTest {
 protected:
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(SIGTERM), 0) << "serve's exit code";
    }
    server_.reset();
    CliTest::TearDown();
  }

  // A store like the demo's: a file collection with three versions and
  // a protected `production` that moved, and a tree collection with a
  // hostile file name; metadata and a description are hostile too.
  void MakeStore() {
    const std::string model = WriteFile("model.pt", "weights 0");
    Ok({"push", "models", model, "--meta", "note=" + kHostile, "--description",
        "first " + kHostile, "--tag", "baseline"});
    Ok({"push", "models", WriteFile("model.pt", "weights 1"), "--alias",
        "candidate"});
    Ok({"push", "models", WriteFile("model.pt", "weights two")});
    Ok({"protect", "production"});
    Ok({"alias", "set", "models", "production", "v0"});
    Ok({"alias", "set", "models", "production", "v1"});
    WriteFile("zoo/" + kHostileFile, "x");
    WriteFile("zoo/sub/labels.txt", "cat\ndog\n");
    Ok({"push", "zoo", (dir() / "files" / "zoo").string()});
  }

  // Starts `regfs serve` on a free port; returns its first line.
  std::string Start(const std::string& store) {
    server_ = std::make_unique<RunningRegfs>(std::vector<std::string>{
        "--store", store, "serve", "--listen", "127.0.0.1:0"});
    const auto line = server_->ReadLine(20s);
    if (!line) {
      ADD_FAILURE() << "regfs serve printed nothing";
      return {};
    }
    const std::string prefix = "serving http://127.0.0.1:";
    if (line->starts_with(prefix)) {
      base_ = "http://127.0.0.1:" +
              line->substr(prefix.size(),
                           line->find(' ', prefix.size()) - prefix.size());
    }
    return *line;
  }
  std::string Start() { return Start(store().string()); }

  Reply Get(const std::string& path, const std::string& method = "GET") {
    return Fetch(base_ + path, method);
  }

  std::unique_ptr<RunningRegfs> server_;
  std::string base_;
};

TEST_F(ServeTest, SaysWhereAndAsWhomItServes) {
  EXPECT_THAT(Start(),
              MatchesRegex("serving http://127\\.0\\.0\\.1:[0-9]+ read-only, "
                           "as the default role 'viewer'"));
}

TEST_F(ServeTest, EveryPageAnswersWithItsContentAndTheHeaders) {
  MakeStore();
  Start();
  const Reply index = Get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(index.Header("content-security-policy"),
              HasSubstr("default-src 'none'"));
  EXPECT_EQ(index.Header("x-content-type-options"), "nosniff");
  EXPECT_THAT(index.body, HasSubstr("href=\"/c/models\""));
  EXPECT_THAT(index.body, HasSubstr("href=\"/c/zoo\""));
  EXPECT_THAT(index.body, HasSubstr("<td class=\"num\">3</td>"));  // versions

  const Reply models = Get("/c/models");
  EXPECT_EQ(models.status, 200);
  EXPECT_THAT(models.body, HasSubstr("class=\"badge protected\""));
  EXPECT_THAT(models.body, HasSubstr("<title>protected</title>"));
  EXPECT_THAT(models.body, HasSubstr("candidate"));
  EXPECT_THAT(models.body, HasSubstr("data-alias=\"production\""));
  EXPECT_THAT(models.body, HasSubstr("<dd>&lt;script&gt;alert(&#39;meta&#39;)"
                                     "&lt;/script&gt;</dd>"));
  EXPECT_THAT(models.body, HasSubstr("first &lt;script&gt;"));
  EXPECT_THAT(models.body, Not(HasSubstr("<script")));

  const Reply v0 = Get("/c/models/v0");
  EXPECT_EQ(v0.status, 200);
  EXPECT_THAT(v0.body, HasSubstr("model.pt"));
  EXPECT_THAT(v0.body, HasSubstr("baseline"));

  const Reply zoo = Get("/c/zoo/v0");
  EXPECT_EQ(zoo.status, 200);
  EXPECT_THAT(zoo.body, HasSubstr("sub/labels.txt"));
  EXPECT_THAT(zoo.body, HasSubstr("&quot;&gt;&lt;img src=x onerror="));
  EXPECT_THAT(zoo.body, Not(HasSubstr("<img")));

  const Reply timeline = Get("/c/models/timeline");
  EXPECT_EQ(timeline.status, 200);
  EXPECT_THAT(timeline.body, HasSubstr("production \u2192 v1"));

  const Reply history = Get("/history");
  EXPECT_EQ(history.status, 200);
  EXPECT_THAT(history.body, HasSubstr("alias.move"));
  EXPECT_THAT(history.body, HasSubstr("protect"));
  const Reply models_history = Get("/history?collection=models");
  EXPECT_EQ(models_history.status, 200);
  EXPECT_THAT(models_history.body, Not(HasSubstr("href=\"/c/zoo\"")));

  const Reply css = Get("/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.Header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(Get("/favicon.svg").status, 200);
}

TEST_F(ServeTest, HistoryPagesGoBackInOrder) {
  for (int i = 0; i < 3; ++i)
    Ok({"push", "m", WriteFile("f", std::to_string(i))});
  Start();
  // Events: collection.create, then a version.create for each push.
  const Reply older = Get("/history?before=3");
  EXPECT_EQ(older.status, 200);
  EXPECT_THAT(older.body, HasSubstr("<td class=\"num\">2</td>"));
  EXPECT_THAT(older.body, Not(HasSubstr("<td class=\"num\">3</td>")));
  EXPECT_EQ(Get("/history?before=x").status, 400);
}

TEST_F(ServeTest, TheSearchBoxFindsWhatRegistrySearchFinds) {
  MakeStore();
  Start();
  EXPECT_THAT(Get("/").body, HasSubstr("action=\"/search\""));
  const Reply hits = Get("/search?q=ALERT");
  EXPECT_EQ(hits.status, 200);
  EXPECT_THAT(hits.body, HasSubstr("class=\"search-metadata\""));
  EXPECT_THAT(hits.body, HasSubstr("class=\"search-file\""));
  EXPECT_THAT(hits.body, HasSubstr("href=\"/c/zoo/v0\""));
  EXPECT_THAT(hits.body, Not(HasSubstr("<script")));
  EXPECT_THAT(hits.body, Not(HasSubstr("<img")));
  EXPECT_THAT(Get("/search?q=%3Cscript%3E").body,
              HasSubstr("Search: &ldquo;&lt;script&gt;&rdquo;"));
  EXPECT_THAT(Get("/search?q=nothing-like-it").body,
              HasSubstr("Nothing matches."));
  EXPECT_THAT(Get("/search").body, HasSubstr("Type a term"));
  EXPECT_EQ(Get("/search?q=" + std::string(2000, 'x')).status, 400);
}

TEST_F(ServeTest, OnlyGetAndHeadAreAnsweredAndNothingChanges) {
  MakeStore();
  Start();
  const std::string before = Ok({"history", "--json"});
  for (const std::string method :
       {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    for (const std::string path : {"/", "/c/models", "/c/models/v0"}) {
      const Reply r = Get(path, method);
      EXPECT_EQ(r.status, 405) << method << " " << path;
      EXPECT_EQ(r.Header("allow"), "GET, HEAD") << method << " " << path;
      EXPECT_THAT(r.body, HasSubstr("read-only")) << method << " " << path;
    }
  }
  const Reply head = Get("/c/models", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(Ok({"history", "--json"}), before);
}

TEST_F(ServeTest, UnknownPagesAreNotFound) {
  MakeStore();
  Start();
  for (const std::string path :
       {"/nope", "/c/nope", "/c/models/v9", "/c/models/v99999999999999999999",
        "/c/nope/timeline", "/history?collection=nope", "/c/models/x/y"}) {
    const Reply r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(r.body, HasSubstr("<h1>404</h1>")) << path;
  }
}

TEST_F(ServeTest, RequestsForAnotherHostNameAreRefused) {
  Start();
  EXPECT_EQ(Fetch(base_ + "/", "GET", "attacker.example").status, 403);
  EXPECT_EQ(Fetch(base_ + "/", "GET", "localhost:8080").status, 200);
}

TEST_F(ServeTest, ADefaultRoleOfNoneRefusesToStart) {
  Ok({"role", "default", "none"});
  const RunResult r = Regfs({"serve", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("default role is 'none'"));
  EXPECT_EQ(r.out, "");
}

TEST_F(ServeTest, PagesAreRefusedOnceTheDefaultRoleBecomesNone) {
  Start();
  EXPECT_EQ(Get("/").status, 200);
  Ok({"role", "default", "none"});
  const Reply r = Get("/");
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, Not(HasSubstr("href=\"/c/")));
}

TEST_F(ServeTest, ServesAsAMemberDefaultRoleAndSaysSo) {
  Ok({"role", "default", "member"});
  EXPECT_THAT(Start(), HasSubstr("as the default role 'member'"));
  EXPECT_THAT(Get("/").body, HasSubstr("default role &#39;member&#39;"));
}

TEST_F(ServeTest, ABadListenAddressIsOneLine) {
  for (const std::string listen : {"8080", "host:", "127.0.0.1:65536", ":80"}) {
    const RunResult r = Regfs({"serve", "--listen", listen});
    EXPECT_EQ(r.exit_code, 1) << listen;
    EXPECT_THAT(r.err, HasSubstr("--listen")) << listen;
  }
}

// A shared store (issue 14): the metadata in the test PostgreSQL server;
// serve reads it as any direct command does. Label `postgres`.
class ServeSharedTest : public ServeTest {};

TEST_F(ServeSharedTest, ServesASharedStore) {
  auto server = registry::testing::PgServer::Get();
  ASSERT_TRUE(server.has_value()) << server.error().message;
  auto conninfo = (*server)->CreateDatabase();
  ASSERT_TRUE(conninfo.has_value()) << conninfo.error().message;
  const std::string node = (dir() / "node").string();
  const RunResult init =
      RunRegfs({"--store", node, "init", "--metadata", *conninfo, "--blobs",
                (dir() / "blobs").string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const RunResult push = RunRegfs({"--store", node, "push", "shared-models",
                                   WriteFile("m", "1"), "--alias", "best"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  Start(node);
  const Reply r = Get("/c/shared-models");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("data-alias=\"best\""));
}

}  // namespace
}  // namespace regfs::tools::testing
