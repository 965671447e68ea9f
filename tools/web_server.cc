#include "tools/web_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <thread>
#include <utility>

#include "registry/names.h"
#include "web/html.h"
#include "web/pages.h"
#include "web/search_page.h"
#include "web/timeline.h"

namespace regfs::tools {

namespace reg = regfs::registry;

namespace {

// No script may run and nothing may load from elsewhere: the pages need
// only their own stylesheet and icon, and the search form posts nowhere
// but here. Inline SVG's presentation attributes are not styles.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// The newest events one history page shows.
constexpr uint64_t kHistoryPage = 200;
// The most entries of a tree a version's page lists.
constexpr size_t kMaxTreeEntries = 5000;

constexpr char kFavicon[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#24292f\"/>"
    "<path d=\"M4 12V4h5a2 2 0 0 1 0 4H4m4 0 3 4\" fill=\"none\" "
    "stroke=\"#fff\" stroke-width=\"1.6\"/></svg>";

void Send(httplib::Response& res, int status, const std::string& body,
          const char* type) {
  res.status = status;
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
  res.set_content(body, type);
}

void SendHtml(httplib::Response& res, int status, const std::string& html) {
  Send(res, status, html, "text/html; charset=utf-8");
}

int HttpStatus(const reg::Error& error) {
  switch (error.code) {
    case reg::Code::kNotFound:
      return 404;
    case reg::Code::kInvalidArgument:
      return 400;
    case reg::Code::kPermissionDenied:
    case reg::Code::kNotPermitted:
      return 403;
    default:
      return 500;
  }
}

// Whether `host` (a Host header: name or address, maybe a port) names
// this machine's loopback: "localhost", "127.0.0.1:8080", "[::1]:80".
bool IsLoopbackHost(std::string_view host) {
  if (host.starts_with("[")) {
    return host.substr(0, host.find(']') + 1) == "[::1]";
  }
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

bool IsLoopbackAddress(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The reader the pages are served as: the default role's principal, with
// no uid of a user and no groups (RoleOf gives it the default role).
reg::Identity DefaultRoleReader() {
  reg::Identity who;
  who.uid = 65534;  // nobody
  who.gid = 65534;
  who.user = std::string(reg::Registry::kDefaultPrincipal);
  who.interface = reg::Interface::kCli;
  return who;
}

std::optional<uint64_t> ParseNumber(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return n;
}

reg::Status WalkTree(reg::Registry& registry, int64_t version_id,
                     int64_t parent, const std::string& prefix,
                     web::VersionView& view) {
  REGFS_ASSIGN_OR_RETURN(auto entries, registry.ListTree(version_id, parent));
  for (const reg::TreeEntry& e : entries) {
    if (view.files.size() >= kMaxTreeEntries) {
      view.files_truncated = true;
      return {};
    }
    const std::string path = prefix + e.name + (e.is_dir ? "/" : "");
    view.files.push_back({.path = path,
                          .is_dir = e.is_dir,
                          .executable = e.executable,
                          .size = e.size,
                          .digest = e.digest});
    if (e.is_dir) REGFS_TRY(WalkTree(registry, version_id, e.id, path, view));
  }
  return {};
}

// Renders one page from the request, or says why it cannot.
using PageFn = std::function<reg::Result<std::string>(const httplib::Request&,
                                                      const web::Frame&)>;

class WebServer final {
 public:
  WebServer(reg::Registry& registry, bool loopback_only)
      : registry_(registry), loopback_only_(loopback_only) {}
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  httplib::Server& http() { return http_; }
  const reg::Identity& reader() const { return reader_; }
  // The role to show on pages answered before a request's own check.
  void set_role(std::string role) { role_ = std::move(role); }

  void Route() {
    http_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          return Screen(req, res);
        });
    http_.set_error_handler(
        [this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return;
          SendHtml(res, res.status,
                   web::ErrorPage(DefaultFrame(), res.status, "No such page."));
        });
    // Instead of httplib's own answer, which would put the exception's
    // text in a header.
    http_.set_exception_handler([this](const httplib::Request& req,
                                       httplib::Response& res,
                                       std::exception_ptr) {
      spdlog::warn("serve: {}: an exception", req.path);
      SendHtml(res, 500,
               web::ErrorPage(DefaultFrame(), 500, "Internal error."));
    });
    http_.Get("/style.css", [](const httplib::Request&,
                               httplib::Response& res) {
      Send(res, 200, std::string(web::StyleSheet()), "text/css; charset=utf-8");
    });
    http_.Get("/favicon.svg",
              [](const httplib::Request&, httplib::Response& res) {
                Send(res, 200, kFavicon, "image/svg+xml");
              });
    Page("/", [this](const auto&, const auto& f) { return Collections(f); });
    Page(R"(/c/([^/]+))", [this](const auto& req, const auto& f) {
      return Collection(req.matches[1].str(), f);
    });
    Page(R"(/c/([^/]+)/v([0-9]+))", [this](const auto& req, const auto& f) {
      return Version(req.matches[1].str(), req.matches[2].str(), f);
    });
    Page(R"(/c/([^/]+)/timeline)", [this](const auto& req, const auto& f) {
      return TimelineOf(req.matches[1].str(), f);
    });
    Page("/history",
         [this](const auto& req, const auto& f) { return History(req, f); });
    Page("/search", [this](const auto& req, const auto& f) {
      return Search(req.get_param_value("q"), f);
    });
  }

 private:
  web::Frame DefaultFrame() const { return {.role = role_, .search = true}; }

  // Before any route: only GET and HEAD, and (when serving on loopback)
  // only for names of this machine, so that a web page elsewhere cannot
  // read the store through a browser here by rebinding its own name.
  httplib::Server::HandlerResponse Screen(const httplib::Request& req,
                                          httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      SendHtml(res, 405,
               web::ErrorPage(DefaultFrame(), 405,
                              "This is a read-only view: only GET and HEAD "
                              "are answered."));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (loopback_only_ && !IsLoopbackHost(req.get_header_value("Host"))) {
      SendHtml(res, 403,
               web::ErrorPage(DefaultFrame(), 403,
                              "This view answers only requests for this "
                              "machine's loopback address."));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // A page that is served only while the default role may read.
  void Page(const std::string& pattern, PageFn render) {
    http_.Get(pattern, [this, render = std::move(render)](
                           const httplib::Request& req,
                           httplib::Response& res) {
      auto frame = Authorized();
      reg::Result<std::string> html =
          frame ? render(req, *frame)
                : reg::Result<std::string>(std::unexpected(frame.error()));
      if (html) {
        SendHtml(res, 200, *html);
        return;
      }
      const int status = HttpStatus(html.error());
      if (status == 500) {
        spdlog::warn("serve: {}: {}", req.path, html.error().message);
      }
      SendHtml(res, status,
               web::ErrorPage(DefaultFrame(), status, html.error().message));
    });
  }

  // The frame to render in, if the default role may read now.
  reg::Result<web::Frame> Authorized() {
    REGFS_ASSIGN_OR_RETURN(const reg::Role role, registry_.RoleOf(reader_));
    auto allowed = reg::Registry::Authorize(reader_, reg::Action::Read(),
                                            [role] { return role; });
    if (!allowed) {
      return reg::Fail(
          allowed.error().code,
          fmt::format("the store's default role is now '{}': this view "
                      "shows only what anyone may read, which is nothing",
                      reg::RoleName(role)));
    }
    return web::Frame{.role = std::string(reg::RoleName(role)), .search = true};
  }

  reg::Result<std::string> Collections(const web::Frame& frame) {
    REGFS_ASSIGN_OR_RETURN(auto collections, registry_.ListCollections());
    REGFS_ASSIGN_OR_RETURN(auto protect, registry_.ListProtected());
    return web::CollectionsPage(frame, collections, protect);
  }

  reg::Result<web::Timeline> LoadTimeline(const std::string& name) {
    reg::HistoryFilter filter;
    filter.collection = name;
    REGFS_ASSIGN_OR_RETURN(auto events, registry_.History(filter));
    REGFS_ASSIGN_OR_RETURN(auto protect, registry_.ListProtected());
    return web::BuildTimeline(name, events, protect);
  }

  reg::Result<std::string> Collection(const std::string& name,
                                      const web::Frame& frame) {
    web::CollectionView view;
    REGFS_ASSIGN_OR_RETURN(view.collection, registry_.GetCollection(name));
    REGFS_ASSIGN_OR_RETURN(view.versions, registry_.ListVersionsInFull(name));
    REGFS_ASSIGN_OR_RETURN(view.aliases, registry_.ListAliases(name));
    REGFS_ASSIGN_OR_RETURN(view.timeline, LoadTimeline(name));
    return web::CollectionPage(frame, view);
  }

  reg::Result<std::string> Version(const std::string& name,
                                   const std::string& number_text,
                                   const web::Frame& frame) {
    const auto number = ParseNumber(number_text);
    if (!number) return reg::Fail(reg::Code::kNotFound, "no such version");
    web::VersionView view;
    REGFS_ASSIGN_OR_RETURN(view.version, registry_.GetVersion(name, *number));
    REGFS_ASSIGN_OR_RETURN(auto aliases, registry_.ListAliases(name));
    std::ranges::copy_if(
        aliases, std::back_inserter(view.aliases),
        [&](const reg::Alias& a) { return a.version == *number; });
    if (view.version.kind == reg::Kind::kTree) {
      REGFS_TRY(WalkTree(registry_, view.version.id, 0, "", view));
    }
    return web::VersionPage(frame, view);
  }

  reg::Result<std::string> TimelineOf(const std::string& name,
                                      const web::Frame& frame) {
    REGFS_TRY(registry_.GetCollection(name));
    REGFS_ASSIGN_OR_RETURN(auto timeline, LoadTimeline(name));
    return web::TimelinePage(frame, timeline);
  }

  reg::Result<std::string> History(const httplib::Request& req,
                                   const web::Frame& frame);

  // Registry::Search as the reader; no term: the page asks for one.
  reg::Result<std::string> Search(const std::string& term,
                                  const web::Frame& frame) {
    if (term.empty()) return web::SearchPage(frame, {});
    REGFS_ASSIGN_OR_RETURN(auto results, registry_.Search(reader_, term));
    return web::SearchPage(frame, results);
  }

  reg::Registry& registry_;
  const bool loopback_only_;
  const reg::Identity reader_ = DefaultRoleReader();
  std::string role_;
  httplib::Server http_;
};

// Newest first, kHistoryPage at a time: events before `before` (all, when
// absent); a collection's feed reads its events and keeps the newest.
reg::Result<std::string> WebServer::History(const httplib::Request& req,
                                            const web::Frame& frame) {
  web::HistoryView view;
  view.collection = req.get_param_value("collection");
  REGFS_ASSIGN_OR_RETURN(const uint64_t last, registry_.LastSeq());
  uint64_t until = last;
  if (req.has_param("before")) {
    const auto before = ParseNumber(req.get_param_value("before"));
    if (!before || *before == 0) {
      return reg::Fail(reg::Code::kInvalidArgument, "bad 'before' parameter");
    }
    until = std::min(last, *before - 1);
  }
  reg::HistoryFilter filter;
  filter.until_seq = until;
  if (view.collection.empty()) {
    // Sequence numbers have no gaps: the newest page is a range of them.
    filter.after_seq = until > kHistoryPage ? until - kHistoryPage : 0;
  } else {
    REGFS_TRY(registry_.GetCollection(view.collection));
    filter.collection = view.collection;
  }
  REGFS_ASSIGN_OR_RETURN(auto events, registry_.History(filter));
  if (events.size() > kHistoryPage) {
    events.erase(events.begin(), events.end() - kHistoryPage);
  }
  const bool more = view.collection.empty() ? filter.after_seq > 0
                                            : events.size() == kHistoryPage &&
                                                  events.front().seq > 1;
  if (more && !events.empty()) view.older = events.front().seq;
  std::ranges::reverse(events);
  view.events = std::move(events);
  return web::HistoryPage(frame, view);
}

// Blocks SIGINT and SIGTERM in this thread, and so in the threads it
// starts, until destroyed: they are then taken by sigwait only. Blocked
// before the start line is printed, so that a signal sent as soon as it
// is read stops the server cleanly.
class StopSignals final {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits for one of them.
  void Wait() const {
    int signal = 0;
    sigwait(&set_, &signal);
  }

 private:
  sigset_t set_;
  sigset_t previous_;
};

// Runs `http.listen_after_bind()` on its own thread while this one waits
// for a stop signal; a listener that ends by itself raises SIGTERM so
// that the wait ends too. httplib's stop() does nothing before the
// listener has started running, so it is repeated until the listener
// has ended.
reg::Status ListenUntilSignal(httplib::Server& http,
                              const StopSignals& signals) {
  std::promise<bool> listened;
  std::future<bool> ended = listened.get_future();
  std::thread listener([&http, &listened] {
    const bool ok = http.listen_after_bind();
    listened.set_value(ok);
    if (!ok) ::kill(::getpid(), SIGTERM);
  });
  signals.Wait();
  do {
    http.stop();
  } while (ended.wait_for(std::chrono::milliseconds(20)) !=
           std::future_status::ready);
  listener.join();
  if (!ended.get()) return reg::Fail(reg::Code::kIoError, "the server stopped");
  return {};
}

}  // namespace

reg::Result<ServeOptions> ParseListen(std::string_view text) {
  ServeOptions options;
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("--listen '{}': expected HOST:PORT, such as "
                                 "127.0.0.1:8080",
                                 text));
  }
  std::string_view host = text.substr(0, colon);
  if (host.starts_with("[") && host.ends_with("]")) {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = ParseNumber(text.substr(colon + 1));
  if (host.empty() || !port || *port > 65535) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("--listen '{}': expected HOST:PORT with a "
                                 "port from 0 to 65535",
                                 text));
  }
  options.host = std::string(host);
  options.port = static_cast<int>(*port);
  return options;
}

reg::Status Serve(reg::Registry& registry, const ServeOptions& options) {
  REGFS_ASSIGN_OR_RETURN(const reg::Role role, registry.DefaultRole());
  if (role == reg::Role::kNone) {
    return reg::Fail(
        reg::Code::kPermissionDenied,
        "the store's default role is 'none': the web view shows only what "
        "anyone may read, which is nothing. Give everyone a role to read "
        "with 'regfs role default viewer', or use a mount");
  }
  WebServer server(registry, IsLoopbackAddress(options.host));
  REGFS_ASSIGN_OR_RETURN(const reg::Role reader_role,
                         registry.RoleOf(server.reader()));
  if (reader_role != role) {
    return reg::Fail(reg::Code::kConflict,
                     "cannot read as exactly the store's default role");
  }
  server.set_role(std::string(reg::RoleName(role)));
  server.Route();
  const StopSignals signals;
  errno = 0;
  const int port = options.port == 0
                       ? server.http().bind_to_any_port(options.host)
                       : (server.http().bind_to_port(options.host, options.port)
                              ? options.port
                              : -1);
  if (port < 0) {
    const int err = errno;
    return reg::Fail(
        reg::Code::kIoError,
        fmt::format("cannot listen on {}:{}{}", options.host, options.port,
                    err != 0 ? fmt::format(" ({})", std::strerror(err))
                             : std::string()));
  }
  const bool v6 = options.host.find(':') != std::string::npos;
  fmt::print("serving http://{}{}{}:{} read-only, as the default role '{}'\n",
             v6 ? "[" : "", options.host, v6 ? "]" : "", port,
             reg::RoleName(role));
  std::fflush(stdout);
  if (!IsLoopbackAddress(options.host)) {
    spdlog::warn("serve: {} is reachable from other machines", options.host);
  }
  return ListenUntilSignal(server.http(), signals);
}

}  // namespace regfs::tools
