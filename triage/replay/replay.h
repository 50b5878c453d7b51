// Replay: a recorded incident (bundle) goes into a store and the engine walks
// it there, reading back through the store's queries exactly as the daemon
// does. The one path for `triagectl replay/regress` (a fresh temporary
// store), fire drills (a drill's own store) and bundle ingest (the live one).
// Thread-compatible: concurrent calls use separate stores or a thread-safe one.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "collectors/bundle_reader.h"
#include "rules/sources.h"
#include "rules/tree.h"
#include "triage/store/store.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::replay {

struct Replayed {
  v1::Incident incident;
  bool has_incident = false;
  v1::TriageReport report;  // Set when the bundle holds an incident.
  double read_ms = 0;       // Parsing and validating the bundle (ReplayFile).
  double write_ms = 0;      // Writing its records.
  double walk_ms = 0;       // The walk: reads (report.load_ms) plus the checks.
};

// Walks `incident` with `tree` over `sources` and stores the incident and
// its report in `store`.
absl::StatusOr<v1::TriageReport> WalkAndStore(store::Store& store, const rules::Sources& sources,
                                              const v1::Incident& incident, const v1::Tree& tree,
                                              const rules::RootCauseHistory* history = nullptr);

// Writes a bundle read (ok()) into `store`, then walks its incident, if any,
// over `sources` (the store itself when empty).
absl::StatusOr<Replayed> Replay(store::Store& store, const collectors::BundleReadResult& bundle,
                                const v1::Tree& tree, rules::Sources sources = {},
                                const rules::RootCauseHistory* history = nullptr);

// A bundle file in a fresh temporary store, removed afterwards.
// InvalidArgument with every "FILE:LINE: field: problem" when the bundle is bad.
absl::StatusOr<Replayed> ReplayFile(const std::string& bundle_path, const v1::Tree& tree);

}  // namespace triage::replay
