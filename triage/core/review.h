// Review: is the incident practice working? Per quarter (UTC) and owning
// team (the owner of the recorded root cause's category, else of the
// localized one, else incident-commander), and for "all": incidents, pages
// per ISO week against a threshold of 2 (sustained: 3 or more weeks in a
// row above it), MTTR and time to localize (to the walk's answer, to the
// recorded cause) as median and p90 with the change against the previous
// quarter, localization accuracy with its confusion, rare_class escapes
// with the retrospective's answer, action items past due, and drills
// (who on the roster walked one, scores by category, missed most).
//
// Pure: everything comes in ReviewInput. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/drill.pb.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/review.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::core {

inline constexpr double kPagesPerWeekThreshold = 2;
inline constexpr double kMttrTargetMinutes = 60;

struct ReviewIncident {
  v1::Incident incident;
  std::optional<v1::IncidentState> state = {};  // Incidents from alerts have one.
  std::optional<v1::TriageReport> report = {};
};

struct ReviewInput {
  std::vector<ReviewIncident> incidents = {};
  std::vector<v1::Drill> drills = {};
  std::vector<std::string> roster = {};  // The tree's settings.roster, or --roster.
  const v1::Tree* tree = nullptr;
  int64_t now_ms = 0;
};

// InvalidArgument for a quarter that is not "YYYYQn".
absl::StatusOr<v1::ReviewResponse> Review(const ReviewInput& in, const v1::ReviewRequest& request);

// "2026Q2" for a Unix time (UTC).
std::string QuarterOf(int64_t unix_ms);

// The p-quantile (0..1) by linear interpolation between closest ranks (as
// numpy's default); `values` need not be sorted; 0 when empty.
double Quantile(std::vector<double> values, double p);

}  // namespace triage::core
