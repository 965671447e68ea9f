#include "delivery/webhook.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "registry/history.h"

namespace regfs::delivery {
namespace {

namespace reg = regfs::registry;

// How much of an answer the log keeps.
constexpr size_t kKeptAnswer = 500;

size_t KeepAnswer(char* data, size_t size, size_t count, void* out) {
  auto* answer = static_cast<std::string*>(out);
  const size_t n = size * count;
  if (answer->size() < kKeptAnswer) {
    answer->append(data, std::min(n, kKeptAnswer - answer->size()));
  }
  return n;
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The headers of `r`, signed when it has a secret.
curl_slist* Headers(const WebhookRequest& r) {
  curl_slist* list = nullptr;
  auto add = [&](const std::string& h) { list = curl_slist_append(list, h.c_str()); };
  add("Content-Type: application/json");
  add("User-Agent: regfs-automation");
  add("Expect:");  // no 100-continue round trip
  add("X-Regfs-Delivery: " + r.delivery_id);
  add("X-Regfs-Event: " + r.event_kind);
  if (!r.secret.empty()) {
    add("X-Regfs-Signature-256: sha256=" + HmacSha256Hex(r.secret, r.body));
    add(fmt::format("X-Regfs-Timestamp: {}", reg::NowMs() / 1000));
  }
  return list;
}

}  // namespace

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
       &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

Attempt PostWebhook(const WebhookRequest& r) {
  GlobalInit();
  Attempt attempt;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  std::unique_ptr<curl_slist, CurlFree> headers(Headers(r));
  if (!curl || !headers) {
    attempt.message = "cannot set up libcurl";
    return attempt;
  }
  std::string answer;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(r.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepAnswer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(c);
  attempt.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (code != CURLE_OK) {
    attempt.message = curl_easy_strerror(code);
    return attempt;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  attempt.status = status;
  attempt.ok = status >= 200 && status < 300;
  attempt.message = attempt.ok ? "" : fmt::format("HTTP {}: {}", status, answer);
  return attempt;
}

}  // namespace regfs::delivery
