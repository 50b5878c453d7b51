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
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "prometheus/registry.h"
#include "triage/base/clock.h"
#include "triage/server/core.h"
#include "triage/server/drills.h"
#include "triage/server/flags.h"
#include "triage/server/gateway.h"
#include "triage/server/http.h"
#include "triage/server/metrics.h"
#include "triage/server/services.h"
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
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return Fail(1, absl::StrFormat("cannot create %s: %s", c.data_dir, ec.message()));
  triage::SystemClock clock;
  auto store = triage::store::Store::Open({.path = c.data_dir + "/store",
                                           .sync = c.sync,
                                           .retention_ms = c.retention_ms,
                                           .clock = &clock,
                                           .min_free_bytes = c.min_free_disk_bytes,
                                           .max_wal_bytes = c.max_wal_bytes,
                                           .max_series = c.max_series});
  if (!store.ok()) return Fail(1, store.status().message());
  prometheus::Registry registry;
  triage::server::Metrics metrics(registry);
  auto core = triage::server::Core::Create(**store, clock, metrics,
                                           {.tree_path = c.tree,
                                            .max_body_bytes = c.max_body_bytes,
                                            .limits = c.limits});
  if (!core.ok()) return Fail(2, core.status().message());

  triage::server::IngestServiceImpl ingest(**core);
  triage::server::TriageServiceImpl triage_service(**core);
  triage::server::OverlayServiceImpl overlay(**core);
  triage::server::RulesServiceImpl rules(**core);
  triage::server::Drills drills(**store, **core, clock, metrics,
                                {.dir = c.data_dir + "/drills",
                                 .max_drills = c.max_drills,
                                 .retention_ms = c.drill_retention_ms});
  if (absl::Status s = drills.Prune(); !s.ok()) return Fail(1, s.message());
  triage::server::DrillServiceImpl drill_service(drills);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(c.grpc_addr, grpc::InsecureServerCredentials(), &grpc_port);
  const int max_message = static_cast<int>(std::min<size_t>(c.max_body_bytes + (1 << 20), INT32_MAX));
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
  triage::server::ConnectGateway gateway(grpc_server->InProcessChannel(channel_args));
  triage::server::AlertOptions alert_options{.service_label = c.service_label,
                                             .metric_label = c.metric_label,
                                             .metric_annotation = c.metric_annotation,
                                             .alertmanager_url = c.alertmanager_url,
                                             .resend_ms = c.resend_ms,
                                             .kl_refresh_ms = c.kl_refresh_ms};
  // The page URL needs the HTTP port; the router is built once it is known.
  std::unique_ptr<triage::server::AlertRouter> router;
  auto http = triage::server::TriageHttp::Start(
      {.server = c.http, .web_root = c.web_root, .max_body_bytes = c.max_body_bytes}, **core,
      gateway, registry, metrics);
  if (!http.ok()) {
    grpc_server->Shutdown();
    return Fail(1, http.status().message());
  }
  if (!WritePorts(c.data_dir, grpc_port, (*http)->port())) {
    return Fail(1, absl::StrFormat("cannot write %s/ports.json", c.data_dir));
  }
  alert_options.page_url = c.page_url.empty()
                               ? absl::StrFormat("http://127.0.0.1:%d/", (*http)->port())
                               : c.page_url;
  router =
      std::make_unique<triage::server::AlertRouter>(**store, **core, clock, metrics, alert_options);
  router->Start();
  (*http)->SetAlertRouter(router.get());
  (*http)->SetReady(true);
  std::cerr << absl::StrFormat(
      "triaged: serving gRPC on port %d, HTTP on port %d, store %s/store\n", grpc_port,
      (*http)->port(), c.data_dir);

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << absl::StrFormat("triaged: %s, shutting down\n",
                               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*http)->SetReady(false);
  (*http)->Stop();  // Waits for HTTP requests in flight.
  router->Stop();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc_server->Wait();
  http->reset();
  router.reset();
  store->reset();  // Flushes and closes RocksDB.
  std::cerr << "triaged: stopped\n";
  return 0;
}
