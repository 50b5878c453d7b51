#include "triage/server/http.h"

#include <limits.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"
#include "triage/base/proto_json.h"
#include "triage/server/errors.h"

namespace triage::server {

struct TriageHttp::Route {
  const char* method;  // GET routes answer HEAD too.
  const char* path;    // Exact, or a prefix when `prefix`.
  bool prefix;
  const char* name;    // The `route` label of triage_http_requests_total.
  HttpResponse (TriageHttp::*handle)(const HttpRequest&);
};

const TriageHttp::Route TriageHttp::kRoutes[] = {
    {"GET", "/healthz", false, "healthz", &TriageHttp::Health},
    {"GET", "/readyz", false, "readyz", &TriageHttp::Ready},
    {"GET", "/metrics", false, "metrics", &TriageHttp::MetricsText},
    {"POST", "/triage.v1.", true, "connect", &TriageHttp::Connect},
    {"POST", "/api/v1/bundle", false, "/api/v1/bundle", &TriageHttp::Bundle},
    {"POST", "/api/v1/write", false, "/api/v1/write", &TriageHttp::RemoteWrite},
    {"POST", "/api/v1/changes", false, "/api/v1/changes", &TriageHttp::Change},
    {"POST", "/api/v1/alerts", false, "/api/v1/alerts", &TriageHttp::Alerts},
    {"GET", "/", true, "static", &TriageHttp::Static},
};

namespace {

HttpResponse Json(int status, std::string body) {
  return HttpResponse{status, "application/json", std::move(body), {}, false};
}

HttpResponse Text(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}, false};
}

bool Matches(const TriageHttp::Route& r, std::string_view path) {
  return r.prefix ? path.starts_with(r.path) : path == r.path;
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

TriageHttp::TriageHttp(const HttpOptions& options, Core& core, ConnectGateway& gateway,
                       prometheus::Registry& registry, Metrics& metrics)
    : options_(options), core_(core), gateway_(gateway), registry_(registry), metrics_(metrics) {
  char resolved[PATH_MAX];
  if (!options.web_root.empty() && realpath(options.web_root.c_str(), resolved) != nullptr) {
    web_root_ = resolved;
  }
}

absl::StatusOr<std::unique_ptr<TriageHttp>> TriageHttp::Start(const HttpOptions& options,
                                                              Core& core, ConnectGateway& gateway,
                                                              prometheus::Registry& registry,
                                                              Metrics& metrics) {
  auto http =
      std::unique_ptr<TriageHttp>(new TriageHttp(options, core, gateway, registry, metrics));
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options.server, *http, metrics);
  if (!server.ok()) return server.status();
  http->server_ = std::move(*server);
  return http;
}

TriageHttp::~TriageHttp() { Stop(); }

void TriageHttp::Stop() {
  if (server_ != nullptr) server_->Stop();
}

const TriageHttp::Route* TriageHttp::Find(const HttpRequest& request) const {
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

RequestPlan TriageHttp::Plan(HttpRequest& request) {
  RequestPlan plan;
  plan.max_body_bytes = options_.max_body_bytes;
  const Route* route = Find(request);
  if (route == nullptr) {
    bool api = request.path.starts_with("/api/") || request.path.starts_with("/triage.v1.");
    HttpResponse r;
    if (request.method == "POST") {
      r = ErrorResponse(absl::StatusCode::kNotFound, "no such endpoint " + request.path);
    } else if (api) {
      r = ErrorResponse(absl::StatusCode::kUnimplemented, "use POST", 405);
      r.headers.emplace_back("Allow", "POST");
    } else {
      r = Text(405, "method not allowed\n");
      r.headers.emplace_back("Allow", "GET, HEAD");
    }
    Count("other", r.status);
    if (r.status < 500) metrics_.Rejected("other").Increment();
    plan.answer = std::move(r);
    return plan;
  }
  if (std::string_view(route->method) == "GET") plan.max_body_bytes = 0;
  return plan;
}

HttpResponse TriageHttp::Handle(HttpRequest& request, BodyReader&) {
  const Route* route = Find(request);
  HttpResponse r = (this->*(route->handle))(request);
  if (r.status >= 400 && r.status < 500) metrics_.Rejected(route->name).Increment();
  Count(route->name, r.status);
  return r;
}

HttpResponse TriageHttp::Health(const HttpRequest&) { return Text(200, "ok\n"); }

HttpResponse TriageHttp::Ready(const HttpRequest&) {
  if (!ready_) return Text(503, "not ready: starting\n");
  absl::Status writable = core_.Writable();
  if (!writable.ok()) {
    return Text(503, absl::StrFormat("not ready for writes: %s\n", writable.message()));
  }
  return Text(200, "ready\n");
}

HttpResponse TriageHttp::MetricsText(const HttpRequest&) {
  core_.UpdateGauges();
  return HttpResponse{200, "text/plain; version=0.0.4",
                      prometheus::TextSerializer().Serialize(registry_.Collect()), {}, false};
}

HttpResponse TriageHttp::Connect(const HttpRequest& request) {
  return gateway_.Call(request.path, request.Header("content-type"), request.body);
}

HttpResponse TriageHttp::Bundle(const HttpRequest& request) {
  absl::StatusOr<v1::IngestResponse> r = core_.IngestBundle("request", request.body);
  if (!r.ok()) {
    return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
  }
  return Json(200, ProtoJson(*r));
}

HttpResponse TriageHttp::RemoteWrite(const HttpRequest& request) {
  absl::StatusOr<v1::IngestResponse> r = core_.RemoteWrite(request.body);
  if (r.ok()) return HttpResponse{204, "text/plain", "", {}, false};
  CountLimitRejections(r.status(), metrics_);
  // A block that decodes past the limit is as good as a body over it.
  if (absl::IsResourceExhausted(r.status())) {
    return ErrorResponse(r.status().code(), std::string(r.status().message()), 413);
  }
  return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
}

HttpResponse TriageHttp::Change(const HttpRequest& request) {
  absl::StatusOr<v1::IngestResponse> r = core_.AddChange(request.body);
  if (!r.ok()) return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
  return Json(200, ProtoJson(*r));
}

HttpResponse TriageHttp::Alerts(const HttpRequest& request) {
  AlertRouter* router = alerts_.load();
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

HttpResponse TriageHttp::Static(const HttpRequest& request) {
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
  HttpResponse r{200, ContentTypeOf(real), std::move(body), {}, false};
  return r;
}

}  // namespace triage::server
