// PromSource: the engine's metric and feature sources over the HTTP query
// API that Prometheus, Thanos Querier, Mimir, Cortex and VictoriaMetrics
// serve alike (--metrics-url): series from /api/v1/query_range, features
// kept as Prometheus histograms from /api/v1/query, POST form bodies. The
// engine wins for a metric it has; what it does not have (an empty answer)
// is read from the embedded store, which still takes remote_write. Every
// failure reads "metrics source: ..." and never holds a credential.
//
// Thread-safe: walks read concurrently; each query is its own exchange.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/sources.h"
#include "triage/net/http_client.h"
#include "triage/base/metrics.h"
#include "triage/store/store.h"

namespace triage::sources {

struct PromSourceOptions {
  std::string url;               // The API's base: http(s)://host:port[/prefix].
  net::HttpClientOptions http;        // Credentials, headers, --metrics-timeout.
  int64_t min_step_ms = 60'000;  // The finest step asked (--metrics-step).
  int64_t max_points = 11'000;   // Per series; the step grows to keep under it.
};

// The query_range step for [from_ms, to_ms]: min_step_ms, or coarser (whole
// seconds) so that no series passes max_points.
int64_t StepFor(int64_t from_ms, int64_t to_ms, int64_t min_step_ms, int64_t max_points);

// Reads a query API answer: the matrix (query_range) or vector (query) of a
// "success", else the engine's error ("HTTP 422: bad_data: parse error ...").
struct PromSample {
  std::map<std::string, std::string> labels;
  std::vector<std::pair<int64_t, double>> points;  // (ms, value); one for a vector.
};
absl::StatusOr<std::vector<PromSample>> ParsePromAnswer(int http_status, std::string_view body);

class PromSource : public rules::MetricSource, public rules::FeatureSource {
 public:
  static absl::StatusOr<std::unique_ptr<PromSource>> Create(PromSourceOptions options,
                                                            const store::Store& store,
                                                            Metrics& metrics);

  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const rules::SeriesQuery& q) const override;
  std::string Name() const override { return options_.url; }
  // The store's features, and those the engine keeps as histograms
  // (window.histogram_metric): those win for a feature both have.
  absl::StatusOr<std::vector<rules::FeatureSums>> FeatureDistributions(
      const std::string& service, const rules::DriftWindow& window) const override;

 private:
  PromSource(PromSourceOptions options, std::unique_ptr<net::HttpClient> http, const store::Store& store,
             Metrics& metrics)
      : options_(std::move(options)), http_(std::move(http)), store_(store), metrics_(metrics) {}
  // POSTs `form` to the API's `endpoint` ("query_range", "query") and reads
  // the answer; counts and times it.
  absl::StatusOr<std::vector<PromSample>> Ask(const std::string& endpoint,
                                              const std::string& form) const;
  absl::StatusOr<std::vector<rules::FeatureSums>> HistogramFeatures(
      const std::string& service, const rules::DriftWindow& window) const;

  const PromSourceOptions options_;
  const std::unique_ptr<net::HttpClient> http_;
  const store::Store& store_;
  Metrics& metrics_;
};

}  // namespace triage::sources
