// libFuzzer: one change event as JSON (POST /api/v1/changes).
#include <cstdint>
#include <string_view>

#include "collectors/change_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)triage::collectors::ParseChangeEvent(
      std::string_view(reinterpret_cast<const char*>(data), size), 1'767'225'600'000, 1,
      triage::collectors::Limits{});
  return 0;
}
