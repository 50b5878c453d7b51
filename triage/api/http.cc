#include "triage/api/http.h"

#include <limits.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"
#include "proto/model/proto_json.h"
#include "triage/api/errors.h"

namespace triage::api {

// What a POST body may be labelled (absent is taken as the route's own).
enum class Body { kNone, kJson, kNdjson, kProtobuf, kJsonOrForm, kAny };

struct TriageHttp::Route {
  const char* method;  // GET routes answer HEAD too.
  const char* path;    // Exact, or a prefix when `prefix`.
  bool prefix;
  const char* name;  // The `route` label of triage_http_requests_total.
  v1::Role role;     // ROLE_UNSPECIFIED: the role of the RPC named by the path.
  Body body;
  bool stream;  // The handler pulls the body (up to --max-bundle-bytes).
  net::HttpResponse (TriageHttp::*handle)(const net::HttpRequest&, net::BodyReader&);
};

// The one table of HTTP routes and the roles they need (RPCs: auth.proto).
const TriageHttp::Route TriageHttp::kRoutes[] = {
    {"GET", "/healthz", false, "healthz", v1::PUBLIC, Body::kNone, false, &TriageHttp::Health},
    {"GET", "/readyz", false, "readyz", v1::PUBLIC, Body::kNone, false, &TriageHttp::Ready},
    {"GET", "/metrics", false, "metrics", v1::READ, Body::kNone, false, &TriageHttp::MetricsText},
    // The Connect codec checks its own content types.
    {"POST", "/triage.v1.", true, "connect", v1::ROLE_UNSPECIFIED, Body::kNone, false,
     &TriageHttp::Connect},
    {"POST", "/api/v1/bundle", false, "/api/v1/bundle", v1::INGEST, Body::kNdjson, true,
     &TriageHttp::Bundle},
    {"POST", "/api/v1/write", false, "/api/v1/write", v1::INGEST, Body::kProtobuf, false,
     &TriageHttp::RemoteWrite},
    {"POST", "/api/v1/changes", false, "/api/v1/changes", v1::INGEST, Body::kJson, false,
     &TriageHttp::Change},
    {"POST", "/api/v1/alerts", false, "/api/v1/alerts", v1::INGEST, Body::kJson, false,
     &TriageHttp::Alerts},
    // Binary mode takes any data type (the handler checks the mode).
    {"POST", "/api/v1/cloudevents", false, "/api/v1/cloudevents", v1::INGEST, Body::kAny, false,
     &TriageHttp::CloudEvents},
    {"POST", "/api/v1/aws-health", false, "/api/v1/aws-health", v1::INGEST, Body::kJson, false,
     &TriageHttp::AwsHealth},
    // Admitted by its signature (X-Hub-Signature-256): GitHub sends no other credentials.
    {"POST", "/api/v1/github", false, "/api/v1/github", v1::PUBLIC, Body::kJsonOrForm, false,
     &TriageHttp::Github},
    {"GET", "/", true, "static", v1::READ, Body::kNone, false, &TriageHttp::Static},
};

namespace {

// Only the page's own files: no inline script, no other origin.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

net::HttpResponse Json(int status, std::string body) {
  return net::HttpResponse{status, "application/json", std::move(body), {}, false};
}

net::HttpResponse Text(int status, std::string body) {
  return net::HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}, false};
}

bool Matches(const TriageHttp::Route& r, std::string_view path) {
  return r.prefix ? path.starts_with(r.path) : path == r.path;
}

// The media type without parameters, lower-cased ("application/json").
std::string MediaType(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(t));
}

bool Accepts(Body body, const std::string& type) {
  if (type.empty()) return true;  // curl -d, Prometheus's clients: take the route's own.
  switch (body) {
    case Body::kNone:
    case Body::kAny:
      return true;
    case Body::kJsonOrForm:
      return type == "application/json" || type == "application/x-www-form-urlencoded";
    case Body::kJson:
      return type == "application/json" ||
             (type.starts_with("application/") && type.ends_with("+json"));
    case Body::kNdjson:
      return type == "application/x-ndjson" || type == "application/jsonl" ||
             type == "application/json" || type == "application/jsonlines" ||
             type == "application/gzip";
    case Body::kProtobuf:
      return type == "application/x-protobuf" || type == "application/protobuf";
  }
  return false;
}

