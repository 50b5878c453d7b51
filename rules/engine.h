// The triage engine: walks a tree's categories for one incident over the data
// its sources hold (rules/sources.h) and returns the report
// (proto/triage/v1/report.proto), exactly as shared/spec/triage-tree.md
// defines it. The incident's "now" is the latest fired_at of its alerts; the
// wall clock is never read, so replays and drills give the same answer at
// any time.
//
// Thread safety: Walk is const and may run concurrently; the sources are
// thread-safe. The Engine keeps references to `tree` and the sources, which
// must outlive it.
//
//   Engine engine(tree, {.records = &store, .metrics = &store, .features = &store});
//   absl::StatusOr<v1::TriageReport> report = engine.Walk(incident);
#pragma once

#include "absl/status/statusor.h"
#include "rules/checks.h"
#include "rules/context.h"
#include "rules/sources.h"
#include "rules/stats.h"
#include "rules/tree.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

inline constexpr char kRareClass[] = "rare_class";

class Engine {
 public:
  // `tree` must come from ParseTree/LoadTreeFile/DefaultTree (checked, with
  // defaults applied).
  // `history` (root causes of resolved incidents) drives the LEARNED order
  // and the expected-minutes figures; not owned, may be null.
  Engine(const v1::Tree& tree, Sources sources, const RootCauseHistory* history = nullptr)
      : tree_(tree), sources_(sources), history_(history) {}

  // Walks the tree for `incident` (at least one alert with service, metric
  // and fired_at). Fails only on store errors or an incident without alerts.
  absl::StatusOr<v1::TriageReport> Walk(const v1::Incident& incident) const;

 private:
  // Where the drop is (triage-tree.md, Cohorts): over the alerted series the
  // onsets were read from, and the service's requests.
  void AddCohorts(const v1::Incident& incident,
                  const std::vector<absl::StatusOr<std::vector<v1::Series>>>& alert_series,
                  const Context& ctx, const OnsetParams& onset, Reads& load,
                  v1::TriageReport* report) const;

  const v1::Tree& tree_;
  const Sources sources_;
  const RootCauseHistory* history_;
};

}  // namespace triage::rules
