#include "registry/s3_transport.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "registry/s3_xml.h"

namespace regfs::registry::s3 {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How much of an error reply is kept for its message.
constexpr size_t kMaxErrorBody = 64 << 10;
// Idle handles kept beyond this many are closed.
constexpr size_t kMaxIdleHandles = 64;

struct CurlFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool Unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string Encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// `url` with any "user:password@" replaced, for a message.
std::string WithoutUserInfo(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.find('@', start);
  if (at == std::string_view::npos ||
      url.substr(start, at - start).find('/') != std::string_view::npos) {
    return std::string(url);
  }
  return fmt::format("{}…@{}", url.substr(0, start), url.substr(at + 1));
}

bool RetryableStatus(long status) {
  return status == 429 || (status >= 500 && status != 501);
}

// Failures of the network or of the server's side of a connection, worth
// another attempt; not those of the request itself or of the client.
bool RetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
      return true;
    default:
      return false;
  }
}

// A random pause in [0, min(max, base * 2^(failures-1))]: full jitter.
milliseconds Backoff(const S3Config& config, int failures) {
  const int64_t base = std::max<int64_t>(config.backoff_base.count(), 1);
  const int shift = std::min(failures - 1, 30);
  const int64_t cap =
      std::min<int64_t>(config.backoff_max.count(), base << shift);
  thread_local std::minstd_rand random(std::random_device{}());
  return milliseconds(std::uniform_int_distribution<int64_t>(0, cap)(random));
}

// What a reply's status means when S3 says no more.
std::string_view StatusMeaning(long status) {
  switch (status) {
    case 403:
      return "access denied: wrong keys, or not allowed";
    case 404:
      return "not found";
    case 412:
      return "the object changed";
    case 416:
      return "range not satisfiable";
    case 501:
      return "not implemented by this server";
    default:
      return "";
  }
}

}  // namespace

Result<Endpoint> ParseEndpoint(const S3Config& config) {
  const std::string text =
      config.endpoint.empty()
          ? fmt::format("https://s3.{}.amazonaws.com", config.region)
          : config.endpoint;
  auto refuse = [&](std::string_view why) {
    return Fail(
        Code::kInvalidArgument,
        fmt::format("S3 endpoint \"{}\": {}", WithoutUserInfo(text), why));
  };
  std::unique_ptr<CURLU, CurlFree> url(curl_url());
  if (!url) return Fail(Code::kIoError, "S3 endpoint: out of memory");
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return refuse("not a URL like http://HOST:PORT");
  }
  auto part = [&](CURLUPart which) -> std::optional<std::string> {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, 0) != CURLUE_OK)
      return std::nullopt;
    std::string out(value);
    curl_free(value);
    return out;
  };
  Endpoint endpoint;
  endpoint.scheme = Lower(part(CURLUPART_SCHEME).value_or(""));
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return refuse("the scheme is not http or https");
  }
  if (part(CURLUPART_USER) || part(CURLUPART_QUERY) ||
      part(CURLUPART_FRAGMENT)) {
    return refuse("credentials, a query or a fragment do not belong in it");
  }
  endpoint.host = part(CURLUPART_HOST).value_or("");
  if (endpoint.host.empty()) return refuse("no host");
  endpoint.port = part(CURLUPART_PORT).value_or("");
  endpoint.path = part(CURLUPART_PATH).value_or("");
  while (endpoint.path.ends_with('/')) endpoint.path.pop_back();
  return endpoint;
}

std::string CanonicalQuery(
    std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = Encode(name, false);
    value = Encode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string query;
  for (const auto& [name, value] : params) {
    if (!query.empty()) query += '&';
    query += name + "=" + value;
  }
  return query;
}

std::string EncodePath(std::string_view key) { return Encode(key, true); }

std::string Sha256Hex(std::span<const std::byte> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(),
             nullptr);
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string RequestUrl(const S3Config& config, const Endpoint& endpoint,
                       const Request& request) {
  const std::string port = endpoint.port.empty() ? "" : ":" + endpoint.port;
  std::string url;
  if (config.path_style) {
    url = fmt::format("{}://{}{}{}/{}", endpoint.scheme, endpoint.host, port,
                      endpoint.path, config.bucket);
    if (!request.key.empty()) url += "/" + EncodePath(request.key);
  } else {
    url = fmt::format("{}://{}.{}{}{}/{}", endpoint.scheme, config.bucket,
                      endpoint.host, port, endpoint.path,
                      EncodePath(request.key));
  }
  if (!request.query.empty()) url += "?" + request.query;
  return url;
}

Error HttpError(std::string_view what, const Reply& reply) {
  const s3xml::ErrorReply error = s3xml::ParseError(reply.body);
  std::string cause = fmt::format("HTTP {}", reply.status);
  if (!error.code.empty()) cause += " " + error.code;
  if (!error.message.empty()) {
    cause += ": " + error.message;
  } else if (const std::string_view meaning = StatusMeaning(reply.status);
             !meaning.empty()) {
    cause += fmt::format(" ({})", meaning);
  }
  Code code = Code::kIoError;
  if (reply.status == 404) {
    code = Code::kNotFound;
  } else if (reply.status == 403) {
    code = Code::kPermissionDenied;
  } else if ((reply.status >= 300 && reply.status < 500) ||
             reply.status == 501) {  // 3xx: another region or endpoint
    code = Code::kInvalidArgument;
  }
  return Error{code, fmt::format("{}: {}", what, cause)};
}

