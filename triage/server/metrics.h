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

namespace triage::server {

struct Metrics {
  explicit Metrics(prometheus::Registry& registry);

  // Records stored, by record kind ("change", "series", "sample", ...).
  prometheus::Counter& Ingested(const std::string& kind);
  // Requests rejected as bad input, by endpoint.
  prometheus::Counter& Rejected(const std::string& endpoint);

  prometheus::Family<prometheus::Counter>& ingested_records;
  prometheus::Family<prometheus::Counter>& rejected_requests;
  prometheus::Family<prometheus::Counter>& http_requests;  // {path, code}
  prometheus::Histogram& walk_seconds;
  prometheus::Counter& walks;
  // Alert routing.
  prometheus::Counter& pages;  // Firing alerts received.
  prometheus::Gauge& incidents_open;
  prometheus::Gauge& queue_depth;  // Enriched alerts waiting for Alertmanager.
  prometheus::Counter& delivery_failures;
  prometheus::Counter& deliveries;
  prometheus::Counter& deliveries_dropped;            // Pushed out of the bounded queue.
  prometheus::Family<prometheus::Gauge>& feature_kl;  // {service, feature}
};

}  // namespace triage::server
