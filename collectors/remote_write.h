// Decoding Prometheus remote_write 1.0 requests: a snappy block (not framed)
// holding a prometheus.WriteRequest. `__name__` becomes the series' metric,
// `service` ties it to a service, every label is kept. Each series is then
// checked by the one validator (collectors/validate.h) under
// "timeseries[i]": label names, values and counts, names, timestamps. NaN
// samples (staleness markers) and infinities are valid sample values. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "collectors/validate.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// InvalidArgument (the sender must not retry) for a corrupt snappy block, an
// undecodable protobuf, or a series that breaks a rule (no or a repeated
// label name, names, limits), carrying the structured errors;
// ResourceExhausted when the block decodes to more than max_decoded_bytes.
// On success `batch` holds the series (callers on the hot path allocate it on
// an Arena) and *samples their sample count. Unsnappy, then ParseWriteRequest.
absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               const Limits& limits, v1::RecordBatch* batch, int64_t* samples);

// The body's snappy block, decoded into `decoded` (DecodeRemoteWrite's errors).
absl::Status Unsnappy(std::string_view body, size_t max_decoded_bytes, std::string* decoded);
// A decoded block as DecodeRemoteWrite reads it.
absl::Status ParseWriteRequest(std::string_view decoded, const Limits& limits,
                               v1::RecordBatch* batch, int64_t* samples);

// A decoded block read straight from its bytes, building no messages: per
// TimeSeries the bytes of its labels (its label fields, which must come
// first and together) and its samples. This is the quick way in for series
// seen before: identical label bytes passed ParseWriteRequest's checks then,
// and PointTimeOk is the only check left for the samples. False for
// anything it does not read plainly (then ParseWriteRequest decides).
struct WireSeries {
  std::string_view labels;
  size_t first_sample = 0;  // Its samples: samples[first_sample, first_sample + count).
  size_t count = 0;
};
struct WireSample {
  int64_t t;
  double v;
};
bool ScanWriteRequest(std::string_view decoded, std::vector<WireSeries>* series,
                      std::vector<WireSample>* samples);

}  // namespace triage::collectors
