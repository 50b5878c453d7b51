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
#include <vector>

#include "absl/status/statusor.h"
#include "triage/base/clock.h"
#include "triage/core/core.h"
#include "triage/store/store.h"
#include "triage/v1/drill.pb.h"
#include "triage/v1/peer.pb.h"

namespace triage::core {

struct DrillOptions {
  std::string dir;                        // Drill stores live in DIR/<id>.
  size_t max_drills = 200;                // Kept at most (the oldest go first) ...
  int64_t retention_ms = 90 * 86'400'000LL;  // ... and none older than this.
};

class Drills {
 public:
  Drills(store::Store& store, Core& core, const Clock& clock, Metrics& metrics,
         DrillOptions options)
      : store_(store), core_(core), clock_(clock), metrics_(metrics), options_(std::move(options)) {}

  // Deletes drills (record and store) past the age or count limit.
  absl::Status Prune();

  absl::StatusOr<v1::Drill> Start(const v1::StartDrillRequest& request);
  absl::StatusOr<v1::DrillStepResponse> Open(const v1::DrillActionRequest& request);
  absl::StatusOr<v1::Drill> Answer(const v1::DrillActionRequest& request);
  absl::StatusOr<v1::Drill> Get(const std::string& id);
  // A drill's step pulled from a peer replica (peer.proto's DrillEvent),
  // applied as the request it came by; AlreadyExists for a drill started here.
  absl::Status ApplyEvent(const v1::Event& event);
  absl::StatusOr<v1::DrillReportResponse> Report(const std::string& trainee);

 private:
  // Starts drill `id` at `now`: its store, its walk, its event. mu_ held.
  absl::StatusOr<v1::Drill> Begin(const std::string& id, const v1::StartDrillRequest& request,
                                  int64_t now);
  // The event of an open or answer step taken at `minute`.
  static std::vector<v1::Event> StepEvent(const v1::Drill& drill, v1::DrillActionRequest request,
                                          double minute, bool answer);
  absl::StatusOr<v1::Drill> Running(const std::string& id);
  absl::StatusOr<v1::TriageReport> WalkOf(const v1::Drill& drill);
  double Minute(const v1::Drill& drill, const v1::DrillActionRequest& request) const;

  absl::Status PruneLocked(const std::string& keep);

  store::Store& store_;
  Core& core_;
  const Clock& clock_;
  Metrics& metrics_;
  const DrillOptions options_;
  std::mutex mu_;
  uint32_t counter_ = 0;
};

}  // namespace triage::core
