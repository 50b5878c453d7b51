// Writes records in the incident-bundle format (shared/spec/incident-bundle.md),
// one JSON object per line, so that ReadBundle reads back exactly the same
// records: times as RFC 3339, points as [unix_ms, value], numbers in their
// shortest round-trip form. Pure functions; thread-safe.
#pragma once

#include <string>

#include "triage/v1/records.pb.h"

namespace triage::collectors {

// Each appends one line (with its '\n') to *out.
void WriteIncident(const v1::Incident& r, std::string* out);
void WriteDependency(const v1::Dependency& r, std::string* out);
void WriteChange(const v1::Change& r, std::string* out);
void WriteSeries(const v1::Series& r, std::string* out);
void WriteHistogram(const v1::Histogram& r, std::string* out);
void WriteUpstream(const v1::Upstream& r, std::string* out);
void WriteEvalSet(const v1::EvalSet& r, std::string* out);
void WriteDependencyHealth(const v1::DependencyHealth& r, std::string* out);

// Every record of `batch` (dependencies first).
void WriteRecords(const v1::RecordBatch& batch, std::string* out);

}  // namespace triage::collectors
