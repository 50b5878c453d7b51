// triaged: the always-on triage daemon. Wires the store, the engine (Core),
// the gRPC services and the HTTP endpoints together; see --help.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

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
#include "triage/base/time.h"
#include "triage/server/core.h"
#include "triage/server/drills.h"
#include "triage/server/gateway.h"
#include "triage/server/http.h"
#include "triage/server/metrics.h"
#include "triage/server/services.h"
#include "triage/store/store.h"

namespace {

constexpr char kUsage[] = R"(usage: triaged [flags]
  --data-dir DIR          store directory (default ./data)
  --grpc-addr HOST:PORT   gRPC listen address (default 127.0.0.1:7070; port 0 picks one)
  --http-addr HOST:PORT   HTTP listen address (default 127.0.0.1:7080; port 0 picks one)
  --tree FILE             triage tree file (default: the built-in default tree)
  --retention DURATION    drop time-stamped records older than this (default 35d)
  --web-root DIR          files served at GET / (default: the source tree's web/)
  --max-body-bytes N      largest accepted request body (default 16777216)
  --sync                  fsync the WAL before acknowledging each write
  --alertmanager-url URL  send enriched alerts to URL/api/v2/alerts (default: off)
  --service-label NAME    alert label giving the service (default service)
  --metric-label NAME     alert label giving the metric (default metric) ...
  --metric-annotation NAME  ... else this annotation (default metric)
  --page-url URL          base of the page links in enriched alerts (default http://HTTP_ADDR/)
  --resend-interval DUR   re-send enriched alerts of firing incidents (default 1m)
  --kl-refresh DUR        refresh triage_feature_kl gauges (default 1m)
The bound ports are logged and written to DATA_DIR/ports.json.
SIGTERM/SIGINT: stop accepting, finish requests in flight, close the store, exit 0.
)";

struct Flags {
  std::string data_dir = "./data";
  std::string grpc_addr = "127.0.0.1:7070";
  std::string http_addr = "127.0.0.1:7080";
  std::string tree;
  std::string retention = "35d";
  std::string web_root = TRIAGE_WEB_ROOT;
  size_t max_body_bytes = 16 << 20;
  bool sync = false;
  std::string alertmanager_url;
  std::string service_label = "service";
  std::string metric_label = "metric";
  std::string metric_annotation = "metric";
  std::string page_url;
  std::string resend_interval = "1m";
  std::string kl_refresh = "1m";
};

bool ParseFlags(int argc, char** argv, Flags* f, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], value;
    if (a == "--sync") {
      f->sync = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *error = a + " needs a value";
      return false;
    }
    if (a == "--data-dir")
      f->data_dir = value;
    else if (a == "--grpc-addr")
      f->grpc_addr = value;
    else if (a == "--http-addr")
      f->http_addr = value;
    else if (a == "--tree")
      f->tree = value;
    else if (a == "--retention")
      f->retention = value;
    else if (a == "--web-root")
      f->web_root = value;
    else if (a == "--alertmanager-url")
      f->alertmanager_url = value;
    else if (a == "--service-label")
      f->service_label = value;
    else if (a == "--metric-label")
      f->metric_label = value;
    else if (a == "--metric-annotation")
      f->metric_annotation = value;
    else if (a == "--page-url")
      f->page_url = value;
    else if (a == "--resend-interval")
      f->resend_interval = value;
    else if (a == "--kl-refresh")
      f->kl_refresh = value;
    else if (a == "--max-body-bytes") {
      char* end = nullptr;
      unsigned long long n = std::strtoull(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n == 0) {
        *error = "--max-body-bytes needs a positive number";
        return false;
      }
      f->max_body_bytes = static_cast<size_t>(n);
    } else {
      *error = "unknown flag " + a;
      return false;
    }
  }
  return true;
}

