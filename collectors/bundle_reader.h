// Reads incident bundles (shared/spec/incident-bundle.md): JSON Lines, plain
// or gzip-compressed. Strict: every problem becomes a BundleError
// "FILE:LINE: field: what is wrong", all of them are collected (up to
// max_errors), and a bundle with errors yields no records at all, so a caller
// never stores part of a bad bundle. Pure functions; thread-safe.
//
//   BundleReadResult r = ReadBundleFile("p01.jsonl");
//   if (!r.ok()) for (const BundleError& e : r.errors) std::cerr << e.ToString() << "\n";
//   else store->Write(r.bundle.records());
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

struct BundleReadOptions {
  bool lenient = false;          // Skip unknown record types with a warning instead of failing.
  bool require_incident = true;  // Exactly one incident record (else at most one).
  size_t max_errors = 100;       // Stop collecting after this many.
};

struct BundleError {
  std::string file;
  int line = 0;       // 1-based; 0 for the bundle as a whole.
  std::string field;  // "points[3][1]", "alerts[0].fired_at", "type", ...
  std::string message;
  std::string ToString() const;  // "FILE:LINE: field: message"
};

struct BundleReadResult {
  v1::Bundle bundle;  // Empty unless ok().
  bool has_incident = false;
  std::vector<BundleError> errors;
  std::vector<std::string> warnings;
  bool truncated = false;  // More errors existed than max_errors.
  bool ok() const { return errors.empty(); }
  // Every error on its own line (plus a note when truncated), as an InvalidArgument.
  absl::Status ToStatus() const;
};

// Reads a bundle held in memory; `name` is the FILE of error messages.
BundleReadResult ReadBundle(std::string_view name, std::string_view content,
                            const BundleReadOptions& options = {});

// Reads a bundle file, decompressing it when it starts with the gzip magic.
BundleReadResult ReadBundleFile(const std::string& path, const BundleReadOptions& options = {});

}  // namespace triage::collectors
