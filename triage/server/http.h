// TriageHttp: triaged's HTTP endpoints, served by HttpServer.
//   POST /triage.v1.<Service>/<Method>  Connect JSON (ConnectGateway)
//   POST /api/v1/bundle                 bundle NDJSON -> {"accepted": {...}} or 400 with line errors
//   POST /api/v1/write                  Prometheus remote_write 1.0 -> 204
//   POST /api/v1/changes                one change event as JSON
//   POST /api/v1/alerts                 Alertmanager webhook (version 4)
//   GET  /metrics /healthz /readyz      Prometheus text format; liveness; readiness for writes
//   GET  /...                           the files of the web root (never outside it)
// Every route is a row of one table (method, path, body limit, handler).
// Bodies over the limit get 413 before they are read.
//
// Thread-safe. Core, gateway, registry and metrics are not owned and must
// outlive it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "prometheus/registry.h"
#include "triage/server/alerts.h"
#include "triage/server/core.h"
#include "triage/server/gateway.h"
#include "triage/server/http_server.h"
#include "triage/server/metrics.h"

namespace triage::server {

struct HttpOptions {
  HttpServerOptions server;  // Address, threads, connection and time limits.
  std::string web_root;      // Directory served at GET /.
  size_t max_body_bytes = 16 << 20;
};

class TriageHttp : public HttpService {
 public:
  static absl::StatusOr<std::unique_ptr<TriageHttp>> Start(const HttpOptions& options, Core& core,
                                                           ConnectGateway& gateway,
                                                           prometheus::Registry& registry,
                                                           Metrics& metrics);
  ~TriageHttp() override;

  int port() const { return server_->port(); }
  void SetReady(bool ready) { ready_ = ready; }
  // Turns on POST /api/v1/alerts (503 until then, so Alertmanager retries).
  // Not owned; must outlive the server or be reset to nullptr first.
  void SetAlertRouter(AlertRouter* alerts) { alerts_ = alerts; }
  // Stops accepting and waits for requests in flight.
  void Stop();

  RequestPlan Plan(HttpRequest& request) override;
  HttpResponse Handle(HttpRequest& request, BodyReader& body) override;

  struct Route;

 private:
  static const Route kRoutes[];  // One table of routes; the first match wins.
  TriageHttp(const HttpOptions& options, Core& core, ConnectGateway& gateway,
             prometheus::Registry& registry, Metrics& metrics);
  const Route* Find(const HttpRequest& request) const;
  HttpResponse Health(const HttpRequest& request);
  HttpResponse Ready(const HttpRequest& request);
  HttpResponse MetricsText(const HttpRequest& request);
  HttpResponse Connect(const HttpRequest& request);
  HttpResponse Bundle(const HttpRequest& request);
  HttpResponse RemoteWrite(const HttpRequest& request);
  HttpResponse Change(const HttpRequest& request);
  HttpResponse Alerts(const HttpRequest& request);
  HttpResponse Static(const HttpRequest& request);
  void Count(const std::string& route, int status);

  const HttpOptions options_;
  Core& core_;
  ConnectGateway& gateway_;
  prometheus::Registry& registry_;
  Metrics& metrics_;
  std::string web_root_;
  std::atomic<bool> ready_{false};
  std::atomic<AlertRouter*> alerts_{nullptr};
  std::unique_ptr<HttpServer> server_;
};

}  // namespace triage::server
