// Decoding Prometheus remote_write 1.0 requests: a snappy block (not framed)
// holding a prometheus.WriteRequest. `__name__` becomes the series' metric,
// `service` ties it to a service, every label is kept. Each series is then
// checked by the one validator (collectors/validate.h) under
// "timeseries[i]": label names, values and counts, names, timestamps. NaN
// samples (staleness markers) and infinities are valid sample values. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "collectors/validate.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// InvalidArgument (the sender must not retry) for a corrupt snappy block, an
// undecodable protobuf, or a series that breaks a rule (no or a repeated
// label name, names, limits), carrying the structured errors;
// ResourceExhausted when the block decodes to more than max_decoded_bytes.
// On success `batch` holds the series (callers on the hot path allocate it on
// an Arena) and *samples their sample count.
absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               const Limits& limits, v1::RecordBatch* batch, int64_t* samples);

}  // namespace triage::collectors
