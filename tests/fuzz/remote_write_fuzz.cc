// libFuzzer: the remote_write decoder (a snappy block holding a protobuf);
// the input is tried as the body, and as the protobuf inside a valid block;
// the quick wire scan must agree with protobuf on every request it reads.
#include <snappy.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "collectors/remote_write.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  triage::collectors::Limits limits;
  for (const std::string& body : {in, [&] {
                                    std::string block;
                                    snappy::Compress(in.data(), in.size(), &block);
                                    return block;
                                  }()}) {
    triage::v1::RecordBatch batch;
    int64_t samples = 0;
    (void)triage::collectors::DecodeRemoteWrite(body, 1 << 20, limits, &batch, &samples);
  }
  // What the scan reads, protobuf reads the same: as many series and samples.
  std::vector<triage::collectors::WireSeries> series;
  std::vector<triage::collectors::WireSample> wire_samples;
  if (triage::collectors::ScanWriteRequest(in, &series, &wire_samples)) {
    triage::v1::RecordBatch batch;
    int64_t samples = 0;
    absl::Status s = triage::collectors::ParseWriteRequest(in, limits, &batch, &samples);
    if (s.ok() && (static_cast<size_t>(batch.series_size()) != series.size() ||
                   static_cast<size_t>(samples) != wire_samples.size())) {
      std::abort();
    }
  }
  return 0;
}
