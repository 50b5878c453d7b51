// HttpServer: triaged's HTTP endpoints on civetweb.
//   POST /triage.v1.<Service>/<Method>  Connect-style JSON (ConnectGateway)
//   POST /api/v1/bundle                 bundle NDJSON -> {"accepted": {...}} or 400 with line
//   errors POST /api/v1/write                  Prometheus remote_write 1.0 -> 204 POST
//   /api/v1/changes                one change event as JSON POST /api/v1/alerts Alertmanager
//   webhook (version 4) GET  /metrics /healthz /readyz      Prometheus text format; liveness;
//   readiness GET  /...                           the files of the web root (never outside it)
// Bodies over max_body_bytes get 413 without being read.
//
// Thread-safe: civetweb serves requests on its own worker threads. Core,
// gateway, registry and metrics are not owned and must outlive the server.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"
#include "triage/server/alerts.h"
#include "triage/server/core.h"
#include "triage/server/gateway.h"
#include "triage/server/metrics.h"

class CivetServer;

namespace triage::server {

struct HttpOptions {
  std::string addr = "127.0.0.1:7080";  // HOST:PORT; port 0 picks a free port.
  std::string web_root;                 // Directory served at GET /.
  size_t max_body_bytes = 16 << 20;
  int threads = 64;  // civetweb serves a connection per thread, keep-alive included.
};

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, Core& core,
                                                           ConnectGateway& gateway,
                                                           prometheus::Registry& registry,
                                                           Metrics& metrics);
  ~HttpServer();

  int port() const { return port_; }
  void SetReady(bool ready) { ready_ = ready; }
  // Turns on POST /api/v1/alerts (503 until then, so Alertmanager retries).
  // Not owned; must outlive the server or be reset to nullptr first.
  void SetAlertRouter(AlertRouter* alerts) { alerts_ = alerts; }
  // Stops accepting and waits for requests in flight.
  void Stop();

  class Handler;

 private:
  HttpServer() = default;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;
  std::atomic<bool> ready_{false};
  std::atomic<AlertRouter*> alerts_{nullptr};
  int port_ = 0;
};

}  // namespace triage::server
