// Reads incident bundles (shared/spec/incident-bundle.md): JSON Lines, plain
// or gzip-compressed. Each line is decoded into a triage.v1 record (errors
// of the encoding: invalid JSON, wrong types, missing fields, unparsable
// times, NaN named by its token) and then checked by the one validator
// (collectors/validate.h) with its line as the origin; the bundle as a whole
// adds one incident, edges shared by a feature's histograms and an acyclic
// dependency graph. Every problem is a v1::InputError rendered
// "FILE:LINE: field: what is wrong"; all of them are collected (up to
// max_errors), and a bundle with errors yields no records at all, so a
// caller never stores part of a bad bundle.
//
// BundleDecoder reads a bundle in pieces of any size, so a caller can stream
// one (and move the records it has so far elsewhere) without holding it all.
// Not thread-safe; ReadBundle and ReadBundleFile are pure functions.
//
//   BundleReadResult r = ReadBundleFile("p01.jsonl");
//   if (!r.ok()) std::cerr << r.ToStatus().message();
//   else store->Write(r.bundle.records());
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "collectors/validate.h"
#include "proto/model/dependencies.h"
#include "triage/v1/errors.pb.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

struct BundleReadOptions {
  bool lenient = false;          // Skip unknown record types with a warning instead of failing.
  bool require_incident = true;  // Exactly one incident record (else at most one).
  size_t max_errors = 100;       // Stop collecting after this many.
  size_t max_line_bytes = 64 << 20;
  Limits limits = {};
};

struct BundleReadResult {
  v1::Bundle bundle;  // Empty unless ok().
  bool has_incident = false;
  v1::InputErrors errors;  // errors.truncated: more existed than max_errors.
  std::vector<std::string> warnings;
  bool ok() const { return errors.errors_size() == 0; }
  // Every error on its own line (plus a note when truncated), as an
  // InvalidArgument carrying the structured errors.
  absl::Status ToStatus() const;
};

class BundleDecoder {
 public:
  // `name` is the FILE of error messages.
  BundleDecoder(std::string_view name, BundleReadOptions options);

  // Decodes every line `bytes` completes (pieces may split lines anywhere).
  void Feed(std::string_view bytes);
  // Decodes a last line without its '\n' and checks the bundle as a whole.
  void Finish();

  bool ok() const { return errors_.empty(); }
  // True once max_errors were collected: reading on is pointless.
  bool full() const { return errors_.full(); }
  const v1::InputErrors& errors() const { return errors_.errors(); }
  absl::Status ToStatus() const { return errors_.ToStatus(); }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The valid records decoded so far (the caller may move them out).
  v1::RecordBatch* records() { return &records_; }
  bool has_incident() const { return incident_line_ != 0; }
  const v1::Incident& incident() const { return incident_; }
  int lines() const { return line_; }

 private:
  void Line(std::string_view text);
  class Fields;
  void Incident(Fields& f);
  void Dependency(Fields& f);
  void Change(Fields& f);
  void Series(Fields& f);
  void Histogram(Fields& f);
  void Upstream(Fields& f);
  void EvalSet(Fields& f);
  void DependencyHealth(Fields& f);
  // Validates a decoded record; true when it may be kept.
  template <typename Record>
  bool Valid(const Record& r, bool allow_nan = false);

  const std::string name_;
  const BundleReadOptions options_;
  InputErrorList errors_;
  std::vector<std::string> warnings_;
  std::string partial_;  // An incomplete line carried between Feed calls.
  int line_ = 0;
  v1::RecordBatch records_;
  v1::Incident incident_;
  int incident_line_ = 0;
  DependencyEdges dependencies_;
  std::map<std::string, int> dependency_lines_;
  struct FeatureEdges {
    int line;
    std::vector<double> edges;
  };
  std::map<std::string, FeatureEdges> feature_edges_;
};

// Reads a bundle held in memory; `name` is the FILE of error messages.
BundleReadResult ReadBundle(std::string_view name, std::string_view content,
                            const BundleReadOptions& options = {});

// Reads a bundle file, decompressing it when it starts with the gzip magic.
BundleReadResult ReadBundleFile(const std::string& path, const BundleReadOptions& options = {});

}  // namespace triage::collectors
