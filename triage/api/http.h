// TriageHttp: triaged's HTTP endpoints, served by HttpServer.
//   POST /triage.v1.<Service>/<Method>  Connect JSON (ConnectGateway)
//   POST /api/v1/bundle                 bundle NDJSON -> {"accepted": {...}} or 400 with line
//   errors POST /api/v1/write                  Prometheus remote_write 1.0 -> 204 POST
//   /api/v1/changes                one change event as JSON POST /api/v1/alerts Alertmanager
//   webhook (version 4) GET  /metrics /healthz /readyz      Prometheus text format; liveness;
//   readiness for writes GET  /...                           the files of the web root (never
//   outside it)
// Every route is a row of one table (method, path, role, content types,
// handler); Connect routes take the role their RPC declares. Before a body
// is read: the Host (when the web config names hosts), credentials (401 with
// WWW-Authenticate) and role (403), a browser's Origin (a state-changing
// request from another origin is 403 unless --cors-origin lists it), the
// Content-Type (415) and the body's size (413). Every answer carries the
// security headers (CSP allowing only the page's own scripts, nosniff,
// no-referrer) and the web config's own.
//
// Thread-safe. Core, gateway, registry and metrics are not owned and must
// outlive it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "prometheus/registry.h"
#include "triage/core/alerts.h"
#include "triage/auth/auth.h"
#include "triage/core/core.h"
#include "triage/api/gateway.h"
#include "triage/net/http_server.h"
#include "triage/base/metrics.h"

namespace triage::api {

struct HttpOptions {
  net::HttpServerOptions server;  // Address, threads, connection and time limits.
  std::string web_root;      // Directory served at GET /.
  size_t max_body_bytes = 16 << 20;
  uint64_t max_bundle_bytes = uint64_t{1} << 30;  // A bundle (streamed) at most.
  std::vector<std::string> cors_origins;          // Origins a browser may call from (exact match).
  // GitHub webhooks' secret (X-Hub-Signature-256); empty: /api/v1/github is off.
  std::string github_secret;
};

class TriageHttp : public net::HttpService {
 public:
  static absl::StatusOr<std::unique_ptr<TriageHttp>> Start(const HttpOptions& options, core::Core& core,
                                                           ConnectGateway& gateway,
                                                           const auth::Authenticator& auth,
                                                           prometheus::Registry& registry,
                                                           Metrics& metrics);
  ~TriageHttp() override;

  int port() const { return server_->port(); }
  void SetReady(bool ready) { ready_ = ready; }
  // Turns on POST /api/v1/alerts (503 until then, so Alertmanager retries).
  // Not owned; must outlive the server or be reset to nullptr first.
  void SetAlertRouter(core::AlertRouter* alerts) { alerts_ = alerts; }
  // Stops accepting and waits for requests in flight.
  void Stop();

  net::RequestPlan Plan(net::HttpRequest& request) override;
  net::HttpResponse Handle(net::HttpRequest& request, net::BodyReader& body) override;

  struct Route;

 private:
  static const Route kRoutes[];  // One table of routes; the first match wins.
  TriageHttp(const HttpOptions& options, core::Core& core, ConnectGateway& gateway,
             const auth::Authenticator& auth, prometheus::Registry& registry, Metrics& metrics);
  const Route* Find(const net::HttpRequest& request) const;
  // The checks made before a body is read; an answer when one fails.
  std::optional<net::HttpResponse> Admit(const net::HttpRequest& request, const Route& route);
  std::optional<net::HttpResponse> Preflight(const net::HttpRequest& request);
  // Security headers, the web config's headers, CORS for allowed origins.
  void Decorate(const net::HttpRequest& request, net::HttpResponse* response) const;
  net::HttpResponse Health(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Ready(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse MetricsText(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Connect(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Bundle(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse RemoteWrite(const net::HttpRequest& request, net::BodyReader& body);
  // Change events (http_changes.cc).
  net::HttpResponse Change(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse CloudEvents(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse AwsHealth(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Github(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Alerts(const net::HttpRequest& request, net::BodyReader& body);
  net::HttpResponse Static(const net::HttpRequest& request, net::BodyReader& body);
  void Count(const std::string& route, int status);

  const HttpOptions options_;
  core::Core& core_;
  ConnectGateway& gateway_;
  const auth::Authenticator& auth_;
  prometheus::Registry& registry_;
  Metrics& metrics_;
  std::string web_root_;
  std::atomic<bool> ready_{false};
  std::atomic<core::AlertRouter*> alerts_{nullptr};
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace triage::api
