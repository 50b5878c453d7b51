// libFuzzer: the Alertmanager webhook parser and its validation.
#include <cstdint>
#include <string_view>

#include "collectors/alertmanager.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)triage::collectors::ParseAlertmanagerWebhook(
      std::string_view(reinterpret_cast<const char*>(data), size), triage::collectors::Limits{});
  return 0;
}