const char* Expected(Body body) {
  switch (body) {
    case Body::kJson:
      return "application/json";
    case Body::kJsonOrForm:
      return "application/json or application/x-www-form-urlencoded";
    case Body::kNdjson:
      return "application/x-ndjson";
    case Body::kProtobuf:
      return "application/x-protobuf";
    default:
      return "";
  }
}

// "host:port" without the port, lower-cased; [v6] keeps its brackets off.
std::string HostName(std::string_view host) {
  std::string h = absl::AsciiStrToLower(std::string(host));
  if (!h.empty() && h.front() == '[') return h.substr(1, h.find(']') - 1);
  return h.substr(0, h.rfind(':') == std::string::npos ? h.size() : h.rfind(':'));
}

std::string ContentTypeOf(const std::string& file) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".map", "application/json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (file.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

}  // namespace

TriageHttp::TriageHttp(const HttpOptions& options, core::Core& core, ConnectGateway& gateway,
                       const auth::Authenticator& auth, prometheus::Registry& registry, Metrics& metrics)
    : options_(options),
      core_(core),
      gateway_(gateway),
      auth_(auth),
      registry_(registry),
      metrics_(metrics) {
  char resolved[PATH_MAX];
  if (!options.web_root.empty() && realpath(options.web_root.c_str(), resolved) != nullptr) {
    web_root_ = resolved;
  }
}

absl::StatusOr<std::unique_ptr<TriageHttp>> TriageHttp::Start(const HttpOptions& options,
                                                              core::Core& core, ConnectGateway& gateway,
                                                              const auth::Authenticator& auth,
                                                              prometheus::Registry& registry,
                                                              Metrics& metrics) {
  auto http =
      std::unique_ptr<TriageHttp>(new TriageHttp(options, core, gateway, auth, registry, metrics));
  absl::StatusOr<std::unique_ptr<net::HttpServer>> server =
      net::HttpServer::Start(options.server, *http,
                             {.connections = metrics.http_connections,
                              .connections_refused = metrics.http_connections_refused,
                              .timeouts = metrics.http_timeouts,
                              .bad_framing = metrics.http_bad_framing,
                              .overloaded = metrics.http_overloaded});
  if (!server.ok()) return server.status();
  http->server_ = std::move(*server);
  return http;
}

TriageHttp::~TriageHttp() { Stop(); }

void TriageHttp::Stop() {
  if (server_ != nullptr) server_->Stop();
}

const TriageHttp::Route* TriageHttp::Find(const net::HttpRequest& request) const {
  for (const Route& r : kRoutes) {
    if (!Matches(r, request.path)) continue;
    bool get = std::string_view(r.method) == "GET";
    if (request.method == r.method || (get && request.method == "HEAD")) return &r;
  }
  return nullptr;
}

void TriageHttp::Count(const std::string& route, int status) {
  metrics_.http_requests.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
}

void TriageHttp::Decorate(const net::HttpRequest& request, net::HttpResponse* r) const {
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  if (r->content_type.starts_with("text/html")) {
    r->headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  }
  if (std::shared_ptr<const auth::WebConfig> c = auth_.config()) {
    for (const auto& h : c->headers) r->headers.push_back(h);
  }
  std::string_view origin = request.Header("origin");
  if (!origin.empty() && std::find(options_.cors_origins.begin(), options_.cors_origins.end(),
                                   origin) != options_.cors_origins.end()) {
    r->headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    r->headers.emplace_back("Vary", "Origin");
  }
}

std::optional<net::HttpResponse> TriageHttp::Preflight(const net::HttpRequest& request) {
  std::string_view origin = request.Header("origin");
  bool allowed = !origin.empty() &&
                 std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) !=
                     options_.cors_origins.end();
  if (!allowed) return Text(403, "cross-origin requests are not allowed from this origin\n");
  net::HttpResponse r{204, "text/plain", "", {}, false};
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         "authorization, content-type, connect-protocol-version, "
                         "connect-timeout-ms, content-encoding, accept-encoding");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

