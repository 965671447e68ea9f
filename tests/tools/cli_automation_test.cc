// Automations end to end (issue 16): `regfs automation` adds them and
// `automation run` delivers, to a small HTTP receiver started by the test
// (a socket server thread) and to commands. Signed deliveries are checked
// with OpenSSL here; a receiver that was down gets every missed delivery
// in order; a command gets the event on stdin and in its environment and
// no event value reaches its command line; two deliverers deliver each
// event once, and the second takes over when the first dies.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "delivery/deliverer.h"
#include "registry/automations.h"
#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using std::chrono::milliseconds;

struct Request {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 answering 200
// to every POST, keeping what it got. Stops in its destructor.
class Receiver final {
 public:
  // port 0: any free port.
  explicit Receiver(uint16_t port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }

  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits (up to two minutes, for a loaded machine) for `n` requests.
  std::vector<Request> WaitFor(size_t n) {
    for (int i = 0; i < 1200 && requests().size() < n; ++i) {
      std::this_thread::sleep_for(milliseconds(100));
    }
    return requests();
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Handle(c);
      close(c);
    }
  }
  void Handle(int c) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t length = 0;
    for (;;) {
      if (header_end != std::string::npos && data.size() >= header_end + 4 + length) break;
      const ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          Request r = ParseHeaders(data.substr(0, header_end));
          length = std::stoul(r.headers["content-length"]);
        }
      }
    }
    Request r = ParseHeaders(data.substr(0, header_end));
    r.body = data.substr(header_end + 4, length);
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!write(c, ok.data(), ok.size());
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(r));
  }
  static Request ParseHeaders(const std::string& head) {
    Request r;
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      }
      pos = next;
    }
    return r;
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

class CliAutomationTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const std::string model = WriteFile("model.pt", "0");
    Ok({"push", "models", model, "--alias", "production"});
    WriteFile("model.pt", "1");
    Ok({"push", "models", model});
    WriteFile("model.pt", "2");
    Ok({"push", "models", model});
  }

  std::unique_ptr<RunningRegfs> StartRun(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--store", store().string(), "automation",
                                     "run", "--poll-ms", "50",
                                     "--retry-base-ms", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<RunningRegfs>(args);
  }

  // The history row of event `seq` as `regfs history --json` prints it.
  std::string HistoryLine(uint64_t seq) {
    for (const auto& line : Regfs({"history", "--json"}).OutLines()) {
      if (nlohmann::json::parse(line)["seq"] == seq) return line;
    }
    return {};
  }
};

TEST_F(CliAutomationTest, ASignedDeliveryOfAnAliasMove) {
  Receiver receiver;
  const std::string secret = WriteFile("secret", "It's a Secret to Everybody\n");
  Ok({"automation", "add", "notify", "--on", "alias.move", "--collection",
      "models", "--alias", "production", "--webhook", receiver.url(),
      "--secret-file", secret});
  auto run = StartRun();
  Ok({"alias", "set", "models", "staging", "v2"});  // not its alias
  Ok({"alias", "set", "models", "production", "v2"});
  const auto got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  const Request& r = got[0];
  EXPECT_EQ(r.headers.at("x-regfs-signature-256"),
            "sha256=" + Hmac("It's a Secret to Everybody", r.body));
  EXPECT_FALSE(r.headers.at("x-regfs-timestamp").empty());
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["event"], "alias.move");
  EXPECT_EQ(body["old"], "v0");
  EXPECT_EQ(body["new"], "v2");
  EXPECT_EQ(body["automation"], "notify");
  const uint64_t seq = body["seq"];
  EXPECT_EQ(body["delivery_id"], fmt::format("notify:{}", seq));
  EXPECT_EQ(r.headers.at("x-regfs-delivery"), fmt::format("notify:{}", seq));
  // The history row exactly, then the two additions.
  std::string line = HistoryLine(seq);
  ASSERT_FALSE(line.empty());
  line.pop_back();  // its '}'
  EXPECT_EQ(r.body, fmt::format("{},\"automation\":\"notify\","
                                "\"delivery_id\":\"notify:{}\"}}",
                                line, seq));
  EXPECT_EQ(run->Stop(SIGTERM), 0);
  const auto log = Json({"automation", "log", "notify", "--json"});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["outcome"], "ok");
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_EQ(log[0]["seq"], seq);
}

