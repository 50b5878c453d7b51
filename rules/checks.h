// The check kinds a category binds (triage-tree.md): change_log,
// upstream_health, feature_drift, eval_staleness, traffic_mix,
// dependency_health. Each reads what it needs through the engine's sources
// and sets one verdict with its evidence. Each kind's windows are declared
// once here; SpansOf gives their union for a tree, so export asks the tree
// rather than knowing the checks. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "rules/context.h"
#include "rules/sources.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

// The sources, with the time spent reading them (the report splits reads
// from checks).
class Reads {
 public:
  explicit Reads(const Sources& sources) : sources_(sources) {}

  template <typename Fn>
  auto operator()(Fn fn) -> decltype(fn()) {
    auto start = std::chrono::steady_clock::now();
    auto result = fn();
    ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
               .count();
    return result;
  }
  const RecordSource& records() const { return *sources_.records; }
  const MetricSource& metrics() const { return *sources_.metrics; }
  const FeatureSource& features() const { return *sources_.features; }
  double ms() const { return ms_; }

 private:
  const Sources& sources_;
  double ms_ = 0;
};

// Runs the category's check kind, setting v's verdict and evidence.
void RunCheck(const v1::Category& category, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v);

// Absolute [from, to] spans of what a walk at `now` with `onset` reads, over
// every category of `tree` (an export of the incident holds exactly these).
struct ReadSpans {
  int64_t changes_from = 0, changes_to = 0;
  int64_t series_from = 0;          // The alerted metrics and traffic series, to now.
  std::vector<std::string> traffic_metrics;
  int64_t histograms_from = 0;      // To now.
  int64_t upstream_from = 0;        // To now.
  int64_t probes_from = 0;          // To now (all of them).
};
ReadSpans SpansOf(const v1::Tree& tree, int64_t now, int64_t onset);

}  // namespace triage::rules
