// Drills: fire drills on recorded incidents. Each drill loads its bundle into
// a store of its own under DRILLS_DIR/<id> (never the live store, and never
// routed to Alertmanager), walks it once with the current tree, and then
// answers the trainee's "open category" and "root cause is" steps on the
// drill's clock, which starts at the page time. Finished drills are scored;
// Report summarises per trainee and per category.
//
// Thread-safe (one mutex; drills are rare and short). Store, Core and Clock
// are not owned and must outlive it.
#pragma once

#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "triage/base/clock.h"
#include "triage/server/core.h"
#include "triage/store/store.h"
#include "triage/v1/drill.pb.h"

namespace triage::server {

class Drills {
 public:
  Drills(store::Store& store, Core& core, const Clock& clock, std::string drills_dir)
      : store_(store), core_(core), clock_(clock), dir_(std::move(drills_dir)) {}

  absl::StatusOr<v1::Drill> Start(const v1::StartDrillRequest& request);
  absl::StatusOr<v1::DrillStepResponse> Open(const v1::DrillActionRequest& request);
  absl::StatusOr<v1::Drill> Answer(const v1::DrillActionRequest& request);
  absl::StatusOr<v1::Drill> Get(const std::string& id);
  absl::StatusOr<v1::DrillReportResponse> Report(const std::string& trainee);

 private:
  absl::StatusOr<v1::Drill> Running(const std::string& id);
  absl::StatusOr<v1::TriageReport> WalkOf(const v1::Drill& drill);
  double Minute(const v1::Drill& drill, const v1::DrillActionRequest& request) const;

  store::Store& store_;
  Core& core_;
  const Clock& clock_;
  const std::string dir_;
  std::mutex mu_;
  uint32_t counter_ = 0;
};

}  // namespace triage::server
