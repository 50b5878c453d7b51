#include "triage/server/http.h"

#include <CivetServer.h>
#include <limits.h>
#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "collectors/json.h"
#include "collectors/validate.h"
#include "google/protobuf/util/json_util.h"
#include "prometheus/text_serializer.h"
#include "triage/base/proto_json.h"

namespace triage::server {

namespace {

void Reply(mg_connection* conn, const HttpReply& r, bool close = false) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: "
            "no-store\r\n%s\r\n",
            r.status, mg_get_response_code_text(conn, r.status), r.content_type.c_str(),
            r.body.size(), close ? "Connection: close\r\n" : "");
  if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

HttpReply Json(int status, std::string body) {
  return HttpReply{status, "application/json", std::move(body)};
}

HttpReply Error(const absl::Status& s) {
  int code = static_cast<int>(s.code());
  return Json(ConnectHttpStatus(code), ConnectErrorJson(code, std::string(s.message())));
}

// {"code": ..., "message": ..., "errors": [one per line of the message]}
HttpReply LineErrors(const absl::Status& s) {
  std::string body = R"({"code":)";
  collectors::AppendJsonString(&body, ConnectCodeName(static_cast<int>(s.code())));
  body += R"(,"message":)";
  std::vector<std::string> lines = absl::StrSplit(std::string(s.message()), '\n');
  collectors::AppendJsonString(
      &body, lines.size() == 1
                 ? lines[0]
                 : absl::StrFormat("%d errors; none of the request was stored", lines.size()));
  body += R"(,"errors":[)";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) body += ",";
    collectors::AppendJsonString(&body, lines[i]);
  }
  body += "]}";
  return Json(ConnectHttpStatus(static_cast<int>(s.code())), std::move(body));
}

}  // namespace