std::optional<net::HttpResponse> TriageHttp::Admit(const net::HttpRequest& request, const Route& route) {
  std::shared_ptr<const auth::WebConfig> config = auth_.config();
  // DNS rebinding: a name the operator did not list never reaches us.
  if (config != nullptr && !config->allowed_hosts.empty()) {
    std::string host = HostName(request.Header("host"));
    if (std::find(config->allowed_hosts.begin(), config->allowed_hosts.end(), host) ==
        config->allowed_hosts.end()) {
      return Text(421, "this server does not answer for that Host\n");
    }
  }
  v1::Role needed = route.role;
  std::string what = route.name;
  if (needed == v1::ROLE_UNSPECIFIED) {  // A Connect route: the RPC's role.
    std::string name = request.path.substr(1);
    size_t slash = name.find('/');
    if (slash != std::string::npos) name[slash] = '.';
    needed = auth::RoleOf(google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name));
    what = request.path;
    if (needed == v1::ROLE_UNSPECIFIED) needed = v1::READ;  // Unknown method: 404 once admitted.
  }
  if (needed != v1::PUBLIC) {
    absl::StatusOr<auth::Principal> who = auth_.Authenticate(request.Header("authorization"));
    if (!who.ok()) {
      net::HttpResponse r = ErrorResponse(who.status());
      r.headers.emplace_back("WWW-Authenticate", auth_.Challenge());
      return r;
    }
    if (absl::Status s = auth::Authorize(*who, needed, what); !s.ok()) {
      metrics_.forbidden.Add({{"role", std::string(auth::RoleName(needed))}}).Increment();
      return ErrorResponse(s);
    }
  }
  if (request.method == "POST") {
    // A page on another origin must not change state through the user's browser.
    std::string_view origin = request.Header("origin");
    std::string self =
        absl::StrFormat("%s%s", request.tls ? "https://" : "http://", request.Header("host"));
    bool listed = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) !=
                  options_.cors_origins.end();
    if ((!origin.empty() && origin != self && !listed) ||
        (request.Header("sec-fetch-site") == "cross-site" && !listed)) {
      return ErrorResponse(absl::StatusCode::kPermissionDenied,
                           "cross-origin request refused (see --cors-origin)");
    }
    const uint64_t limit = route.stream ? options_.max_bundle_bytes : options_.max_body_bytes;
    if (request.content_length && *request.content_length > limit) {
      net::HttpResponse r =
          ErrorResponse(absl::StatusCode::kResourceExhausted,
                        absl::StrFormat("request body is over %d bytes (%s)", limit,
                                        route.stream ? "--max-bundle-bytes" : "--max-body-bytes"),
                        413);
      r.close = true;
      return r;
    }
    std::string type = MediaType(request.Header("content-type"));
    if (!Accepts(route.body, type)) {
      return ErrorResponse(
          absl::StatusCode::kInvalidArgument,
          absl::StrFormat("Content-Type must be %s, got \"%s\"", Expected(route.body), type), 415);
    }
  }
  return std::nullopt;
}

net::RequestPlan TriageHttp::Plan(net::HttpRequest& request) {
  net::RequestPlan plan;
  plan.max_body_bytes = options_.max_body_bytes;
  std::optional<net::HttpResponse> answer;
  std::string name = "other";
  const Route* route = Find(request);
  if (request.method == "OPTIONS") {
    answer = Preflight(request);
  } else if (route == nullptr) {
    bool api = request.path.starts_with("/api/") || request.path.starts_with("/triage.v1.");
    net::HttpResponse r;
    if (request.method == "POST") {
      r = ErrorResponse(absl::StatusCode::kNotFound, "no such endpoint " + request.path);
    } else if (api) {
      r = ErrorResponse(absl::StatusCode::kUnimplemented, "use POST", 405);
      r.headers.emplace_back("Allow", "POST");
    } else {
      r = Text(405, "method not allowed\n");
      r.headers.emplace_back("Allow", "GET, HEAD");
    }
    answer = std::move(r);
  } else {
    name = route->name;
    answer = Admit(request, *route);
    if (std::string_view(route->method) == "GET") plan.max_body_bytes = 0;
    if (route->stream) {
      plan.stream_body = true;
      plan.max_body_bytes = options_.max_bundle_bytes;
    }
  }
  if (answer) {
    Count(name, answer->status);
    if (answer->status < 500) metrics_.Rejected(name).Increment();
    Decorate(request, &*answer);
    plan.answer = std::move(answer);
  }
  return plan;
}

net::HttpResponse TriageHttp::Handle(net::HttpRequest& request, net::BodyReader& body) {
  const Route* route = Find(request);
  net::HttpResponse r = (this->*(route->handle))(request, body);
  if (r.status >= 400 && r.status < 500) metrics_.Rejected(route->name).Increment();
  Count(route->name, r.status);
  Decorate(request, &r);
  return r;
}

