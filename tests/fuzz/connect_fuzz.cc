// libFuzzer: the Connect request path. The input's first line is the path
// (after /triage.v1.), the second the Content-Type, the rest the body.
#include <cstdint>
#include <string>
#include <string_view>

#include "triage/server/connect_codec.h"
#include "triage/v1/service.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool linked = [] {  // Registers the services' descriptors.
    triage::v1::TriageRequest().GetDescriptor();
    return true;
  }();
  (void)linked;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t a = in.find('\n');
  size_t b = a == std::string_view::npos ? a : in.find('\n', a + 1);
  std::string path = "/triage.v1." + std::string(in.substr(0, a));
  std::string_view type = a == std::string_view::npos ? "" : in.substr(a + 1, b - a - 1);
  std::string_view body = b == std::string_view::npos ? "" : in.substr(b + 1);
  (void)triage::server::DecodeConnectRequest(path, type, body);
  return 0;
}
