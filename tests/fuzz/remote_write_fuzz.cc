// libFuzzer: the remote_write decoder (a snappy block holding a protobuf);
// the input is tried as the body, and as the protobuf inside a valid block.
#include <snappy.h>

#include <cstdint>
#include <string>

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
  return 0;
}
