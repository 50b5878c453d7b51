// Replay: a recorded incident (bundle file) goes into a fresh temporary store
// and the engine walks the tree over it, reading back through the store's
// queries exactly as the daemon does. Also the text rendering of a report.
// Thread-compatible: concurrent Replay calls use separate stores.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::ctl {

struct ReplayResult {
  v1::Incident incident;
  v1::TriageReport report;
  double read_ms = 0;   // Parsing and validating the bundle.
  double write_ms = 0;  // Writing it into the store.
  double walk_ms = 0;   // The walk: store reads (report.load_ms) plus the checks.
};

// InvalidArgument with every "FILE:LINE: field: problem" when the bundle is bad.
absl::StatusOr<ReplayResult> Replay(const std::string& bundle_path, const v1::Tree& tree);

// The report for a human at 3am: the localized category and its mitigation
// first, then the walk, suspects, blind spots and shared dependencies.
std::string RenderReport(const v1::TriageReport& report, const v1::Incident& incident);

// The report as one JSON object (proto3 JSON mapping, snake_case names, every field).
std::string ReportJson(const v1::TriageReport& report);

}  // namespace triage::ctl
