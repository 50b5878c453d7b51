#include "triage/server/flags.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "proto/model/time.h"

// Store and addresses.
ABSL_FLAG(std::string, data_dir, "./data", "store directory");
ABSL_FLAG(std::string, grpc_addr, "127.0.0.1:7070", "gRPC listen address (port 0 picks one)");
ABSL_FLAG(std::string, http_addr, "127.0.0.1:7080", "HTTP listen address (port 0 picks one)");
ABSL_FLAG(std::string, tree, "", "triage tree file (empty: the built-in default tree)");
ABSL_FLAG(std::string, retention, "35d", "drop time-stamped records older than this");
ABSL_FLAG(std::string, web_root, TRIAGE_WEB_ROOT, "files served at GET /");
ABSL_FLAG(bool, unsafe_no_sync, false,
          "acknowledge writes before the WAL is synced (faster; a power cut loses acknowledged "
          "writes, a crash of triaged does not)");
ABSL_FLAG(bool, sync, true, "deprecated: writes are synced unless --unsafe-no-sync");
// Alert routing.
ABSL_FLAG(std::string, alertmanager_url, "",
          "send enriched alerts to URL/api/v2/alerts (repeatable: to every Alertmanager of a "
          "cluster, as Prometheus does; empty: off)");
ABSL_FLAG(std::string, service_label, "service", "alert label giving the service");
ABSL_FLAG(std::string, metric_label, "metric", "alert label giving the metric ...");
ABSL_FLAG(std::string, metric_annotation, "metric", "... else this annotation");
ABSL_FLAG(std::string, page_url, "",
          "base of the page links in enriched alerts (empty: http://HTTP_ADDR/)");
ABSL_FLAG(std::string, resend_interval, "1m",
          "re-send enriched alerts of firing incidents this often");
ABSL_FLAG(
    std::string, resolve_missing_after, "5m",
    "resolve an open incident once Alertmanager has not listed its alerts as active for "
    "this long (a resolve muted by the fail-open inhibit rule reaches no webhook; 0s: never)");
ABSL_FLAG(std::string, kl_refresh, "1m", "refresh the triage_feature_kl gauges this often");
// What one client may send (rejected with 400 and counted in triage_limit_rejections_total).
ABSL_FLAG(uint64_t, max_body_bytes, 16 << 20,
          "largest accepted request body (decoded, for snappy)");
ABSL_FLAG(uint64_t, max_bundle_bytes, uint64_t{1} << 30,
          "largest bundle (POST /api/v1/bundle, IngestBundle), decompressed; it streams to disk "
          "and is ingested all or nothing");
ABSL_FLAG(uint64_t, max_labels_per_series, 30, "labels of one series, its metric name included");
ABSL_FLAG(uint64_t, max_label_name_length, 1024, "bytes of a label name");
ABSL_FLAG(uint64_t, max_label_value_length, 2048, "bytes of a label value");
ABSL_FLAG(uint64_t, max_depends_on, 1000, "entries of one dependency record");
ABSL_FLAG(uint64_t, max_text_bytes, 4096,
          "bytes of any free-text field (title, summary, url, ...)");
ABSL_FLAG(uint64_t, max_alerts, 100, "alerts of one incident or triage request");
ABSL_FLAG(std::string, fake_clock_file, "",
          "tests only: read the time from this file (Unix ms or RFC 3339) at every use");
ABSL_FLAG(std::vector<std::string>, roster, {},
          "the on-call rotation, comma-separated: who should walk a drill each quarter (beside "
          "the tree's settings.roster)");
ABSL_FLAG(uint64_t, max_change_events, 1000, "events of one CloudEvents batch");
ABSL_FLAG(uint64_t, max_series, 1'000'000,
          "distinct series stored; a new one past it is refused (400)");
ABSL_FLAG(uint64_t, head_max_samples, 1 << 20,
          "points of known series held in memory (and in the head_log) before they go into "
          "chunks at once; past twice that (flushes failing) writes take the chunk path");
