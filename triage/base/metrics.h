// The daemon's Prometheus metrics, declared once and built at start-up
// against a registry that is passed in (served at GET /metrics). Counters
// and histograms are thread-safe (prometheus-cpp); the struct is immutable
// after construction.
#pragma once

#include <memory>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace triage {

// The four figures of one delivery queue (delivery_queue.h).
struct QueueMetrics {
  prometheus::Gauge& depth;       // Waiting.
  prometheus::Counter& failures;  // Failed attempts.
  prometheus::Counter& delivered;
  prometheus::Counter& dropped;  // Pushed out of the bounded queue.
};

struct Metrics {
  explicit Metrics(prometheus::Registry& registry);

  // Records stored, by record kind ("change", "series", "sample", ...).
  prometheus::Counter& Ingested(const std::string& kind);
  // Requests rejected as bad input, by endpoint.
  prometheus::Counter& Rejected(const std::string& endpoint);

  prometheus::Family<prometheus::Counter>& ingested_records;
  prometheus::Family<prometheus::Counter>& rejected_requests;
  prometheus::Family<prometheus::Counter>& http_requests;  // {path, code}
  // The HTTP server's connections and what it refused.
  prometheus::Gauge& http_connections;
  prometheus::Counter& http_connections_refused;  // Past --http-max-connections.
  prometheus::Counter& http_timeouts;             // Header, body or write too slow.
  prometheus::Counter& http_bad_framing;          // Ambiguous or broken framing: 400 and close.
  prometheus::Counter& http_overloaded;           // No worker free in time: 503.
  // Input refused for going past a limit, by the limit's name.
  prometheus::Family<prometheus::Counter>& limit_rejections;
  prometheus::Gauge& store_series;        // Distinct series stored (--max-series caps it).
  prometheus::Gauge& store_writable;      // 1 while writes are taken (disk above its reserve).
  prometheus::Gauge& disk_free_bytes;     // On the store's file system.
  prometheus::Gauge& store_head_samples;  // Points not yet in chunks (--head-max-samples).
  prometheus::Gauge& known_series;        // remote_write's ids by label bytes (--max-series).
  prometheus::Family<prometheus::Gauge>& store_table_bytes;  // By column family.
  prometheus::Gauge& drills_stored;  // Drill stores kept (--max-drills, --drill-retention).
  // Security.
  prometheus::Family<prometheus::Counter>& auth_failures;  // {reason}: missing, wrong_password, ...
  prometheus::Family<prometheus::Counter>& forbidden;      // {role}: the role that was missing.
  prometheus::Gauge& insecure_listen;                      // 1 with --insecure-listen-any.
  prometheus::Gauge& web_config_reload_success;            // 1 when the last (re)load worked.
  prometheus::Histogram& walk_seconds;
  prometheus::Counter& walks;
  // Alert routing.
  prometheus::Counter& pages;  // Firing alerts received.
  prometheus::Gauge& incidents_open;
  prometheus::Gauge& queue_depth;  // Enriched alerts waiting for Alertmanager.
  prometheus::Counter& delivery_failures;
  prometheus::Counter& deliveries;
  prometheus::Counter& deliveries_dropped;  // Pushed out of the bounded queue.
  // Posts an Alertmanager refused or missed, by its --alertmanager-url index
  // (a delivery one of them accepted counts as delivered).
  prometheus::Family<prometheus::Counter>& alertmanager_errors;
  // Webhook received -> its enriched alert accepted by Alertmanager. The
  // fail-open route pages the fallback after its group_wait (60 s): slower
  // than that, the raw page goes first.
  prometheus::Histogram& enrichment_seconds;
  QueueMetrics alertmanager_queue() {
    return {queue_depth, delivery_failures, deliveries, deliveries_dropped};
  }
  // Grafana annotations (--grafana-url).
  prometheus::Gauge& annotation_queue_depth;
  prometheus::Counter& annotation_failures;
  prometheus::Counter& annotations;
  prometheus::Counter& annotations_dropped;
  QueueMetrics grafana_queue() {
    return {annotation_queue_depth, annotation_failures, annotations, annotations_dropped};
  }
  // The practice (review.h): by category (the recorded cause, else the
  // localized one), observed as incidents resolve and walks answer.
  prometheus::Family<prometheus::Histogram>& mttr_minutes;
  prometheus::Family<prometheus::Histogram>& time_to_localize_minutes;
  prometheus::Family<prometheus::Counter>& localization_correct;  // {correct="true"|"false"}
  prometheus::Gauge& action_items_overdue;
  void ObserveMinutes(prometheus::Family<prometheus::Histogram>& family,
                      const std::string& category, double minutes);
  // Change events from webhooks, by origin and result (stored, updated,
  // duplicate, ignored).
  prometheus::Family<prometheus::Counter>& change_events;
  // The newest change time, by kind and way in ("bundle" for a recorded
  // one): a feed silent for long is a blind spot (triage-tree.md, v1.2).
  prometheus::Family<prometheus::Gauge>& change_feed_last_event;
  prometheus::Family<prometheus::Gauge>& feature_kl;  // {service, feature}
  // Store writes that failed after the request was answered, by what
  // (logged too; nothing is dropped silently).
  prometheus::Family<prometheus::Counter>& store_write_failures;
  // Queries to the metrics source (--metrics-url), by API endpoint and
  // outcome (ok, error), and their latency.
  prometheus::Family<prometheus::Counter>& metrics_source_queries;
  prometheus::Family<prometheus::Histogram>& metrics_source_seconds;
};

}  // namespace triage
