// The check kinds a category binds (triage-tree.md): change_log,
// upstream_health, feature_drift, eval_staleness, traffic_mix,
// dependency_health. Each reads what it needs through the engine's sources
// and sets one verdict with its evidence. Each kind's windows are declared
// once here; SpansOf gives their union for a tree, so export asks the tree
// rather than knowing the checks. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "rules/context.h"
#include "rules/sources.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

// The sources, with the time spent reading them (the report splits reads
// from checks), and every metric read of the walk (the report lists them).
class Reads {
 public:
  explicit Reads(const Sources& sources) : sources_(sources) {}

  template <typename Fn>
  auto operator()(Fn fn) -> decltype(fn()) {
    auto start = std::chrono::steady_clock::now();
    auto result = fn();
    ms_ +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
  const RecordSource& records() const { return *sources_.records; }
  const FeatureSource& features() const { return *sources_.features; }
  double ms() const { return ms_; }

  // Reads series through the metric source and records the read. Once the
  // source has failed in this walk, or after sources.max_metric_queries
  // reads, fails at once: a walk waits for a down engine one timeout, not
  // one per read. Thread-safe (the onsets are read concurrently).
  absl::StatusOr<std::vector<v1::Series>> Series(const SeriesQuery& q);
  // Every metric read of the walk, by service, metric and query.
  std::vector<v1::MetricQuery> Queries() const;

 private:
  const Sources& sources_;
  double ms_ = 0;
  mutable std::mutex mu_;
  std::vector<v1::MetricQuery> queries_;  // Guarded by mu_.
  absl::Status metrics_failed_;           // Guarded by mu_.
};

// Runs the category's check kind, setting v's verdict and evidence.
void RunCheck(const v1::Category& category, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v);

// Absolute [from, to] spans of what a walk at `now` with `onset` reads, over
// every category of `tree` (an export of the incident holds exactly these).
struct ReadSpans {
  int64_t changes_from = 0, changes_to = 0;
  int64_t series_from = 0;  // The alerted metrics and traffic series, to now.
  std::vector<std::string> traffic_metrics;
  int64_t histograms_from = 0;  // To now.
  int64_t upstream_from = 0;    // To now.
  int64_t probes_from = 0;      // To now (all of them).
};
ReadSpans SpansOf(const v1::Tree& tree, int64_t now, int64_t onset);

}  // namespace triage::rules
