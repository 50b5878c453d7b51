// Daemon: triaged's rooms wired together in the order they depend on each
// other (web config, store, metrics source, Core and its sinks, the gRPC
// services, the HTTP port, alert routing), reloaded on SIGHUP and stopped in
// reverse. main() parses the flags, blocks the signals and runs it.
//
//   Daemon daemon(config);
//   if (absl::Status s = daemon.Start(); !s.ok()) exit(ExitCode(s));
//   daemon.ReloadWebConfig();  // On SIGHUP.
//   daemon.Stop();             // On SIGTERM.
//
// Not thread-safe: one thread starts, reloads and stops it. Keeps a
// reference to the config, which must outlive it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server.h"
#include "prometheus/registry.h"
#include "triage/api/gateway.h"
#include "triage/api/http.h"
#include "triage/api/services.h"
#include "triage/auth/auth.h"
#include "triage/auth/web_config.h"
#include "triage/base/clock.h"
#include "triage/base/file_clock.h"
#include "triage/base/metrics.h"
#include "triage/base/periodic.h"
#include "triage/core/alerts.h"
#include "triage/core/core.h"
#include "triage/core/drills.h"
#include "triage/peers/peer_service.h"
#include "triage/peers/replicas.h"
#include "triage/server/flags.h"
#include "triage/sinks/grafana_sink.h"
#include "triage/sources/prom_source.h"
#include "triage/store/store.h"

namespace triage::server {

// The exit code for a failed Start: 2 for a configuration the daemon
// refuses (InvalidArgument), 1 for anything else (a port, the disk).
int ExitCode(const absl::Status& s);

class Daemon {
 public:
  explicit Daemon(const DaemonConfig& config);
  ~Daemon();

  // Starts every part; on failure the message says what and the parts
  // already started are stopped by the destructor.
  absl::Status Start();
  // Re-reads the web config: users, roles, tokens and the HTTP port's
  // certificate change for new requests and connections; none is dropped. A
  // config that does not load keeps the one in force (logged,
  // triage_web_config_last_reload_successful 0).
  void ReloadWebConfig();
  // Stops taking requests, lets those in flight finish, flushes the store.
  void Stop();

 private:
  // The HTTP port's TLS context, swapped when the web config is re-read.
  class TlsHolder {
   public:
    void Set(std::shared_ptr<ssl_ctx_st> ctx);
    std::shared_ptr<ssl_ctx_st> Get();

   private:
    absl::Mutex mu_;
    std::shared_ptr<ssl_ctx_st> ctx_ ABSL_GUARDED_BY(mu_);
  };

  absl::Status LoadWebConfig();
  absl::Status OpenStore();
  absl::Status StartCore();
  absl::Status CreateReplicas();
  absl::Status StartGrpc();
  absl::Status StartHttp();
  bool tls() const { return web_ != nullptr && web_->tls.has_value(); }

  const DaemonConfig& c_;
  // Members in the order they are built: destroyed in reverse.
  std::shared_ptr<const auth::WebConfig> web_;  // Null: no web config.
  SystemClock system_clock_;
  std::unique_ptr<FileClock> file_clock_;  // --fake-clock-file (tests only).
  const Clock* clock_ = &system_clock_;
  std::unique_ptr<store::Store> store_;
  prometheus::Registry registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<auth::Authenticator> auth_;
  std::unique_ptr<auth::GrpcGuard> guard_;
  TlsHolder tls_;
  std::unique_ptr<sources::PromSource> prom_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<peers::Replicas> replicas_;  // Null without --peer.
  std::unique_ptr<sinks::GrafanaSink> grafana_;
  std::unique_ptr<core::Drills> drills_;
  std::unique_ptr<api::IngestServiceImpl> ingest_service_;
  std::unique_ptr<api::TriageServiceImpl> triage_service_;
  std::unique_ptr<api::OverlayServiceImpl> overlay_service_;
  std::unique_ptr<api::RulesServiceImpl> rules_service_;
  std::unique_ptr<api::DrillServiceImpl> drill_service_;
  std::unique_ptr<peers::PeerServiceImpl> peer_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int grpc_port_ = 0;
  int max_message_ = 0;
  std::unique_ptr<api::ConnectGateway> gateway_;
  std::unique_ptr<api::TriageHttp> http_;
  std::unique_ptr<core::AlertRouter> router_;
  std::atomic<core::AlertRouter*> live_router_{nullptr};  // While it runs (the records listener).
  std::unique_ptr<Periodic> drift_gauges_;
  bool stopped_ = false;
};

}  // namespace triage::server
