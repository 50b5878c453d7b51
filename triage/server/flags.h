// triaged's command line: every flag is an absl flag defined in flags.cc
// (so `triaged --help` lists each with its default), spelled with dashes on
// the command line (--data-dir; --data_dir works too). ParseDaemonFlags
// checks and converts them into one DaemonConfig that main() wires from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collectors/change_sources.h"
#include "collectors/validate.h"
#include "triage/sinks/grafana_sink.h"
#include "triage/net/http_client.h"
#include "triage/net/http_server.h"

namespace triage::server {

struct DaemonConfig {
  std::string data_dir;
  std::string grpc_addr;
  std::string http_addr;
  std::string tree;
  int64_t retention_ms = 0;
  std::string web_root;
  size_t max_body_bytes = 0;
  uint64_t max_bundle_bytes = 0;
  bool sync = false;
  // Alert routing.
  std::vector<std::string> alertmanager_urls;  // Every Alertmanager of the cluster.
  std::string service_label, metric_label, metric_annotation;
  std::string page_url;
  int64_t resend_ms = 0;
  int64_t resolve_missing_after_ms = 0;  // 0: never.
  int64_t kl_refresh_ms = 0;
  int64_t max_call_ms = 0;
  // Limits and faults.
  collectors::Limits limits;
  uint64_t max_series = 0;
  uint64_t head_max_samples = 1 << 20;
  uint64_t min_free_disk_bytes = 0;
  uint64_t max_wal_bytes = 0;
  size_t max_drills = 0;
  int64_t drill_retention_ms = 0;
  net::HttpServerOptions http;  // addr filled from http_addr.
  // Who may do what.
  std::string web_config_file;
  bool insecure_listen_any = false;
  std::vector<std::string> cors_origins;
  net::HttpClientOptions alertmanager_client;  // Files read: credentials, not paths.
  // Metrics from a Prometheus-compatible query API (empty url: the store).
  std::string metrics_url;
  net::HttpClientOptions metrics_client;  // Credentials read, headers, timeout.
  int64_t metrics_step_ms = 60'000;
  int32_t metrics_max_queries = 64;
  // Change events from other systems, and markers out to Grafana.
  collectors::ChangeSources change_sources;
  std::vector<std::string> roster;  // Who should walk a drill each quarter.
  std::string fake_clock_file;      // Tests only.
  std::string github_secret;  // Read from the file.
  sinks::GrafanaOptions grafana;     // Empty url: off; the token read from its file.
  // Replicas (none: a single triaged).
  std::vector<std::string> peers;
  int peer_position = 0;
  int64_t peer_timeout_ms = 15'000;
  int64_t peer_repair_interval_ms = 1'000;
};

// True for 127.0.0.0/8, ::1 and localhost (HOST of HOST:PORT).
bool IsLoopbackAddress(const std::string& addr);

// Parses argv (printing usage and exiting 0 for --help); InvalidArgument
// names the bad flag.
absl::StatusOr<DaemonConfig> ParseDaemonFlags(int argc, char** argv);

}  // namespace triage::server
