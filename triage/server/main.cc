// triaged: the always-on triage daemon. Wires the store, the engine (Core),
// the gRPC services and the HTTP endpoints together; see --help.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "prometheus/registry.h"
#include "triage/base/clock.h"
#include "triage/server/auth.h"
#include "triage/server/core.h"
#include "triage/server/drills.h"
#include "triage/server/file_clock.h"
#include "triage/server/flags.h"
#include "triage/server/gateway.h"
#include "triage/server/http.h"
#include "triage/server/metrics.h"
#include "triage/server/periodic.h"
#include "triage/server/prom_source.h"
#include "triage/server/services.h"
#include "triage/server/tls.h"
#include "triage/server/web_config.h"
#include "triage/store/store.h"

namespace {

bool WritePorts(const std::string& dir, int grpc_port, int http_port) {
  std::string tmp = dir + "/ports.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrFormat("{\"grpc\": %d, \"http\": %d}\n", grpc_port, http_port);
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), (dir + "/ports.json").c_str()) == 0;
}

// Every connection is a descriptor: take the hard limit, not the soft 1024.
void RaiseFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int Fail(int code, absl::string_view message) {
  std::cerr << "triaged: " << message << "\n";
  return code;
}

// The HTTP port's TLS context, swapped when the web config is re-read.
class TlsHolder {
 public:
  void Set(std::shared_ptr<ssl_ctx_st> ctx) {
    absl::MutexLock lock(&mu_);
    ctx_ = std::move(ctx);
  }
  std::shared_ptr<ssl_ctx_st> Get() {
    absl::MutexLock lock(&mu_);
    return ctx_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<ssl_ctx_st> ctx_;
};

// gRPC's TLS: the certificate files are watched (re-read every 10 s), so a
// renewed certificate applies without a restart.
std::shared_ptr<grpc::ServerCredentials> GrpcCredentials(const triage::server::WebConfig* c) {
  if (c == nullptr || !c->tls) return grpc::InsecureServerCredentials();
  const triage::server::TlsServerConfig& tls = *c->tls;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file, 10);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) options.watch_root_certs();
  const std::string& type = tls.client_auth_type;
  options.set_cert_request_type(
      type == "RequestClientCert" ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
      : type == "RequireAnyClientCert"
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
      : type == "VerifyClientCertIfGiven" ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
      : type == "RequireAndVerifyClientCert"
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<triage::server::DaemonConfig> config =
      triage::server::ParseDaemonFlags(argc, argv);
  if (!config.ok()) return Fail(2, std::string(config.status().message()) + " (see --help)");
  const triage::server::DaemonConfig& c = *config;
  RaiseFileLimit();
  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Safe by default: without a web config, loopback only.
  std::shared_ptr<const triage::server::WebConfig> web;
  if (!c.web_config_file.empty()) {
    absl::StatusOr<triage::server::WebConfig> loaded =
        triage::server::LoadWebConfig(c.web_config_file);
    if (!loaded.ok()) return Fail(2, loaded.status().message());
    for (const std::string& w : loaded->warnings) std::cerr << "triaged: web config: " << w << "\n";
    web = std::make_shared<const triage::server::WebConfig>(std::move(*loaded));
  } else {
    for (const std::string& addr : {c.grpc_addr, c.http_addr}) {
      if (triage::server::IsLoopbackAddress(addr)) continue;
      if (!c.insecure_listen_any) {
        return Fail(2, absl::StrFormat("refusing to serve %s without --web-config-file (TLS and "
                                       "credentials); --insecure-listen-any overrides",
                                       addr));
      }
      std::cerr << "triaged: WARNING: serving " << addr
                << " without TLS or authentication (--insecure-listen-any)\n";
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return Fail(1, absl::StrFormat("cannot create %s: %s", c.data_dir, ec.message()));
  triage::SystemClock system_clock;
  std::unique_ptr<triage::server::FileClock> file_clock;
  if (!c.fake_clock_file.empty()) {
    file_clock = std::make_unique<triage::server::FileClock>(c.fake_clock_file);
    std::cerr << "triaged: the clock reads " << c.fake_clock_file << " (tests only)\n";
  }
  const triage::Clock& clock =
      file_clock != nullptr ? static_cast<const triage::Clock&>(*file_clock) : system_clock;
  auto store = triage::store::Store::Open({.path = c.data_dir + "/store",
                                           .sync = c.sync,
                                           .retention_ms = c.retention_ms,
                                           .clock = &clock,
                                           .min_free_bytes = c.min_free_disk_bytes,
                                           .max_wal_bytes = c.max_wal_bytes,
                                           .max_series = c.max_series,
                                           .head_max_samples = c.head_max_samples});
  if (!store.ok()) return Fail(1, store.status().message());
  prometheus::Registry registry;
  triage::server::Metrics metrics(registry);
  metrics.insecure_listen.Set(web == nullptr && (!triage::server::IsLoopbackAddress(c.grpc_addr) ||
                                                 !triage::server::IsLoopbackAddress(c.http_addr))
                                  ? 1
                                  : 0);
  metrics.web_config_reload_success.Set(1);
  triage::server::Authenticator auth(clock, metrics);
  auth.Set(web);
  const triage::server::GrpcGuard guard(auth, triage::server::RandomSecret());
  TlsHolder tls;
  if (web != nullptr && web->tls) {
    absl::StatusOr<std::shared_ptr<ssl_ctx_st>> ctx =
        triage::server::NewServerTlsContext(*web->tls);
    if (!ctx.ok()) return Fail(2, ctx.status().message());
    tls.Set(*ctx);
  }
  std::unique_ptr<triage::server::PromSource> prom;
  if (!c.metrics_url.empty()) {
    absl::StatusOr<std::unique_ptr<triage::server::PromSource>> p =
        triage::server::PromSource::Create({.url = c.metrics_url,
                                            .http = c.metrics_client,
                                            .min_step_ms = c.metrics_step_ms,
                                            .max_points = 11'000},
                                           **store, metrics);
    if (!p.ok()) return Fail(2, "--metrics-*: " + std::string(p.status().message()));
    prom = std::move(*p);
    std::cerr << "triaged: series and histograms from " << prom->Name() << "\n";
  }
  auto core = triage::server::Core::Create(**store, clock, metrics,
                                           {.tree_path = c.tree,
                                            .max_body_bytes = c.max_body_bytes,
                                            .max_bundle_bytes = c.max_bundle_bytes,
                                            .limits = c.limits,
                                            .metric_source = prom.get(),
                                            .feature_source = prom.get(),
                                            .max_metric_queries = c.metrics_max_queries,
                                            .max_known_series = c.max_series,
                                            .change_sources = c.change_sources,
                                            .roster = c.roster});
  if (!core.ok()) return Fail(2, core.status().message());
  std::unique_ptr<triage::server::GrafanaSink> grafana;
  if (!c.grafana.url.empty()) {
    absl::StatusOr<std::unique_ptr<triage::server::GrafanaSink>> g =
        triage::server::GrafanaSink::Create(**store, clock, metrics, c.grafana);
    if (!g.ok()) return Fail(2, "--grafana-*: " + std::string(g.status().message()));
    grafana = std::move(*g);
    (*core)->SetChangeListener([&grafana](const std::vector<triage::v1::Change>& changes) {
      for (const triage::v1::Change& change : changes) {
        // Logged and counted by the queue; the change itself is stored.
        (void)grafana->Annotate(change);
      }
    });
    grafana->Start();
  }

  triage::server::IngestServiceImpl ingest(**core, guard);
  triage::server::TriageServiceImpl triage_service(**core, guard);
  triage::server::OverlayServiceImpl overlay(**core, guard);
  triage::server::RulesServiceImpl rules(**core, guard);
  triage::server::Drills drills(**store, **core, clock, metrics,
                                {.dir = c.data_dir + "/drills",
                                 .max_drills = c.max_drills,
                                 .retention_ms = c.drill_retention_ms});
  if (absl::Status s = drills.Prune(); !s.ok()) return Fail(1, s.message());
  triage::server::DrillServiceImpl drill_service(drills, guard);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(c.grpc_addr, GrpcCredentials(web.get()), &grpc_port);
  const int max_message =
      static_cast<int>(std::min<size_t>(c.max_body_bytes + (1 << 20), INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.RegisterService(&ingest);
  builder.RegisterService(&triage_service);
  builder.RegisterService(&overlay);
  builder.RegisterService(&rules);
  builder.RegisterService(&drill_service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    return Fail(1, absl::StrFormat("cannot listen for gRPC on %s", c.grpc_addr));
  }
  // The gateway's channel takes what the server takes and what it sends
  // (pages stop at 16 MiB, well under this).
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  channel_args.SetMaxSendMessageSize(max_message);
  triage::server::ConnectGateway gateway(grpc_server->InProcessChannel(channel_args),
                                         guard.gateway_secret(), c.max_body_bytes, c.max_call_ms);
  triage::server::AlertOptions alert_options{.service_label = c.service_label,
                                             .metric_label = c.metric_label,
                                             .metric_annotation = c.metric_annotation,
                                             .alertmanager_url = c.alertmanager_url,
                                             .alertmanager_client = c.alertmanager_client,
                                             .sink = {.resend_ms = c.resend_ms}};
  // The page URL needs the HTTP port; the router is built once it is known.
  if (!c.alertmanager_url.empty()) {
    absl::StatusOr<std::unique_ptr<triage::server::HttpClient>> probe =
        triage::server::HttpClient::Create(c.alertmanager_client);
    if (!probe.ok()) return Fail(2, "--alertmanager-*: " + std::string(probe.status().message()));
  }
  std::unique_ptr<triage::server::AlertRouter> router;
  triage::server::HttpServerOptions http_server = c.http;
  if (web != nullptr && web->tls) http_server.tls = [&tls] { return tls.Get(); };
  auto http = triage::server::TriageHttp::Start({.server = http_server,
                                                 .web_root = c.web_root,
                                                 .max_body_bytes = c.max_body_bytes,
                                                 .max_bundle_bytes = c.max_bundle_bytes,
                                                 .cors_origins = c.cors_origins,
                                                 .github_secret = c.github_secret},
                                                **core, gateway, auth, registry, metrics);
  if (!http.ok()) {
    grpc_server->Shutdown();
    return Fail(1, http.status().message());
  }
  if (!WritePorts(c.data_dir, grpc_port, (*http)->port())) {
    return Fail(1, absl::StrFormat("cannot write %s/ports.json", c.data_dir));
  }
  alert_options.sink.page_url =
      c.page_url.empty()
          ? absl::StrFormat("%s://127.0.0.1:%d/", web != nullptr && web->tls ? "https" : "http",
                            (*http)->port())
          : c.page_url;
  router =
      std::make_unique<triage::server::AlertRouter>(**store, **core, clock, metrics, alert_options);
  router->Start();
  auto drift_gauges = std::make_unique<triage::server::Periodic>(
      c.kl_refresh_ms, [&] { (*core)->RefreshDriftGauges(); });
  (*http)->SetAlertRouter(router.get());
  (*http)->SetReady(true);
  std::cerr << absl::StrFormat(
      "triaged: serving gRPC on port %d, HTTP on port %d, store %s/store\n", grpc_port,
      (*http)->port(), c.data_dir);

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    // Re-read the web config: users, roles, tokens and the HTTP port's
    // certificate change for new requests and connections; none is dropped.
    if (c.web_config_file.empty()) continue;
    absl::StatusOr<triage::server::WebConfig> loaded =
        triage::server::LoadWebConfig(c.web_config_file);
    absl::StatusOr<std::shared_ptr<ssl_ctx_st>> ctx =
        loaded.ok() && loaded->tls ? triage::server::NewServerTlsContext(*loaded->tls)
                                   : absl::StatusOr<std::shared_ptr<ssl_ctx_st>>(nullptr);
    if (!loaded.ok() || !ctx.ok()) {
      metrics.web_config_reload_success.Set(0);
      std::cerr << "triaged: SIGHUP: keeping the web config in force: "
                << (!loaded.ok() ? loaded.status().message() : ctx.status().message()) << "\n";
      continue;
    }
    if (loaded->tls.has_value() != (web != nullptr && web->tls.has_value())) {
      std::cerr << "triaged: SIGHUP: turning TLS on or off needs a restart\n";
    } else if (*ctx != nullptr) {
      tls.Set(*ctx);
    }
    auth.Set(std::make_shared<const triage::server::WebConfig>(std::move(*loaded)));
    metrics.web_config_reload_success.Set(1);
    std::cerr << "triaged: SIGHUP: web config reloaded\n";
  }
  std::cerr << absl::StrFormat("triaged: %s, shutting down\n",
                               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*http)->SetReady(false);
  (*http)->Stop();  // Waits for HTTP requests in flight.
  router->Stop();
  if (grafana != nullptr) grafana->Stop();
  drift_gauges.reset();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc_server->Wait();
  http->reset();
  router.reset();
  store->reset();  // Flushes and closes RocksDB.
  std::cerr << "triaged: stopped\n";
  return 0;
}