class HttpServer::Handler : public CivetHandler {
 public:
  Handler(const HttpOptions& options, Core& core, ConnectGateway& gateway,
          prometheus::Registry& registry, Metrics& metrics, std::atomic<bool>& ready,
          std::atomic<AlertRouter*>& alerts)
      : alerts_(alerts),
        options_(options),
        core_(core),
        gateway_(gateway),
        registry_(registry),
        metrics_(metrics),
        ready_(ready) {
    char resolved[PATH_MAX];
    if (!options.web_root.empty() && realpath(options.web_root.c_str(), resolved) != nullptr) {
      web_root_ = resolved;
    }
  }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string path = ri->local_uri != nullptr ? ri->local_uri : "/";
    if (path == "/healthz") return Done(conn, "healthz", {200, "text/plain", "ok\n"});
    if (path == "/readyz") {
      return Done(conn, "readyz",
                  ready_ ? HttpReply{200, "text/plain", "ready\n"}
                         : HttpReply{503, "text/plain", "not ready\n"});
    }
    if (path == "/metrics") {
      return Done(conn, "metrics",
                  {200, "text/plain; version=0.0.4",
                   prometheus::TextSerializer().Serialize(registry_.Collect())});
    }
    if (ConnectGateway::Handles(path) || path.starts_with("/api/")) {
      return Done(conn, "other", Json(405, ConnectErrorJson(12, "use POST")));
    }
    return Static(conn, path);
  }

  bool handleHead(CivetServer* server, mg_connection* conn) override {
    return handleGet(server, conn);
  }

  bool handlePost(CivetServer*, mg_connection* conn) override {
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string path = ri->local_uri != nullptr ? ri->local_uri : "/";
    std::string route = ConnectGateway::Handles(path) ? "connect" : path;
    if (!ConnectGateway::Handles(path) && path != "/api/v1/bundle" && path != "/api/v1/write" &&
        path != "/api/v1/changes" && path != "/api/v1/alerts") {
      return Done(conn, "other", Json(404, ConnectErrorJson(5, "no such endpoint " + path)));
    }
    std::string body;
    if (!ReadBody(conn, &body)) {
      metrics_.Rejected(route).Increment();
      Reply(conn,
            Json(413, ConnectErrorJson(8, absl::StrFormat("request body is over %d bytes",
                                                          options_.max_body_bytes))),
            /*close=*/true);
      Count(route, 413);
      return true;
    }
    const char* ct = mg_get_header(conn, "Content-Type");
    std::string content_type = ct != nullptr ? ct : "";
    HttpReply reply;
    if (ConnectGateway::Handles(path)) {
      reply = gateway_.Call(path, content_type, body);
    } else if (path == "/api/v1/bundle") {
      absl::StatusOr<v1::IngestResponse> r = core_.IngestBundle("request", body);
      reply = r.ok() ? Json(200, ProtoJson(*r)) : LineErrors(r.status());
    } else if (path == "/api/v1/write") {
      absl::StatusOr<v1::IngestResponse> r = core_.RemoteWrite(body);
      if (r.ok()) {
        reply = HttpReply{204, "text/plain", ""};
      } else if (absl::IsResourceExhausted(r.status())) {
        reply = Json(413, ConnectErrorJson(8, std::string(r.status().message())));
      } else {
        reply = Error(r.status());
      }
    } else if (path == "/api/v1/alerts") {
      reply = Alerts(body);
    } else {
      reply = Change(body);
    }
    if (reply.status >= 400 && reply.status < 500) metrics_.Rejected(route).Increment();
    return Done(conn, route, reply);
  }

 private:
  bool Done(mg_connection* conn, const std::string& route, const HttpReply& reply) {
    Reply(conn, reply);
    Count(route, reply.status);
    return true;
  }

  void Count(const std::string& route, int status) {
    metrics_.http_requests.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
  }

  // False when the body is over the limit; a declared length over it is
  // refused before anything is read.
  bool ReadBody(mg_connection* conn, std::string* body) {
    const mg_request_info* ri = mg_get_request_info(conn);
    if (ri->content_length > static_cast<long long>(options_.max_body_bytes)) return false;
    if (ri->content_length > 0) body->reserve(static_cast<size_t>(ri->content_length));
    char buf[1 << 16];
    int n;
    while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
      if (body->size() + static_cast<size_t>(n) > options_.max_body_bytes) return false;
      body->append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  HttpReply Change(const std::string& body) {
    v1::RecordBatch batch;
    google::protobuf::util::JsonParseOptions o;
    o.ignore_unknown_fields = true;
    auto parsed = google::protobuf::util::JsonStringToMessage(body, batch.add_changes(), o);
    if (!parsed.ok()) {
      return Json(400, ConnectErrorJson(3, "not a change event: " + std::string(parsed.message())));
    }
    absl::StatusOr<v1::IngestResponse> r = core_.AddChange(batch.changes(0));
    return r.ok() ? Json(200, ProtoJson(*r)) : LineErrors(r.status());
  }

  HttpReply Alerts(const std::string& body) {
    AlertRouter* router = alerts_.load();
    if (router == nullptr) return Json(503, ConnectErrorJson(14, "alert routing is starting"));
    absl::StatusOr<WebhookResult> r = router->HandleWebhook(body);
    if (!r.ok()) {
      // Bad input is 400 (Alertmanager must not retry); failing to store is
      // 503 so that it does.
      return absl::IsInvalidArgument(r.status())
                 ? Error(r.status())
                 : Json(503, ConnectErrorJson(14, std::string(r.status().message())));
    }
    std::string out = absl::StrFormat(
        R"({"status":"ok","alerts":%d,"opened":%d,"joined":%d,"resolved":%d,"unchanged":%d,"unmapped":%d,"incidents":[)",
        r->alerts, r->opened, r->joined, r->resolved, r->unchanged, r->unmapped);
    for (size_t i = 0; i < r->incidents.size(); ++i) {
      if (i > 0) out += ",";
      collectors::AppendJsonString(&out, r->incidents[i]);
    }
    out += "]}";
    return Json(200, out);
  }

  bool Static(mg_connection* conn, std::string path) {
    if (web_root_.empty()) return Done(conn, "static", {404, "text/plain", "no web root\n"});
    if (path.empty() || path.back() == '/') path += "index.html";
    std::vector<std::string> parts = absl::StrSplit(path, '/');
    if (std::find(parts.begin(), parts.end(), "..") != parts.end()) {
      return Done(conn, "static", {403, "text/plain", "forbidden\n"});
    }
    char resolved[PATH_MAX];
    std::string candidate = web_root_ + path;
    if (realpath(candidate.c_str(), resolved) == nullptr) {
      return Done(conn, "static", {404, "text/plain", "not found\n"});
    }
    std::string real = resolved;
    if (real != web_root_ && !real.starts_with(web_root_ + "/")) {
      return Done(conn, "static", {403, "text/plain", "forbidden\n"});
    }
    if (std::filesystem::is_directory(real)) real += "/index.html";
    if (!std::filesystem::is_regular_file(real)) {
      return Done(conn, "static", {404, "text/plain", "not found\n"});
    }
    mg_send_file(conn, real.c_str());
    Count("static", 200);
    return true;
  }

  std::atomic<AlertRouter*>& alerts_;
  const HttpOptions options_;
  Core& core_;
  ConnectGateway& gateway_;
  prometheus::Registry& registry_;
  Metrics& metrics_;
  std::atomic<bool>& ready_;
  std::string web_root_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options,
                                                              Core& core, ConnectGateway& gateway,
                                                              prometheus::Registry& registry,
                                                              Metrics& metrics) {
  auto server = std::unique_ptr<HttpServer>(new HttpServer());
  std::vector<std::string> civet_options = {
      "listening_ports", options.addr, "num_threads", std::to_string(options.threads),
      "enable_keep_alive", "yes", "request_timeout_ms", "60000",
      // Longer than common clients' idle timeouts (undici 4 s), so a client never
      // reuses a connection the server has just closed.
      "keep_alive_timeout_ms", "30000"};
  try {
    server->server_ = std::make_unique<CivetServer>(civet_options);
  } catch (const CivetException& e) {
    return absl::UnavailableError(
        absl::StrFormat("http: cannot listen on %s: %s", options.addr, e.what()));
  }
  if (server->server_->getContext() == nullptr) {
    return absl::UnavailableError(absl::StrFormat("http: cannot listen on %s", options.addr));
  }
  server->handler_ = std::make_unique<Handler>(options, core, gateway, registry, metrics,
                                               server->ready_, server->alerts_);
  server->server_->addHandler("/", server->handler_.get());
  std::vector<int> ports = server->server_->getListeningPorts();
  if (ports.empty()) return absl::UnavailableError("http: no listening port");
  server->port_ = ports[0];
  return server;
}

void HttpServer::Stop() {
  if (server_ != nullptr) {
    server_->close();
    server_.reset();
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace triage::server
