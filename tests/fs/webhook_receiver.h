// A webhook receiver for the delivery tests: a one-request-per-connection
// HTTP/1.1 server on 127.0.0.1 that answers 200 to every POST and keeps
// what it got. It can be stopped and started again on the same port (a
// receiver that was down), and it can hold the next request unanswered
// until Release (a delivery in flight). Stops in its destructor.
#ifndef REGFS_TESTS_FS_WEBHOOK_RECEIVER_H_
#define REGFS_TESTS_FS_WEBHOOK_RECEIVER_H_

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace regfs::fs::testing {

struct WebhookRequest {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class WebhookReceiver final {
 public:
  WebhookReceiver() { Start(); }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;
  ~WebhookReceiver() {
    Release();
    Stop();
  }

  // Listens (again) on its port, or on a free one the first time.
  void Start() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << "port " << port_;
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    stop_ = false;
    thread_ = std::thread([this] { Serve(); });
  }
  // Closes the listening socket: connections are refused until Start.
  void Stop() {
    if (fd_ < 0) return;
    stop_ = true;
    thread_.join();
    close(fd_);
    fd_ = -1;
  }

  std::string url() const {
    return fmt::format("http://127.0.0.1:{}/hook", port_);
  }
  std::vector<WebhookRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits (up to a minute, for a loaded machine) for `n` requests.
  std::vector<WebhookRequest> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::minutes(1),
                 [&] { return requests_.size() >= n; });
    return requests_;
  }
  // The next request is kept (requests() has it) but not answered until
  // Release.
  void HoldNext() {
    std::lock_guard lock(mu_);
    hold_next_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    holding_ = false;
    cv_.notify_all();
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
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
    while (header_end == std::string::npos ||
           data.size() < header_end + 4 + length) {
      const ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          length = std::stoul(
              ParseHeaders(data.substr(0, header_end)).headers["content-length"]);
        }
      }
    }
    WebhookRequest r = ParseHeaders(data.substr(0, header_end));
    r.body = data.substr(header_end + 4, length);
    std::unique_lock lock(mu_);
    requests_.push_back(std::move(r));
    cv_.notify_all();
    if (hold_next_) {
      hold_next_ = false;
      holding_ = true;
      cv_.wait(lock, [&] { return !holding_; });
    }
    lock.unlock();
    const std::string ok =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!send(c, ok.data(), ok.size(), MSG_NOSIGNAL);
  }
  static WebhookRequest ParseHeaders(const std::string& head) {
    WebhookRequest r;
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(
          pos + 2, next == std::string::npos ? std::string::npos
                                             : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) {
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
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
  std::condition_variable cv_;
  std::vector<WebhookRequest> requests_;
  bool hold_next_ = false;
  bool holding_ = false;
};

}  // namespace regfs::fs::testing

#endif  // REGFS_TESTS_FS_WEBHOOK_RECEIVER_H_