// One attempt of a request: what the callbacks of curl see and fill.
struct Attempt {
  CURL* curl = nullptr;
  const Request* request = nullptr;
  const Stream* stream = nullptr;
  std::string url;
  std::unique_ptr<curl_slist, CurlFree> headers;
  Reply reply;
  size_t sent = 0;  // of request->body
  uint64_t delivered = 0;
  std::optional<Error> stream_error;
  bool stream_done = false;
  // When the budget is spent: pushed back by each byte that moves.
  Clock::time_point deadline;
  milliseconds budget{0};
  curl_off_t last_bytes = 0;
  bool abandoned = false;
  std::string sha256;  // of request->body
  CURLcode code = CURLE_OK;
  char error[CURL_ERROR_SIZE] = {};

  // Why the attempt failed, from curl's side.
  std::string CurlCause() const {
    return error[0] ? std::string(error)
                    : std::string(curl_easy_strerror(code));
  }
};

namespace {

size_t OnHeader(char* data, size_t size, size_t count, void* context) {
  auto& attempt = *static_cast<Attempt*>(context);
  const std::string_view line(data, size * count);
  Reply& reply = attempt.reply;
  if (line.starts_with("HTTP/")) {  // a new reply (after a 100 Continue)
    reply.etag.clear();
    reply.last_modified.clear();
    reply.content_range.clear();
    reply.content_length.reset();
    return line.size();
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  const std::string name = Lower(Trim(line.substr(0, colon)));
  const std::string_view value = Trim(line.substr(colon + 1));
  if (name == "etag") {
    reply.etag = value;
  } else if (name == "last-modified") {
    reply.last_modified = value;
  } else if (name == "content-range") {
    reply.content_range = value;
  } else if (name == "content-length") {
    uint64_t length = 0;
    const auto [end, ec] =
        std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc() && end == value.data() + value.size())
      reply.content_length = length;
  }
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* context) {
  auto& attempt = *static_cast<Attempt*>(context);
  const size_t length = size * count;
  curl_easy_getinfo(attempt.curl, CURLINFO_RESPONSE_CODE,
                    &attempt.reply.status);
  const bool success = attempt.reply.status / 100 == 2;
  if (attempt.stream != nullptr && success) {
    Result<bool> more = attempt.stream->deliver(
        attempt.reply, std::as_bytes(std::span(data, length)));
    if (!more) {
      attempt.stream_error = std::move(more).error();
      return 0;
    }
    attempt.delivered += length;
    if (!*more) {
      attempt.stream_done = true;
      return 0;
    }
    return length;
  }
  if (!success && attempt.reply.body.size() >= kMaxErrorBody) return length;
  attempt.reply.body.append(data, length);
  return length;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* context) {
  auto& attempt = *static_cast<Attempt*>(context);
  const std::span<const std::byte> body = attempt.request->body;
  const size_t length = std::min(size * count, body.size() - attempt.sent);
  std::memcpy(buffer, body.data() + attempt.sent, length);
  attempt.sent += length;
  return length;
}

// Lets curl send the body again (on a reused connection that was closed).
int OnSeek(void* context, curl_off_t offset, int origin) {
  auto& attempt = *static_cast<Attempt*>(context);
  if (origin != SEEK_SET || offset < 0 ||
      static_cast<size_t>(offset) > attempt.request->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  attempt.sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Drops an attempt still waiting when the budget is spent: a server that
// accepts and never answers ends a call by the budget, not by the stall
// time; each byte that moves gives the budget anew, so a transfer that
// keeps going is left to finish.
int OnProgress(void* context, curl_off_t, curl_off_t down, curl_off_t,
               curl_off_t up) {
  auto& attempt = *static_cast<Attempt*>(context);
  const auto now = Clock::now();
  if (down + up != attempt.last_bytes) {
    attempt.last_bytes = down + up;
    attempt.deadline = std::max(attempt.deadline, now + attempt.budget);
  }
  if (now >= attempt.deadline) {
    attempt.abandoned = true;
    return 1;
  }
  return 0;
}

// The headers of a request: x-amz-content-sha256 always (curl signs it but
// does not add it), the session token when there is one.
std::unique_ptr<curl_slist, CurlFree> Headers(const Request& request,
                                              const std::string& sha256,
                                              const std::string& token) {
  std::unique_ptr<curl_slist, CurlFree> list;
  auto add = [&list](const std::string& line) {
    list.reset(curl_slist_append(list.release(), line.c_str()));
  };
  add("x-amz-content-sha256: " + sha256);
  if (!token.empty()) add("x-amz-security-token: " + token);
  if (!request.range.empty()) add("Range: " + request.range);
  if (!request.if_match.empty()) add("If-Match: " + request.if_match);
  if (!request.content_type.empty()) {
    add("Content-Type: " + request.content_type);
  }
  return list;
}

// The method, and where a PUT's or a POST's body comes from.
void SetMethod(CURL* curl, Attempt& attempt) {
  const Request& request = *attempt.request;
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &attempt);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &attempt);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                     request.body.empty()
                         ? ""
                         : reinterpret_cast<const char*>(request.body.data()));
  } else if (request.method != "GET") {
    // curl copies the string.
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                     std::string(request.method).c_str());
  }
}

}  // namespace

