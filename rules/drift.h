// KL drift of features (triage-tree.md, KL drift): the windows a
// feature_drift check compares, and the drift of each feature from its
// summed distributions. Used by the walk's feature_drift check and by the
// daemon's triage_feature_kl gauges alike. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/sources.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

// The compared distributions as shares (bin by bin), for the page.
void SetShares(const std::vector<double>& current, const std::vector<double>& baseline,
               v1::FeatureDrift* d);

// The windows a check with parameters `p` compares at `now`.
DriftWindow DriftWindowOf(const v1::FeatureDriftCheck& p, int64_t now);

struct DriftResult {
  std::vector<v1::FeatureDrift> drifts;     // Highest KL first.
  std::vector<std::string> no_current;      // "service/feature" without current data.
  std::vector<std::string> short_baseline;  // "service/feature (coverage)" below min_baseline.
};

// The drift of every feature in `sums` under `p`'s smoothing, thresholds and
// minimum baseline; the first `detailed` (highest KL) carry their bins and
// shares too.
DriftResult Drift(const v1::FeatureDriftCheck& p, std::vector<FeatureSums> sums,
                  size_t detailed = SIZE_MAX);

// Every feature of `service` at `now` by the tree's first feature_drift
// category (empty when the tree has none), without bins and shares.
absl::StatusOr<std::vector<v1::FeatureDrift>> ServiceDrift(const v1::Tree& tree,
                                                           const FeatureSource& source,
                                                           const std::string& service, int64_t now);

}  // namespace triage::rules
