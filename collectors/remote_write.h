// Decoding Prometheus remote_write 1.0 requests: a snappy block (not framed)
// holding a prometheus.WriteRequest. `__name__` becomes the series' metric,
// `service` ties it to a service, every label is kept. NaN samples (staleness
// markers) are kept as NaN; infinities are valid sample values. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// InvalidArgument (the sender must not retry) for a corrupt snappy block, an
// undecodable protobuf, a series without __name__, or an invalid metric or
// service name; ResourceExhausted when the block decodes to more than
// max_decoded_bytes. On success `batch` holds the series (callers on the hot
// path allocate it on an Arena) and *samples their sample count.
absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               v1::RecordBatch* batch, int64_t* samples);

}  // namespace triage::collectors