// Faults survived.
ABSL_FLAG(uint64_t, min_free_disk_bytes, 64 << 20,
          "writes answer 507 while the store's disk has less free space than this (0: no check)");
ABSL_FLAG(uint64_t, max_wal_bytes, 64 << 20, "RocksDB WAL size at most (max_total_wal_size)");
ABSL_FLAG(uint64_t, max_drills, 200, "drill stores kept (the oldest are deleted)");
ABSL_FLAG(std::string, drill_retention, "90d", "drill stores older than this are deleted");
// The HTTP server.
ABSL_FLAG(uint64_t, http_max_connections, 10000, "open HTTP connections at most");
ABSL_FLAG(std::string, http_read_header_timeout, "10s",
          "from a request's first byte to its last header");
ABSL_FLAG(std::string, http_read_timeout, "60s", "to read a body (each piece of a streamed one)");
ABSL_FLAG(std::string, http_idle_timeout, "30s", "a kept-alive connection waiting for a request");
ABSL_FLAG(std::string, http_write_timeout, "30s", "to write a response");
ABSL_FLAG(int32_t, http_workers, 16, "HTTP requests handled at once");
ABSL_FLAG(uint64_t, http_max_queued, 1024, "HTTP requests waiting for a worker (503 past it)");
ABSL_FLAG(std::string, max_call_duration, "60s",
          "a Connect call's deadline at most (Connect-Timeout-Ms is clamped to it)");
// Replicas.
ABSL_FLAG(std::string, peer, "",
          "another replica's gRPC address (host:port on loopback, else https://host:port: mTLS "
          "with the web config's certificate and client CA); repeat for each peer");
ABSL_FLAG(int32_t, peer_position, 0,
          "this replica's position: 0 writes Grafana annotations, the next takes over once "
          "every lower one has been unreachable for --peer-timeout");
ABSL_FLAG(std::string, peer_timeout, "15s",
          "how long a lower-positioned peer may be unreachable before this one writes "
          "annotations");
ABSL_FLAG(std::string, peer_repair_interval, "1s", "how often each peer's log is pulled");
// Who may do what.
ABSL_FLAG(std::string, web_config_file, "",
          "Prometheus-style web config: TLS, basic_auth_users, and triage's user_roles, "
          "bearer_tokens, allowed_hosts (re-read on SIGHUP)");
ABSL_FLAG(bool, insecure_listen_any, false,
          "without a web config, serve addresses other than loopback anyway (insecure)");
ABSL_FLAG(std::vector<std::string>, cors_origin, {},
          "origins (scheme://host:port) a browser may call triaged from, comma-separated");
ABSL_FLAG(std::string, alertmanager_ca_file, "", "CA certificates for an https:// Alertmanager");
ABSL_FLAG(std::string, alertmanager_cert_file, "", "client certificate for Alertmanager");
ABSL_FLAG(std::string, alertmanager_key_file, "", "its key");
ABSL_FLAG(std::string, alertmanager_basic_auth_file, "",
          "a file holding user:password for Alertmanager");
ABSL_FLAG(std::string, alertmanager_bearer_token_file, "",
          "a file holding a bearer token for Alertmanager");
ABSL_FLAG(bool, alertmanager_insecure_skip_verify, false,
          "do not check Alertmanager's certificate (tests only)");

// Change events from other systems, and markers out to Grafana.
ABSL_FLAG(std::string, change_sources_file, "",
          "YAML mapping of CloudEvent types, AWS Health services and GitHub repositories to "
          "change kinds and services (check it with triagectl check change-sources)");
ABSL_FLAG(std::string, github_secret_file, "",
          "a file holding the GitHub webhook secret; /api/v1/github is off without it");
ABSL_FLAG(std::string, grafana_url, "",
          "post every new change as an annotation to URL/api/annotations (empty: off)");
ABSL_FLAG(std::string, grafana_token_file, "",
          "a file holding a Grafana service-account token (annotations:create)");
ABSL_FLAG(std::string, grafana_ca_file, "", "CA certificates for an https:// Grafana");
ABSL_FLAG(uint64_t, grafana_max_queue, 10'000,
          "annotations waiting for Grafana at most (the oldest are dropped past it)");

