// Webhooks: an HTTP(S) POST with libcurl, optionally signed as GitHub
// signs its webhooks.
#ifndef REGFS_DELIVERY_WEBHOOK_H_
#define REGFS_DELIVERY_WEBHOOK_H_

#include <chrono>
#include <string>
#include <string_view>

#include "delivery/attempt.h"
#include "registry/error.h"

namespace regfs::delivery {

struct WebhookRequest {
  std::string url;
  std::string body;  // JSON
  std::string delivery_id;
  std::string event_kind;
  std::string secret;  // empty: unsigned
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{15'000};
};

// POSTs the body; ok for a 2xx answer. Redirects are not followed (a 3xx
// is a failure), only http and https are spoken, the system's CA
// certificates verify https. Headers: Content-Type, User-Agent,
// X-Regfs-Delivery, X-Regfs-Event, and with a secret
// X-Regfs-Signature-256: sha256=<hex HMAC-SHA256 of the body> and
// X-Regfs-Timestamp (Unix seconds).
Attempt PostWebhook(const WebhookRequest& request);

// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view data);


}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_WEBHOOK_H_
