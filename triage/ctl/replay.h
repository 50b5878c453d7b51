// The text rendering of a report for triagectl (replay itself is
// triage/replay). Pure functions; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::ctl {

// The report for a human at 3am: the localized category and its mitigation
// first, then the walk, suspects, blind spots and shared dependencies.
std::string RenderReport(const v1::TriageReport& report, const v1::Incident& incident);

// The report as one JSON object (proto3 JSON mapping, snake_case names, every field).
std::string ReportJson(const v1::TriageReport& report);

}  // namespace triage::ctl
