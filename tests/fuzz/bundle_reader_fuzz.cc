// libFuzzer: the bundle reader (every bundle line is untrusted), read whole
// and in two pieces split at an arbitrary point (the streaming path).
#include <cstdint>
#include <string_view>

#include "collectors/bundle_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  triage::collectors::ReadBundle("fuzz", in, {.require_incident = false, .max_errors = 20});
  triage::collectors::BundleDecoder decoder("fuzz", {.max_errors = 20, .max_line_bytes = 1 << 16});
  size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  decoder.Feed(in.substr(0, cut));
  decoder.Feed(in.substr(cut));
  decoder.Finish();
  return 0;
}