// Metrics read from a Prometheus-compatible query API.
ABSL_FLAG(std::string, metrics_url, "",
          "Prometheus HTTP API base (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics) to read "
          "series and histograms from; empty: the embedded store");
ABSL_FLAG(std::string, metrics_bearer_token_file, "", "a file holding a bearer token for it");
ABSL_FLAG(std::string, metrics_basic_auth_file, "", "a file holding user:password for it");
ABSL_FLAG(std::string, metrics_header, "",
          "NAME=VALUE sent with every query (repeatable; e.g. X-Scope-OrgID=team)");
ABSL_FLAG(std::string, metrics_ca_file, "", "CA certificates for an https:// metrics URL");
ABSL_FLAG(std::string, metrics_timeout, "10s", "one query to the metrics source at most");
ABSL_FLAG(std::string, metrics_step, "60s",
          "the finest query_range step (coarser to keep a series under 11,000 points)");
ABSL_FLAG(int32_t, metrics_max_queries_per_walk, 64, "series reads one walk may make");

namespace triage::server {

namespace {

constexpr char kIntro[] = R"(usage: triaged [--flag=value ...]

The always-on triage daemon: gRPC, HTTP (the page, the Connect JSON gateway,
remote_write, the Alertmanager webhook), an embedded RocksDB store.
The bound ports are logged and written to DATA_DIR/ports.json.
SIGTERM/SIGINT: stop accepting, finish requests in flight, close the store, exit 0.

flags (durations like 90s, 5m, 24h, 35d):
)";

// Our flags, in the order flags.cc defines them.
std::vector<absl::CommandLineFlag*> OwnFlags() {
  std::vector<absl::CommandLineFlag*> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename().find("triage/server/flags.cc") != std::string::npos) out.push_back(flag);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->Name() < b->Name(); });
  return out;
}

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

void PrintUsage() {
  std::cout << kIntro;
  for (absl::CommandLineFlag* f : OwnFlags()) {
    std::string def = f->DefaultValue();
    std::cout << absl::StrFormat("  --%-28s %s (default %s)\n", Dashed(f->Name()), f->Help(),
                                 def.empty() ? "\"\"" : def);
  }
}

// A secret from a file: its content without the trailing newline.
absl::StatusOr<std::string> Secret(const std::string& path, const char* flag) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("--%s: cannot read %s", flag, path));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

absl::StatusOr<int64_t> Duration(const absl::Flag<std::string>& flag, const char* name,
                                 bool positive = true);

absl::Status ChangeFlags(DaemonConfig* c) {
  if (std::string path = absl::GetFlag(FLAGS_change_sources_file); !path.empty()) {
    absl::StatusOr<collectors::ChangeSources> sources = collectors::LoadChangeSources(path);
    if (!sources.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--change-sources-file: ", sources.status().message()));
    }
    c->change_sources = std::move(*sources);
  }
  absl::StatusOr<std::string> secret =
      Secret(absl::GetFlag(FLAGS_github_secret_file), "github-secret-file");
  if (!secret.ok()) return secret.status();
  if (!absl::GetFlag(FLAGS_github_secret_file).empty() && secret->empty()) {
    return absl::InvalidArgumentError("--github-secret-file is empty");
  }
  c->github_secret = *secret;
  c->grafana.url = absl::GetFlag(FLAGS_grafana_url);
  c->grafana.max_queue = absl::GetFlag(FLAGS_grafana_max_queue);
  c->grafana.client.ca_file = absl::GetFlag(FLAGS_grafana_ca_file);
  if (!(secret = Secret(absl::GetFlag(FLAGS_grafana_token_file), "grafana-token-file")).ok()) {
    return secret.status();
  }
  c->grafana.client.bearer_token = *secret;
  if (!c->grafana.url.empty() && c->grafana.client.bearer_token.empty()) {
    return absl::InvalidArgumentError("--grafana-url needs --grafana-token-file");
  }
  if (c->grafana.max_queue == 0) {
    return absl::InvalidArgumentError("--grafana-max-queue must be positive");
  }
  return absl::OkStatus();
}