TEST_F(CliAutomationTest, SlackFormat) {
  Receiver receiver;
  Ok({"automation", "add", "slack", "--on", "alias.move", "--webhook",
      receiver.url(), "--format", "slack"});
  auto run = StartRun();
  Ok({"alias", "set", "models", "production", "v1"});
  const auto got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  const std::string user = CurrentUser().name;
  EXPECT_EQ(nlohmann::json::parse(got[0].body),
            nlohmann::json({{"text", "models/production: v0 → v1 by " + user}}));
  EXPECT_EQ(run->Stop(SIGTERM), 0);
}

TEST_F(CliAutomationTest, AReceiverThatWasDownGetsEveryMissedDeliveryInOrder) {
  uint16_t port = 0;
  {
    Receiver probe;  // a free port, closed again
    port = probe.port();
  }
  Ok({"automation", "add", "hook", "--on", "alias.move", "--webhook",
      fmt::format("http://127.0.0.1:{}/hook", port)});
  auto run = StartRun();
  for (const char* v : {"v1", "v2", "v0", "v2"}) {
    Ok({"alias", "set", "models", "production", v});
  }
  // Wait for a failed attempt: the receiver is down.
  bool retried = false;
  for (int i = 0; i < 600 && !retried; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
    for (const auto& d : Json({"automation", "log", "hook", "--json"})) {
      if (d["outcome"] == "retry") retried = true;
    }
  }
  ASSERT_TRUE(retried);
  Receiver receiver(port);
  const auto got = receiver.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::string> news;
  uint64_t last_seq = 0;
  for (const auto& r : got) {
    const auto body = nlohmann::json::parse(r.body);
    news.push_back(body["new"]);
    EXPECT_GT(body["seq"].get<uint64_t>(), last_seq);
    last_seq = body["seq"];
  }
  EXPECT_EQ(news, (std::vector<std::string>{"v1", "v2", "v0", "v2"}));
  EXPECT_EQ(run->Stop(SIGTERM), 0);
}

TEST_F(CliAutomationTest, ACommandSeesTheEventAsItsAdderAndNothingInjects) {
  const std::filesystem::path out = dir() / "out";
  std::filesystem::create_directory(out);
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod(out.c_str(), 0777), 0);
  // A second admin adds it: the command runs as that user, not as root.
  Ok({"role", "grant", "47003", "admin"});
  ASSERT_EQ(chmod(store().c_str(), 0777), 0);
  for (const auto& e : std::filesystem::directory_iterator(store())) {
    if (e.is_regular_file()) chmod(e.path().c_str(), 0666);
  }
  const std::string command = fmt::format(
      "cat > {0}/stdin.json; id -u > {0}/uid; "
      "printf '%s|%s|%s' \"$REGFS_EVENT_KIND\" \"$REGFS_EVENT_ALIAS\" "
      "\"$REGFS_EVENT_VERSION\" > {0}/env",
      out.string());
  const RunResult added =
      Regfs({"automation", "add", "cmd", "--on", "alias.move", "--exec", command},
            {.uid = 47003, .gid = 47003});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto run = StartRun();
  Ok({"alias", "set", "models", "production", "v2"});
  for (int i = 0; i < 1200 && !std::filesystem::exists(out / "env"); ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(run->Stop(SIGTERM), 0);
  EXPECT_EQ(ReadFile(out / "uid"), "47003\n");
  EXPECT_EQ(ReadFile(out / "env"), "alias.move|production|v2");
  const auto stdin_json = nlohmann::json::parse(ReadFile(out / "stdin.json"));
  EXPECT_EQ(stdin_json["new"], "v2");
  EXPECT_EQ(stdin_json["automation"], "cmd");
}

// Names in the registry cannot hold shell syntax, so the hostile values go
// straight into an event given to the deliverer: they reach the command
// only as data.
TEST_F(CliAutomationTest, HostileEventValuesCannotInject) {
  const std::filesystem::path pwned = dir() / "pwned";
  const std::string hostile = fmt::format(
      "$(touch {0}); touch {0}; `touch {0}` ; rm -rf {1} '\"", pwned.string(),
      (dir() / "files").string());
  registry::Automation a;
  a.spec.name = "cmd";
  a.spec.events = {registry::EventType::kAliasMove};
  a.spec.target.exec = fmt::format(
      "cat > {0}/stdin.json; printf '%s' \"$REGFS_EVENT_ALIAS\" > {0}/alias; "
      "echo $REGFS_EVENT_COLLECTION $REGFS_EVENT_USER > {0}/unquoted",
      dir().string());
  a.spec.target.uid = getuid();
  a.spec.target.gid = getgid();
  a.spec.target.user = CurrentUser().name;
  registry::Event e;
  e.seq = 9;
  e.type = registry::EventType::kAliasMove;
  e.collection = hostile;
  e.alias = hostile;
  e.user = hostile;
  e.detail = {{"tag", hostile}};
  e.new_version = 1;
  const delivery::Attempt done = delivery::DeliverEvent(a, e, {});
  EXPECT_TRUE(done.ok) << done.message;
  EXPECT_FALSE(std::filesystem::exists(pwned));
  EXPECT_TRUE(std::filesystem::exists(dir() / "files"));
  EXPECT_EQ(ReadFile(dir() / "alias"), hostile);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(dir() / "stdin.json"))["alias"],
            hostile);
}

