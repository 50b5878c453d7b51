// Replay: a recorded incident (bundle) streams into a store and the engine
// walks it there, reading back through the store's queries exactly as the
// daemon does. The one path for `triagectl replay/regress` (a fresh
// temporary store), fire drills (a drill's own store) and bundle ingest (the
// live one, over HTTP and gRPC).
// Thread-compatible: concurrent calls use separate stores or a thread-safe one.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

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
  // Records stored, by type ("change", "series", "sample", ...).
  std::map<std::string, int64_t> records;
  double read_ms = 0;   // Reading, parsing and checking the bundle, and staging it.
  double write_ms = 0;  // Committing what was staged.
  double walk_ms = 0;   // The walk: reads (report.load_ms) plus the checks.
};

// Walks `incident` with `tree` over `sources` and stores the incident and
// its report in `store`.
absl::StatusOr<v1::TriageReport> WalkAndStore(store::Store& store, const rules::Sources& sources,
                                              const v1::Incident& incident, const v1::Tree& tree,
                                              const rules::RootCauseHistory* history = nullptr);

// Adds the records of `batch` to `counts` by type.
void CountRecords(const v1::RecordBatch& batch, std::map<std::string, int64_t>* counts);

// The pieces of a bundle in order: appends the next one to *piece and
// returns true, or returns false at the end.
using Pull = std::function<absl::StatusOr<bool>(std::string* piece)>;

struct IngestOptions {
  collectors::BundleReadOptions read = {};
  // The bundle's size at most, decompressed (ResourceExhausted past it).
  uint64_t max_bytes = uint64_t{1} << 30;
  // Decoded records are staged each time this much of the bundle was read:
  // what the ingest holds in memory, whatever the bundle's size.
  size_t stage_bytes = 8 << 20;
  rules::Sources sources = {};  // The walk's; empty: the store itself.
  // Past root causes for the learned order, given the bundle's incident id
  // (which they leave out); empty: none.
  std::function<absl::StatusOr<rules::RootCauseHistory>(const std::string& incident_id)> history =
      nullptr;
};

// Streams a bundle (NDJSON, gzip-compressed or not) into `store`, all or
// nothing: every line is checked, then everything is committed at once
// (Store::Bulk), then its incident, if any, is walked with `tree` and stored.
// InvalidArgument carries every "NAME:LINE: field: problem".
absl::StatusOr<Replayed> Ingest(store::Store& store, std::string_view name, const Pull& pull,
                                const v1::Tree& tree, const IngestOptions& options = {});

// Pulls `bytes` (held in memory) in one piece.
Pull PullBytes(std::string_view bytes);
// Pulls a file's bytes; NotFound / Internal name the file.
Pull PullFile(const std::string& path);

// A bundle file in a fresh temporary store, removed afterwards.
absl::StatusOr<Replayed> ReplayFile(const std::string& bundle_path, const v1::Tree& tree);

}  // namespace triage::replay
