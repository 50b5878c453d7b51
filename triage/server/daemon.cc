#include "triage/server/daemon.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "triage/net/tls.h"

namespace triage::server {
namespace {

// Refusals of the configuration exit 2; everything else 1 (ExitCode).
absl::Status Refused(absl::string_view message) { return absl::InvalidArgumentError(message); }
absl::Status Failed(absl::string_view message) { return absl::InternalError(message); }

bool WritePorts(const std::string& dir, int grpc_port, int http_port) {
  std::string tmp = dir + "/ports.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrFormat("{\"grpc\": %d, \"http\": %d}\n", grpc_port, http_port);
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), (dir + "/ports.json").c_str()) == 0;
}

// gRPC's TLS: the certificate files are watched (re-read every 10 s), so a
// renewed certificate applies without a restart.
std::shared_ptr<grpc::ServerCredentials> GrpcCredentials(const auth::WebConfig* c) {
  if (c == nullptr || !c->tls) return grpc::InsecureServerCredentials();
  const net::TlsServerConfig& tls = *c->tls;
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

int ExitCode(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

void Daemon::TlsHolder::Set(std::shared_ptr<ssl_ctx_st> ctx) {
  absl::MutexLock lock(&mu_);
  ctx_ = std::move(ctx);
}

std::shared_ptr<ssl_ctx_st> Daemon::TlsHolder::Get() {
  absl::MutexLock lock(&mu_);
  return ctx_;
}

Daemon::Daemon(const DaemonConfig& config) : c_(config) {}

Daemon::~Daemon() { Stop(); }

absl::Status Daemon::Start() {
  if (absl::Status s = LoadWebConfig(); !s.ok()) return s;
  if (absl::Status s = OpenStore(); !s.ok()) return s;
  metrics_ = std::make_unique<Metrics>(registry_);
  metrics_->insecure_listen.Set(
      web_ == nullptr && (!IsLoopbackAddress(c_.grpc_addr) || !IsLoopbackAddress(c_.http_addr))
          ? 1
          : 0);
  metrics_->web_config_reload_success.Set(1);
  auth_ = std::make_unique<auth::Authenticator>(*clock_, *metrics_);
  auth_->Set(web_);
  guard_ = std::make_unique<auth::GrpcGuard>(*auth_, auth::RandomSecret());
  if (tls()) {
    absl::StatusOr<std::shared_ptr<ssl_ctx_st>> ctx = net::NewServerTlsContext(*web_->tls);
    if (!ctx.ok()) return Refused(ctx.status().message());
    tls_.Set(*ctx);
  }
  if (absl::Status s = StartCore(); !s.ok()) return s;
  if (absl::Status s = StartGrpc(); !s.ok()) return s;
  if (absl::Status s = StartHttp(); !s.ok()) return s;
  std::cerr << absl::StrFormat(
      "triaged: serving gRPC on port %d, HTTP on port %d, store %s/store\n", grpc_port_,
      http_->port(), c_.data_dir);
  return absl::OkStatus();
}

// Safe by default: without a web config, loopback only.
absl::Status Daemon::LoadWebConfig() {
  if (!c_.web_config_file.empty()) {
    absl::StatusOr<auth::WebConfig> loaded = auth::LoadWebConfig(c_.web_config_file);
    if (!loaded.ok()) return Refused(loaded.status().message());
    for (const std::string& w : loaded->warnings) std::cerr << "triaged: web config: " << w << "\n";
    web_ = std::make_shared<const auth::WebConfig>(std::move(*loaded));
    return absl::OkStatus();
  }
  for (const std::string& addr : {c_.grpc_addr, c_.http_addr}) {
    if (IsLoopbackAddress(addr)) continue;
    if (!c_.insecure_listen_any) {
      return Refused(
          absl::StrFormat("refusing to serve %s without --web-config-file (TLS and credentials); "
                          "--insecure-listen-any overrides",
                          addr));
    }
    std::cerr << "triaged: WARNING: serving " << addr
              << " without TLS or authentication (--insecure-listen-any)\n";
  }
  return absl::OkStatus();
}

absl::Status Daemon::OpenStore() {
  std::error_code ec;
  std::filesystem::create_directories(c_.data_dir, ec);
  if (ec) return Failed(absl::StrFormat("cannot create %s: %s", c_.data_dir, ec.message()));
  if (!c_.fake_clock_file.empty()) {
    file_clock_ = std::make_unique<FileClock>(c_.fake_clock_file);
    clock_ = file_clock_.get();
    std::cerr << "triaged: the clock reads " << c_.fake_clock_file << " (tests only)\n";
  }
  absl::StatusOr<std::unique_ptr<store::Store>> store =
      store::Store::Open({.path = c_.data_dir + "/store",
                          .sync = c_.sync,
                          .retention_ms = c_.retention_ms,
                          .clock = clock_,
                          .min_free_bytes = c_.min_free_disk_bytes,
                          .max_wal_bytes = c_.max_wal_bytes,
                          .max_series = c_.max_series,
                          .head_max_samples = c_.head_max_samples});
  if (!store.ok()) return Failed(store.status().message());
  store_ = std::move(*store);
  return absl::OkStatus();
}

// The metrics source, Core, Grafana's annotations and the drills.
absl::Status Daemon::StartCore() {
  if (!c_.metrics_url.empty()) {
    absl::StatusOr<std::unique_ptr<sources::PromSource>> p =
        sources::PromSource::Create({.url = c_.metrics_url,
                                     .http = c_.metrics_client,
                                     .min_step_ms = c_.metrics_step_ms,
                                     .max_points = 11'000},
                                    *store_, *metrics_);
    if (!p.ok()) return Refused("--metrics-*: " + std::string(p.status().message()));
    prom_ = std::move(*p);
    std::cerr << "triaged: series and histograms from " << prom_->Name() << "\n";
  }
  absl::StatusOr<std::unique_ptr<core::Core>> core =
      core::Core::Create(*store_, *clock_, *metrics_,
                         {.tree_path = c_.tree,
                          .max_body_bytes = c_.max_body_bytes,
                          .max_bundle_bytes = c_.max_bundle_bytes,
                          .limits = c_.limits,
                          .metric_source = prom_.get(),
                          .feature_source = prom_.get(),
                          .max_metric_queries = c_.metrics_max_queries,
                          .max_known_series = c_.max_series,
                          .change_sources = c_.change_sources,
                          .roster = c_.roster});
  if (!core.ok()) return Refused(core.status().message());
  core_ = std::move(*core);
  // A write of records (a late change, a peer's repair) walks open incidents again.
  core_->SetRecordsListener([this](int64_t from_ms, int64_t to_ms) {
    if (core::AlertRouter* router = live_router_.load()) router->Rewalk(from_ms, to_ms);
  });
  if (absl::Status s = CreateReplicas(); !s.ok()) return s;
  if (!c_.grafana.url.empty()) {
    sinks::GrafanaOptions grafana = c_.grafana;
    if (replicas_ != nullptr) grafana.writes = [this] { return replicas_->WritesAnnotations(); };
    absl::StatusOr<std::unique_ptr<sinks::GrafanaSink>> g =
        sinks::GrafanaSink::Create(*store_, *clock_, *metrics_, std::move(grafana));
    if (!g.ok()) return Refused("--grafana-*: " + std::string(g.status().message()));
    grafana_ = std::move(*g);
    core_->SetChangeListener([this](const std::vector<v1::Change>& changes) {
      for (const v1::Change& change : changes) {
        // Logged and counted by the queue; the change itself is stored.
        (void)grafana_->Annotate(change);
      }
    });
    grafana_->Start();
  }
  drills_ =
      std::make_unique<core::Drills>(*store_, *core_, *clock_, *metrics_,
                                     core::DrillOptions{.dir = c_.data_dir + "/drills",
                                                        .max_drills = c_.max_drills,
                                                        .retention_ms = c_.drill_retention_ms});
  if (absl::Status s = drills_->Prune(); !s.ok()) return Failed(s.message());
  if (replicas_ != nullptr) {
    replicas_->SetDrills(drills_.get());
    // The latest tree a replica installed, also before this restart.
    if (absl::Status s = core_->InstallLatestTreeEvent(); !s.ok()) return Failed(s.message());
  }
  return absl::OkStatus();
}

// With --peer: the pullers (started once alert routing is) and the log they serve.
absl::Status Daemon::CreateReplicas() {
  if (c_.peers.empty()) return absl::OkStatus();
  peers::ReplicaOptions options{.peers = c_.peers,
                                .position = c_.peer_position,
                                .timeout_ms = c_.peer_timeout_ms,
                                .interval_ms = c_.peer_repair_interval_ms};
  if (tls()) {
    options.cert_file = web_->tls->cert_file;
    options.key_file = web_->tls->key_file;
    options.ca_file = web_->tls->client_ca_file;
  }
  absl::StatusOr<std::unique_ptr<peers::Replicas>> r =
      peers::Replicas::Create(std::move(options), *store_, *core_, registry_);
  if (!r.ok()) return Refused(r.status().message());
  replicas_ = std::move(*r);
  std::cerr << absl::StrFormat("triaged: replica at position %d of %d peers\n", c_.peer_position,
                               c_.peers.size());
  return absl::OkStatus();
}

absl::Status Daemon::StartGrpc() {
  ingest_service_ = std::make_unique<api::IngestServiceImpl>(*core_, *guard_);
  triage_service_ = std::make_unique<api::TriageServiceImpl>(*core_, *guard_);
  overlay_service_ = std::make_unique<api::OverlayServiceImpl>(*core_, *guard_);
  rules_service_ = std::make_unique<api::RulesServiceImpl>(*core_, *guard_);
  drill_service_ = std::make_unique<api::DrillServiceImpl>(*drills_, *guard_);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(c_.grpc_addr, GrpcCredentials(web_.get()), &grpc_port_);
  max_message_ = static_cast<int>(std::min<size_t>(c_.max_body_bytes + (1 << 20), INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message_);
  builder.RegisterService(ingest_service_.get());
  builder.RegisterService(triage_service_.get());
  builder.RegisterService(overlay_service_.get());
  builder.RegisterService(rules_service_.get());
  builder.RegisterService(drill_service_.get());
  if (replicas_ != nullptr) {
    peer_service_ = std::make_unique<peers::PeerServiceImpl>(*store_, *guard_, c_.peer_position);
    builder.RegisterService(peer_service_.get());
  }
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    return Failed(absl::StrFormat("cannot listen for gRPC on %s", c_.grpc_addr));
  }
  // The gateway's channel takes what the server takes and what it sends
  // (pages stop at 16 MiB, well under this).
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  channel_args.SetMaxSendMessageSize(max_message_);
  gateway_ = std::make_unique<api::ConnectGateway>(grpc_server_->InProcessChannel(channel_args),
                                                   guard_->gateway_secret(), c_.max_body_bytes,
                                                   c_.max_call_ms);
  return absl::OkStatus();
}

// The HTTP port, then alert routing (its links name the HTTP port).
absl::Status Daemon::StartHttp() {
  if (!c_.alertmanager_urls.empty()) {
    absl::StatusOr<std::unique_ptr<net::HttpClient>> probe =
        net::HttpClient::Create(c_.alertmanager_client);
    if (!probe.ok()) return Refused("--alertmanager-*: " + std::string(probe.status().message()));
  }
  net::HttpServerOptions http_server = c_.http;
  if (tls()) http_server.tls = [this] { return tls_.Get(); };
  absl::StatusOr<std::unique_ptr<api::TriageHttp>> http =
      api::TriageHttp::Start({.server = http_server,
                              .web_root = c_.web_root,
                              .max_body_bytes = c_.max_body_bytes,
                              .max_bundle_bytes = c_.max_bundle_bytes,
                              .cors_origins = c_.cors_origins,
                              .github_secret = c_.github_secret},
                             *core_, *gateway_, *auth_, registry_, *metrics_);
  if (!http.ok()) return Failed(http.status().message());
  http_ = std::move(*http);
  if (!WritePorts(c_.data_dir, grpc_port_, http_->port())) {
    return Failed(absl::StrFormat("cannot write %s/ports.json", c_.data_dir));
  }
  core::AlertOptions alert_options{.service_label = c_.service_label,
                                   .metric_label = c_.metric_label,
                                   .metric_annotation = c_.metric_annotation,
                                   .alertmanager_urls = c_.alertmanager_urls,
                                   .alertmanager_client = c_.alertmanager_client,
                                   .sink = {.resend_ms = c_.resend_ms},
                                   .resolve_missing_after_ms = c_.resolve_missing_after_ms};
  alert_options.sink.page_url =
      c_.page_url.empty()
          ? absl::StrFormat("%s://127.0.0.1:%d/", tls() ? "https" : "http", http_->port())
          : c_.page_url;
  router_ = std::make_unique<core::AlertRouter>(*store_, *core_, *clock_, *metrics_, alert_options);
  router_->Start();
  live_router_ = router_.get();
  if (replicas_ != nullptr) {
    replicas_->SetRouter(router_.get());
    replicas_->Start();
  }
  drift_gauges_ =
      std::make_unique<Periodic>(c_.kl_refresh_ms, [this] { core_->RefreshDriftGauges(); });
  http_->SetAlertRouter(router_.get());
  http_->SetReady(true);
  return absl::OkStatus();
}

void Daemon::ReloadWebConfig() {
  if (c_.web_config_file.empty()) return;
  absl::StatusOr<auth::WebConfig> loaded = auth::LoadWebConfig(c_.web_config_file);
  absl::StatusOr<std::shared_ptr<ssl_ctx_st>> ctx =
      loaded.ok() && loaded->tls ? net::NewServerTlsContext(*loaded->tls)
                                 : absl::StatusOr<std::shared_ptr<ssl_ctx_st>>(nullptr);
  if (!loaded.ok() || !ctx.ok()) {
    metrics_->web_config_reload_success.Set(0);
    std::cerr << "triaged: SIGHUP: keeping the web config in force: "
              << (!loaded.ok() ? loaded.status().message() : ctx.status().message()) << "\n";
    return;
  }
  if (loaded->tls.has_value() != tls()) {
    std::cerr << "triaged: SIGHUP: turning TLS on or off needs a restart\n";
  } else if (*ctx != nullptr) {
    tls_.Set(*ctx);
  }
  auth_->Set(std::make_shared<const auth::WebConfig>(std::move(*loaded)));
  metrics_->web_config_reload_success.Set(1);
  std::cerr << "triaged: SIGHUP: web config reloaded\n";
}

void Daemon::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (http_ != nullptr) {
    http_->SetReady(false);
    http_->Stop();  // Waits for HTTP requests in flight.
  }
  if (replicas_ != nullptr) replicas_->Stop();
  live_router_ = nullptr;
  if (router_ != nullptr) router_->Stop();
  if (grafana_ != nullptr) grafana_->Stop();
  drift_gauges_.reset();
  if (grpc_server_ != nullptr) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc_server_->Wait();
  }
  http_.reset();
  replicas_.reset();
  router_.reset();
  store_.reset();  // Flushes and closes RocksDB.
}

}  // namespace triage::server