bool WritePorts(const std::string& dir, int grpc_port, int http_port) {
  std::string tmp = dir + "/ports.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrFormat("{\"grpc\": %d, \"http\": %d}\n", grpc_port, http_port);
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), (dir + "/ports.json").c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::string error;
  if (!ParseFlags(argc, argv, &flags, &error)) {
    std::cerr << "triaged: " << error << "\n\n" << kUsage;
    return 2;
  }
  absl::StatusOr<int64_t> retention = triage::ParseDurationMs(flags.retention);
  if (!retention.ok()) {
    std::cerr << "triaged: --retention: " << retention.status().message() << "\n";
    return 2;
  }
  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(flags.data_dir, ec);
  triage::SystemClock clock;
  auto store = triage::store::Store::Open({.path = flags.data_dir + "/store",
                                           .sync = flags.sync,
                                           .retention_ms = *retention,
                                           .clock = &clock});
  if (!store.ok()) {
    std::cerr << "triaged: " << store.status().message() << "\n";
    return 1;
  }
  prometheus::Registry registry;
  triage::server::Metrics metrics(registry);
  auto core = triage::server::Core::Create(
      **store, clock, metrics, {.tree_path = flags.tree, .max_body_bytes = flags.max_body_bytes});
  if (!core.ok()) {
    std::cerr << "triaged: " << core.status().message() << "\n";
    return 2;
  }

  triage::server::IngestServiceImpl ingest(**core);
  triage::server::TriageServiceImpl triage_service(**core);
  triage::server::OverlayServiceImpl overlay(**core);
  triage::server::RulesServiceImpl rules(**core);
  triage::server::Drills drills(**store, **core, clock, flags.data_dir + "/drills");
  triage::server::DrillServiceImpl drill_service(drills);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(flags.grpc_addr, grpc::InsecureServerCredentials(), &grpc_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(flags.max_body_bytes) + (1 << 20));
  builder.RegisterService(&ingest);
  builder.RegisterService(&triage_service);
  builder.RegisterService(&overlay);
  builder.RegisterService(&rules);
  builder.RegisterService(&drill_service);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    std::cerr << "triaged: cannot listen for gRPC on " << flags.grpc_addr << "\n";
    return 1;
  }
  triage::server::ConnectGateway gateway(grpc_server->InProcessChannel(grpc::ChannelArguments()));
  absl::StatusOr<int64_t> resend = triage::ParseDurationMs(flags.resend_interval);
  absl::StatusOr<int64_t> kl_refresh = triage::ParseDurationMs(flags.kl_refresh);
  if (!resend.ok() || !kl_refresh.ok() || *resend <= 0 || *kl_refresh <= 0) {
    std::cerr << "triaged: --resend-interval and --kl-refresh need durations like 1m\n";
    return 2;
  }
  triage::server::AlertOptions alert_options{.service_label = flags.service_label,
                                             .metric_label = flags.metric_label,
                                             .metric_annotation = flags.metric_annotation,
                                             .alertmanager_url = flags.alertmanager_url,
                                             .resend_ms = *resend,
                                             .kl_refresh_ms = *kl_refresh};
  // The page URL needs the HTTP port; the router is built once it is known.
  std::unique_ptr<triage::server::AlertRouter> router;
  auto http = triage::server::HttpServer::Start(
      {.addr = flags.http_addr, .web_root = flags.web_root, .max_body_bytes = flags.max_body_bytes},
      **core, gateway, registry, metrics);
  if (!http.ok()) {
    std::cerr << "triaged: " << http.status().message() << "\n";
    grpc_server->Shutdown();
    return 1;
  }
  if (!WritePorts(flags.data_dir, grpc_port, (*http)->port())) {
    std::cerr << "triaged: cannot write " << flags.data_dir << "/ports.json\n";
    return 1;
  }
  alert_options.page_url = flags.page_url.empty()
                               ? absl::StrFormat("http://127.0.0.1:%d/", (*http)->port())
                               : flags.page_url;
  router =
      std::make_unique<triage::server::AlertRouter>(**store, **core, clock, metrics, alert_options);
  router->Start();
  (*http)->SetAlertRouter(router.get());
  (*http)->SetReady(true);
  std::cerr << absl::StrFormat(
      "triaged: serving gRPC on port %d, HTTP on port %d, store %s/store\n", grpc_port,
      (*http)->port(), flags.data_dir);

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