TEST_F(CliAutomationTest, BadInputAndNonAdminsAreRefused) {
  EXPECT_TRUE(Refused({"automation", "add", "x", "--on", "alias.jump",
                       "--webhook", "http://127.0.0.1:1/"})
                  .starts_with("regfs: unknown event kind 'alias.jump': use "
                               "one of collection.create, "));
  EXPECT_EQ(Refused({"automation", "add", "x", "--on", "alias.move",
                     "--webhook", "file:///etc/passwd"}),
            "regfs: bad webhook URL 'file:///etc/passwd': it must start with "
            "http:// or https://");
  EXPECT_EQ(Refused({"automation", "add", "x", "--on", "alias.move",
                     "--webhook", "http://h/", "--secret-file",
                     (dir() / "none").string()}),
            fmt::format("regfs: cannot read secret file '{}': No such file "
                        "or directory",
                        (dir() / "none").string()));
  Ok({"automation", "add", "x", "--on", "alias.move", "--webhook", "http://h/"});
  EXPECT_EQ(Refused({"automation", "add", "x", "--on", "alias.move",
                     "--webhook", "http://h/"}),
            "regfs: automation 'x' already exists");
  EXPECT_EQ(Refused({"automation", "rm", "y"}),
            "regfs: no automation named 'y'");
  // A member with access to the store's files still is no admin.
  Ok({"role", "grant", "47004", "member"});
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod(store().c_str(), 0777), 0);
  for (const auto& e : std::filesystem::directory_iterator(store())) {
    if (e.is_regular_file()) chmod(e.path().c_str(), 0666);
  }
  const RunOptions member{.uid = 47004, .gid = 47004};
  for (std::vector<std::string> args :
       {std::vector<std::string>{"automation", "ls"},
        {"automation", "rm", "x"},
        {"automation", "run"},
        {"automation", "add", "y", "--on", "alias.move", "--exec", "true"}}) {
    const std::string line = Refused(args, member);
    EXPECT_NE(line.find("manage automations"), std::string::npos) << line;
  }
  Ok({"automation", "rm", "x"});
  const std::string history = Ok({"history"});
  const size_t added = history.find("added automation x");
  EXPECT_NE(added, std::string::npos) << history;
  EXPECT_NE(history.find("removed automation x", added), std::string::npos)
      << history;
}

TEST_F(CliAutomationTest, TwoDeliverersDeliverEachEventOnceAndTakeOver) {
  Receiver receiver;
  Ok({"automation", "add", "hook", "--on", "alias.move", "--webhook",
      receiver.url()});
  auto first = StartRun({"--lease-ms", "1000"});
  auto second = StartRun({"--lease-ms", "1000"});
  for (const char* v : {"v1", "v2", "v0"}) {
    Ok({"alias", "set", "models", "production", v});
  }
  ASSERT_EQ(receiver.WaitFor(3).size(), 3u);
  // Recorded too: a deliverer killed between a POST and its record would
  // deliver that event again (at least once), which this test does not
  // allow for.
  size_t recorded = 0;
  for (int i = 0; i < 600 && recorded < 3; ++i) {
    recorded = 0;
    for (const auto& d : Json({"automation", "log", "hook", "--json"})) {
      if (d["outcome"] == "ok") ++recorded;
    }
    if (recorded < 3) std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(recorded, 3u);
  // One of them dies without letting go; the other takes over.
  first->Stop(SIGKILL);
  for (const char* v : {"v1", "v2"}) {
    Ok({"alias", "set", "models", "production", v});
  }
  ASSERT_EQ(receiver.WaitFor(5).size(), 5u);
  // Whatever else they would deliver twice has had time to arrive.
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(second->Stop(SIGTERM), 0);
  std::map<std::string, int> ids;
  for (const auto& r : receiver.requests()) ++ids[r.headers.at("x-regfs-delivery")];
  EXPECT_EQ(ids.size(), 5u);
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << id;
}

}  // namespace
}  // namespace regfs::tools::testing
