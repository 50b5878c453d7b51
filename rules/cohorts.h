// Cohorts: where the drop is (triage-tree.md, Cohorts, v1.1). Over the
// alerted metric's series of one service (the ones the onset was read from)
// and the service's requests series: per dimension (a label other than
// `service` whose value differs between series) each value's baseline,
// current, delta, weight and contribution to the weighted drop, whether it
// left its band, and the one cohort that carries the drop, if any.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"

namespace triage::rules {

struct CohortWindows {
  int64_t baseline_from = 0;  // Baseline: [baseline_from, baseline_to).
  int64_t baseline_to = 0;
  int64_t current_from = 0;  // Current: [current_from, current_to].
  int64_t current_to = 0;
  double band_sigmas = 4;
  double min_contribution = 0.6;  // A concentrated value carries at least this ...
  double max_weight = 0.5;        // ... with at most this weight.
};

struct CohortAnswer {
  std::vector<v1::CohortDimension> dimensions;  // By name.
  std::optional<v1::CohortLocalization> named;  // Absent when the drop is spread.
};

// `alerted`: the alerted metric's series of the service; `requests`: the
// service's requests series (weights when they carry the dimension).
CohortAnswer FindCohorts(const std::vector<v1::Series>& alerted,
                         const std::vector<v1::Series>& requests, const CohortWindows& windows);

// "locale=ja carries 100% of the drop with 12% of traffic (0.76 -> 0.42)", or
// "spread over locale, shard (no cohort carries the drop)"; empty without
// dimensions.
std::string DescribeCohorts(const v1::TriageReport& report);

// Why the report's cohort is not the one `expected` states ("expected cohort
// locale=ja, got spread"); empty when it is, or when none is stated.
std::string CohortMismatch(const v1::Expected& expected, const v1::TriageReport& report);

}  // namespace triage::rules