absl::Status MetricsSourceFlags(const std::vector<std::string>& headers, DaemonConfig* c) {
  c->metrics_url = absl::GetFlag(FLAGS_metrics_url);
  net::HttpClientOptions& m = c->metrics_client;
  m.ca_file = absl::GetFlag(FLAGS_metrics_ca_file);
  absl::StatusOr<std::string> secret =
      Secret(absl::GetFlag(FLAGS_metrics_basic_auth_file), "metrics-basic-auth-file");
  if (!secret.ok()) return secret.status();
  m.basic_auth = *secret;
  if (!m.basic_auth.empty() && m.basic_auth.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--metrics-basic-auth-file must hold user:password");
  }
  if (!(secret =
            Secret(absl::GetFlag(FLAGS_metrics_bearer_token_file), "metrics-bearer-token-file"))
           .ok()) {
    return secret.status();
  }
  m.bearer_token = *secret;
  for (const std::string& h : headers) {
    size_t eq = h.find('=');
    if (eq == 0 || eq == std::string::npos || h.find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError("--metrics-header must be NAME=VALUE on one line");
    }
    m.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  absl::StatusOr<int64_t> d = Duration(FLAGS_metrics_timeout, "metrics-timeout");
  if (!d.ok()) return d.status();
  m.timeout_ms = *d;
  if (!(d = Duration(FLAGS_metrics_step, "metrics-step")).ok()) return d.status();
  c->metrics_step_ms = *d;
  c->metrics_max_queries = absl::GetFlag(FLAGS_metrics_max_queries_per_walk);
  if (c->metrics_max_queries < 1) {
    return absl::InvalidArgumentError("--metrics-max-queries-per-walk must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Duration(const absl::Flag<std::string>& flag, const char* name,
                                 bool positive) {
  absl::StatusOr<int64_t> ms = ParseDurationMs(absl::GetFlag(flag));
  if (!ms.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("--%s: %s", name, ms.status().message()));
  }
  if (positive && *ms <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat("--%s must be positive", name));
  }
  return *ms;
}

// argv as absl reads it (--data-dir is --data_dir to absl; --help is
// ours), with every --metrics-header (repeatable: each one, not the last).
// The flags that may be given more than once, each value kept.
struct Repeated {
  std::vector<std::string> headers;  // --metrics-header
  std::vector<std::string> peers;    // --peer
  std::vector<std::string> alertmanagers;  // --alertmanager-url
};

absl::StatusOr<std::vector<std::string>> NormalizedArgs(int argc, char** argv,
                                                        Repeated* repeated) {
  std::vector<std::string> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && (a == "--help" || a == "-h" || a == "-help" || a == "--helpfull")) {
      PrintUsage();
      std::exit(0);
    }
    if (i > 0 && a.starts_with("--")) {
      size_t eq = a.find('=');
      std::string name = absl::StrReplaceAll(
          a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), {{"-", "_"}});
      std::vector<absl::CommandLineFlag*> own = OwnFlags();
      bool known = std::any_of(own.begin(), own.end(), [&](auto* f) {
        return f->Name() == name || (name.starts_with("no") && f->Name() == name.substr(2));
      });
      if (!known) return absl::InvalidArgumentError("unknown flag --" + Dashed(name));
      std::vector<std::string>* values = name == "peer"               ? &repeated->peers
                                         : name == "metrics_header"   ? &repeated->headers
                                         : name == "alertmanager_url" ? &repeated->alertmanagers
                                                                      : nullptr;
      if (values != nullptr) {
        if (eq != std::string::npos) {
          values->push_back(a.substr(eq + 1));
        } else if (i + 1 < argc) {
          values->push_back(argv[i + 1]);
        }
      }
      a = "--" + name + (eq == std::string::npos ? "" : a.substr(eq));
    }
    args.push_back(std::move(a));
  }
  return args;
}

