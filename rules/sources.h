// What the engine reads, as three seams: records (the dependency graph,
// changes, upstream reports, eval sets, probes), metric series, and feature
// distributions summed over the drift windows. triage/store implements all
// three over RocksDB; a Prometheus-compatible query API can stand in for the
// metric series (and histograms); the engine's tests use an in-memory one.
//
// Implementations must be thread-safe: walks run concurrently. Every method
// fails only when the source itself fails (a store error, an engine that
// does not answer); missing data is an empty answer.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/graph.h"
#include "triage/v1/records.pb.h"

namespace triage::rules {

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The whole dependency graph.
  virtual absl::StatusOr<DependencyGraph> Dependencies() const = 0;
  // Changes with from_ms <= time <= to_ms, oldest first.
  virtual absl::StatusOr<std::vector<v1::Change>> ChangesBetween(int64_t from_ms,
                                                                 int64_t to_ms) const = 0;
  // Reports whose consumer is `consumer`, from_ms <= time <= to_ms, by source then time.
  virtual absl::StatusOr<std::vector<v1::Upstream>> UpstreamReports(const std::string& consumer,
                                                                    int64_t from_ms,
                                                                    int64_t to_ms) const = 0;
  // Eval sets of `service` with time <= to_ms, oldest first.
  virtual absl::StatusOr<std::vector<v1::EvalSet>> EvalSets(const std::string& service,
                                                            int64_t to_ms) const = 0;
  // Probes of `service` with from_ms <= time <= to_ms, by check then time.
  virtual absl::StatusOr<std::vector<v1::DependencyHealth>> Probes(const std::string& service,
                                                                   int64_t from_ms,
                                                                   int64_t to_ms) const = 0;
};

// A metric of a service over [from_ms, to_ms], and the PromQL that draws it
// from a metrics engine (rules/promql.h QueryOf). The embedded store reads
// (service, metric).
struct SeriesQuery {
  std::string service;
  std::string metric;
  std::string query;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;
  // Every series the query draws, with its points in [from_ms, to_ms].
  virtual absl::StatusOr<std::vector<v1::Series>> ReadSeries(const SeriesQuery& q) const = 0;
  // Where series come from, for the report ("embedded" or a URL).
  virtual std::string Name() const { return "embedded"; }
};

// The two windows KL drift compares (triage-tree.md, KL drift).
struct DriftWindow {
  int64_t current_from = 0;  // current: histograms with start < now and end > current_from
  int64_t now = 0;
  int64_t baseline_from = 0;  // baseline: histograms with start >= baseline_from ...
  int64_t baseline_to = 0;    // ... and end <= baseline_to
  // Where a metrics engine keeps features as Prometheus histograms (empty:
  // nowhere): HISTOGRAM_METRIC_bucket{service=S, FEATURE_LABEL=feature, le=...}.
  std::string histogram_metric;
  std::string feature_label;
};

// One feature's histograms summed over a DriftWindow.
struct FeatureSums {
  std::string service;
  std::string feature;
  bool categorical = false;
  std::vector<double> edges;              // Numeric features: n+1 edges of n bins.
  std::vector<double> current, baseline;  // Numeric bins.
  std::map<std::string, double> current_cat, baseline_cat;  // Categorical.
  double current_total = 0, baseline_total = 0;
  int64_t baseline_covered_ms = 0;  // The union of the baseline histograms' [start, end).
};

class FeatureSource {
 public:
  virtual ~FeatureSource() = default;
  // Every feature of `service` with a histogram overlapping
  // [min(baseline_from, current_from), now), in (service, feature) order.
  virtual absl::StatusOr<std::vector<FeatureSums>> FeatureDistributions(
      const std::string& service, const DriftWindow& window) const = 0;
};

// The sources a walk reads; not owned.
struct Sources {
  const RecordSource* records = nullptr;
  const MetricSource* metrics = nullptr;
  const FeatureSource* features = nullptr;
  int max_metric_queries = 64;  // Series reads one walk may make.
};

// Adds `h` (of the day's feature) to a day's roll-up.
void RollUp(const v1::Histogram& h, v1::FeatureDay* day);

// Sums histograms into FeatureSums by the DriftWindow rules: the building
// block of a FeatureSource over raw histograms. Not thread-safe.
class FeatureAccumulator {
 public:
  explicit FeatureAccumulator(const DriftWindow& window) : window_(window) {}
  void Add(const v1::Histogram& h);
  // Adds a roll-up of the feature's histograms when every one of them falls
  // on the same side of each window edge (all baseline, all outside);
  // false when the window cuts through it: add its histograms instead.
  bool AddDay(const std::string& service, const std::string& feature, const v1::FeatureDay& day);
  // The sums, in (service, feature) order.
  std::vector<FeatureSums> Finish();

 private:
  DriftWindow window_;
  using Entry = std::pair<FeatureSums, std::vector<std::pair<int64_t, int64_t>>>;
  Entry& EntryOf(const std::string& service, const std::string& feature);
  std::map<std::pair<std::string, std::string>, Entry> features_;
};

// Total length of the union of [start, end) intervals.
int64_t Coverage(std::vector<std::pair<int64_t, int64_t>> intervals);

}  // namespace triage::rules
