// Core's review of the incident practice (review.h) over what the store holds.
#include "proto/model/time.h"
#include "triage/core/core.h"
#include "triage/core/review.h"

namespace triage::core {

absl::StatusOr<v1::ReviewResponse> Core::Review(const v1::ReviewRequest& request) {
  std::shared_ptr<const v1::Tree> tree = this->tree();
  ReviewInput in{.tree = tree.get(), .now_ms = clock_.NowMs()};
  absl::StatusOr<std::vector<v1::Incident>> incidents = store_.ListIncidents();
  if (!incidents.ok()) return incidents.status();
  for (v1::Incident& incident : *incidents) {
    ReviewIncident r{.incident = std::move(incident)};
    absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(r.incident.id());
    if (state.ok()) {
      r.state = std::move(*state);
    } else if (!absl::IsNotFound(state.status())) {
      return state.status();
    }
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(r.incident.id());
    if (report.ok()) {
      r.report = std::move(*report);
    } else if (!absl::IsNotFound(report.status())) {
      return report.status();
    }
    in.incidents.push_back(std::move(r));
  }
  absl::StatusOr<std::vector<v1::Drill>> drills = store_.ListDrills();
  if (!drills.ok()) return drills.status();
  in.drills = std::move(*drills);
  in.roster.assign(tree->settings().roster().begin(), tree->settings().roster().end());
  for (const std::string& r : options_.roster) {
    if (std::find(in.roster.begin(), in.roster.end(), r) == in.roster.end()) in.roster.push_back(r);
  }
  return core::Review(in, request);
}

}  // namespace triage::core