// The store, the tree, alert routing's labels, limits and drills.
absl::Status StoreFlags(DaemonConfig* c) {
  c->data_dir = absl::GetFlag(FLAGS_data_dir);
  c->grpc_addr = absl::GetFlag(FLAGS_grpc_addr);
  c->http_addr = absl::GetFlag(FLAGS_http_addr);
  c->tree = absl::GetFlag(FLAGS_tree);
  c->web_root = absl::GetFlag(FLAGS_web_root);
  c->sync = absl::GetFlag(FLAGS_sync) && !absl::GetFlag(FLAGS_unsafe_no_sync);
  c->max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  if (c->max_body_bytes == 0) {
    return absl::InvalidArgumentError("--max-body-bytes must be positive");
  }
  c->max_bundle_bytes = absl::GetFlag(FLAGS_max_bundle_bytes);
  if (c->max_bundle_bytes == 0) {
    return absl::InvalidArgumentError("--max-bundle-bytes must be positive");
  }
  c->service_label = absl::GetFlag(FLAGS_service_label);
  c->metric_label = absl::GetFlag(FLAGS_metric_label);
  c->metric_annotation = absl::GetFlag(FLAGS_metric_annotation);
  c->page_url = absl::GetFlag(FLAGS_page_url);
  absl::StatusOr<int64_t> d = Duration(FLAGS_retention, "retention", false);
  if (!d.ok()) return d.status();
  c->retention_ms = *d;
  if (!(d = Duration(FLAGS_resend_interval, "resend-interval")).ok()) return d.status();
  c->resend_ms = *d;
  if (!(d = Duration(FLAGS_resolve_missing_after, "resolve-missing-after", false)).ok()) {
    return d.status();
  }
  c->resolve_missing_after_ms = *d;
  if (!(d = Duration(FLAGS_kl_refresh, "kl-refresh")).ok()) return d.status();
  c->kl_refresh_ms = *d;

  c->limits.max_labels_per_series = absl::GetFlag(FLAGS_max_labels_per_series);
  c->limits.max_label_name_bytes = absl::GetFlag(FLAGS_max_label_name_length);
  c->limits.max_label_value_bytes = absl::GetFlag(FLAGS_max_label_value_length);
  c->limits.max_depends_on = absl::GetFlag(FLAGS_max_depends_on);
  c->limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  c->limits.max_alerts = absl::GetFlag(FLAGS_max_alerts);
  c->limits.max_change_events = absl::GetFlag(FLAGS_max_change_events);
  c->roster = absl::GetFlag(FLAGS_roster);
  c->fake_clock_file = absl::GetFlag(FLAGS_fake_clock_file);
  c->max_series = absl::GetFlag(FLAGS_max_series);
  c->head_max_samples = absl::GetFlag(FLAGS_head_max_samples);
  c->min_free_disk_bytes = absl::GetFlag(FLAGS_min_free_disk_bytes);
  c->max_wal_bytes = absl::GetFlag(FLAGS_max_wal_bytes);
  c->max_drills = absl::GetFlag(FLAGS_max_drills);
  if (!(d = Duration(FLAGS_drill_retention, "drill-retention")).ok()) return d.status();
  c->drill_retention_ms = *d;

  return absl::OkStatus();
}

// The HTTP port's limits and timeouts.
absl::Status HttpFlags(DaemonConfig* c) {
  absl::StatusOr<int64_t> d;
  c->http.addr = c->http_addr;
  c->http.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  c->http.workers = std::max(1, absl::GetFlag(FLAGS_http_workers));
  c->http.max_queued = absl::GetFlag(FLAGS_http_max_queued);
  c->http.max_header_bytes = 64 << 10;
  if (!(d = Duration(FLAGS_http_read_header_timeout, "http-read-header-timeout")).ok()) {
    return d.status();
  }
  c->http.header_timeout_ms = *d;
  if (!(d = Duration(FLAGS_http_read_timeout, "http-read-timeout")).ok()) return d.status();
  c->http.body_timeout_ms = *d;
  if (!(d = Duration(FLAGS_http_idle_timeout, "http-idle-timeout")).ok()) return d.status();
  c->http.idle_timeout_ms = *d;
  if (!(d = Duration(FLAGS_http_write_timeout, "http-write-timeout")).ok()) return d.status();
  c->http.write_timeout_ms = *d;
  if (!(d = Duration(FLAGS_max_call_duration, "max-call-duration")).ok()) return d.status();
  if (*d == 0) return absl::InvalidArgumentError("--max-call-duration must be positive");
  c->max_call_ms = *d;

  return absl::OkStatus();
}