net::HttpResponse TriageHttp::Health(const net::HttpRequest&, net::BodyReader&) { return Text(200, "ok\n"); }

net::HttpResponse TriageHttp::Ready(const net::HttpRequest&, net::BodyReader&) {
  if (!ready_) return Text(503, "not ready: starting\n");
  absl::Status writable = core_.Writable();
  if (!writable.ok()) {
    return Text(503, absl::StrFormat("not ready for writes: %s\n", writable.message()));
  }
  return Text(200, "ready\n");
}

net::HttpResponse TriageHttp::MetricsText(const net::HttpRequest&, net::BodyReader&) {
  core_.UpdateGauges();
  return net::HttpResponse{200,
                      "text/plain; version=0.0.4",
                      prometheus::TextSerializer().Serialize(registry_.Collect()),
                      {},
                      false};
}

net::HttpResponse TriageHttp::Connect(const net::HttpRequest& request, net::BodyReader&) {
  return gateway_.Call(request);
}

net::HttpResponse TriageHttp::Bundle(const net::HttpRequest&, net::BodyReader& body) {
  absl::Status read;  // Why the body stopped, when it was the connection.
  replay::Pull pull = [&](std::string* piece) -> absl::StatusOr<bool> {
    absl::StatusOr<size_t> n = body.Read(piece, 1 << 20);
    if (!n.ok()) return read = n.status();
    return *n > 0;
  };
  absl::StatusOr<v1::IngestResponse> r = core_.IngestBundle("request", pull);
  if (!r.ok()) {
    if (!read.ok()) {  // The client broke off or was too slow: nothing was stored.
      net::HttpResponse answer = ErrorResponse(read);
      answer.close = true;
      return answer;
    }
    if (absl::IsResourceExhausted(r.status())) {
      net::HttpResponse answer = ErrorResponse(r.status());
      answer.status = 413;
      answer.close = true;
      return answer;
    }
    return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
  }
  return Json(200, ProtoJson(*r));
}

net::HttpResponse TriageHttp::RemoteWrite(const net::HttpRequest& request, net::BodyReader&) {
  absl::StatusOr<v1::IngestResponse> r = core_.RemoteWrite(request.body);
  if (r.ok()) return net::HttpResponse{204, "text/plain", "", {}, false};
  CountLimitRejections(r.status(), metrics_);
  // A block that decodes past the limit is as good as a body over it.
  if (absl::IsResourceExhausted(r.status())) {
    return ErrorResponse(r.status().code(), std::string(r.status().message()), 413);
  }
  return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
}

net::HttpResponse TriageHttp::Alerts(const net::HttpRequest& request, net::BodyReader&) {
  core::AlertRouter* router = alerts_.load();
  if (router == nullptr) {
    return ErrorResponse(absl::StatusCode::kUnavailable, "alert routing is starting");
  }
  absl::StatusOr<v1::WebhookReply> r = router->HandleWebhook(request.body);
  if (!r.ok()) {
    // Bad input is 400 (Alertmanager must not retry); failing to store is
    // 503 so that it does.
    if (absl::IsInvalidArgument(r.status())) return ErrorResponse(r.status());
    return ErrorResponse(absl::StatusCode::kUnavailable, std::string(r.status().message()));
  }
  return Json(200, ProtoJson(*r));
}

net::HttpResponse TriageHttp::Static(const net::HttpRequest& request, net::BodyReader&) {
  if (web_root_.empty()) return Text(404, "no web root\n");
  std::string path = request.path;
  if (path.empty() || path.back() == '/') path += "index.html";
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (std::find(parts.begin(), parts.end(), "..") != parts.end() ||
      path.find('\0') != std::string::npos) {
    return Text(403, "forbidden\n");
  }
  char resolved[PATH_MAX];
  std::string candidate = web_root_ + path;
  if (realpath(candidate.c_str(), resolved) == nullptr) return Text(404, "not found\n");
  std::string real = resolved;
  if (real != web_root_ && !real.starts_with(web_root_ + "/")) return Text(403, "forbidden\n");
  if (std::filesystem::is_directory(real)) real += "/index.html";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(real, ec)) return Text(404, "not found\n");
  std::ifstream in(real, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Text(500, "cannot read the file\n");
  net::HttpResponse r{200, ContentTypeOf(real), std::move(body), {}, false};
  return r;
}

}  // namespace triage::api
