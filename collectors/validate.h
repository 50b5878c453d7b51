// Validation of records that arrive typed (gRPC, the JSON gateway, single
// change events) rather than as bundle text: the same rules the bundle
// reader applies, reported by field path ("changes[2].kind: unknown change
// kind \"deploy\""). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "triage/v1/records.pb.h"

namespace triage::collectors {

// Every problem of `batch`, at most `max_errors`. Empty when valid.
std::vector<std::string> ValidateRecords(const v1::RecordBatch& batch, size_t max_errors = 100);

// Problems of an incident: an id, at least one alert with a valid service,
// metric and fired_at.
std::vector<std::string> ValidateIncident(const v1::Incident& incident);

}  // namespace triage::collectors