// A curl handle of the pool, given back when the lease ends.
class Transport::Lease final {
 public:
  explicit Lease(Transport& transport)
      : transport_(transport), curl_(transport.Take()) {}
  // The handle forgets the finished attempt's buffers and callbacks before
  // it goes back (its connections stay).
  ~Lease() {
    if (curl_ != nullptr) curl_easy_reset(curl_);
    transport_.Give(curl_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  CURL* get() const { return curl_; }

 private:
  Transport& transport_;
  CURL* const curl_;
};

Transport::Transport(S3Config config, Endpoint endpoint,
                     AwsCredentials credentials)
    : config_(std::move(config)),
      endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      sigv4_(fmt::format("aws:amz:{}:s3", config_.region)) {
  GlobalInit();
}

Transport::~Transport() {
  MutexLock lock(mu_);
  for (CURL* curl : idle_) curl_easy_cleanup(curl);
}

CURL* Transport::Take() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      CURL* curl = idle_.back();
      idle_.pop_back();
      return curl;
    }
  }
  return curl_easy_init();
}

void Transport::Give(CURL* curl) {
  if (curl == nullptr) return;
  MutexLock lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(curl);
    return;
  }
  lock.Unlock();
  curl_easy_cleanup(curl);
}

std::string Transport::Describe(const Request& request) const {
  if (request.key.empty())
    return fmt::format("s3 {} {}", request.method, config_.bucket);
  return fmt::format("s3 {} {}/{}", request.method, config_.bucket,
                     request.key);
}

void Transport::Configure(CURL* curl, Attempt& attempt) const {
  curl_easy_reset(curl);  // keeps the handle's live connections
  curl_easy_setopt(curl, CURLOPT_URL, attempt.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  // curl counts the stall in whole seconds.
  const long stall_s = std::max<long>(1, (config_.stall.count() + 999) / 1000);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_s);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD,
                   credentials_.secret_access_key.c_str());
  attempt.headers =
      Headers(*attempt.request, attempt.sha256, credentials_.session_token);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, attempt.headers.get());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, attempt.error);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &attempt);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &attempt);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &attempt);

  SetMethod(curl, attempt);
}

Result<Reply> Transport::Call(Request request, const Stream* stream) {
  const std::string what = Describe(request);
  const std::string sha256 = Sha256Hex(request.body);
  const auto started = Clock::now();
  auto deadline = started + config_.budget;
  Lease lease(*this);
  if (lease.get() == nullptr)
    return Fail(Code::kIoError, what + ": cannot set up libcurl");
  int attempts = 0;
  int failures = 0;  // since the last progress
  std::string cause;
  for (;;) {
    if (stream != nullptr && stream->prepare) stream->prepare(request);
    Attempt attempt;
    attempt.curl = lease.get();
    attempt.request = &request;
    attempt.sha256 = sha256;
    attempt.stream = stream;
    attempt.url = RequestUrl(config_, endpoint_, request);
    attempt.deadline = deadline;
    attempt.budget = config_.budget;
    Configure(lease.get(), attempt);
    attempt.code = curl_easy_perform(lease.get());
    curl_easy_getinfo(lease.get(), CURLINFO_RESPONSE_CODE,
                      &attempt.reply.status);
    ++attempts;
    if (attempt.stream_error)
      return std::unexpected(std::move(*attempt.stream_error));
    if (attempt.stream_done ||
        (attempt.code == CURLE_OK && attempt.reply.status / 100 == 2)) {
      return std::move(attempt.reply);
    }
    if (attempt.abandoned) {
      cause = "no reply within the budget";
      break;
    }
    if (attempt.code == CURLE_OK) {
      Error error = HttpError(what, attempt.reply);
      if (!RetryableStatus(attempt.reply.status))
        return std::unexpected(std::move(error));
      cause = error.message.substr(what.size() + 2);
    } else {
      cause = attempt.CurlCause();
      if (!RetryableCurl(attempt.code))
        return Fail(Code::kIoError, what + ": " + cause);
    }
    deadline = attempt.deadline;  // later if bytes moved
    if (attempt.delivered > 0)
      failures = 0;  // a read moved on: it resumes there
    if (++failures >= config_.max_attempts) break;
    const milliseconds pause = Backoff(config_, failures);
    if (Clock::now() + pause >= deadline) break;
    std::this_thread::sleep_for(pause);
  }
  const auto elapsed =
      std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  return Fail(Code::kIoError,
              fmt::format("{}: {} ({} attempt{} in {} ms)", what, cause,
                          attempts, attempts == 1 ? "" : "s", elapsed));
}

}  // namespace regfs::registry::s3