// Replicas: the peers, this one's position, when it takes over annotations.
absl::Status PeerFlags(const std::vector<std::string>& peers, DaemonConfig* c) {
  c->peers = peers;
  c->peer_position = absl::GetFlag(FLAGS_peer_position);
  if (c->peer_position < 0) return absl::InvalidArgumentError("--peer-position must be >= 0");
  absl::StatusOr<int64_t> d = Duration(FLAGS_peer_timeout, "peer-timeout");
  if (!d.ok()) return d.status();
  c->peer_timeout_ms = *d;
  if (!(d = Duration(FLAGS_peer_repair_interval, "peer-repair-interval")).ok()) return d.status();
  c->peer_repair_interval_ms = *d;
  return absl::OkStatus();
}

// Who may call, and how triaged reaches Alertmanager.
absl::Status AccessFlags(DaemonConfig* c) {
  c->web_config_file = absl::GetFlag(FLAGS_web_config_file);
  c->insecure_listen_any = absl::GetFlag(FLAGS_insecure_listen_any);
  c->cors_origins = absl::GetFlag(FLAGS_cors_origin);
  net::HttpClientOptions& am = c->alertmanager_client;
  am.ca_file = absl::GetFlag(FLAGS_alertmanager_ca_file);
  am.cert_file = absl::GetFlag(FLAGS_alertmanager_cert_file);
  am.key_file = absl::GetFlag(FLAGS_alertmanager_key_file);
  am.insecure_skip_verify = absl::GetFlag(FLAGS_alertmanager_insecure_skip_verify);
  absl::StatusOr<std::string> secret =
      Secret(absl::GetFlag(FLAGS_alertmanager_basic_auth_file), "alertmanager-basic-auth-file");
  if (!secret.ok()) return secret.status();
  am.basic_auth = *secret;
  if (!am.basic_auth.empty() && am.basic_auth.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--alertmanager-basic-auth-file must hold user:password");
  }
  secret =
      Secret(absl::GetFlag(FLAGS_alertmanager_bearer_token_file), "alertmanager-bearer-token-file");
  if (!secret.ok()) return secret.status();
  am.bearer_token = *secret;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DaemonConfig> ParseDaemonFlags(int argc, char** argv) {
  Repeated repeated;
  absl::StatusOr<std::vector<std::string>> args = NormalizedArgs(argc, argv, &repeated);
  if (!args.ok()) return args.status();
  std::vector<char*> cargs;
  for (std::string& a : *args) cargs.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  if (rest.size() > 1) {
    return absl::InvalidArgumentError(absl::StrFormat("unexpected argument %s", rest[1]));
  }

  DaemonConfig c;
  if (absl::Status s = StoreFlags(&c); !s.ok()) return s;
  for (const std::string& url : repeated.alertmanagers) {
    if (!url.empty()) c.alertmanager_urls.push_back(url);
  }
  if (absl::Status s = HttpFlags(&c); !s.ok()) return s;
  if (absl::Status s = AccessFlags(&c); !s.ok()) return s;
  if (absl::Status s = MetricsSourceFlags(repeated.headers, &c); !s.ok()) return s;
  if (absl::Status s = PeerFlags(repeated.peers, &c); !s.ok()) return s;
  if (absl::Status s = ChangeFlags(&c); !s.ok()) return s;
  return c;
}

bool IsLoopbackAddress(const std::string& addr) {
  std::string host = addr.substr(0, addr.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace triage::server
