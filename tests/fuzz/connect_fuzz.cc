// libFuzzer: the Connect request path. The input's first line is the path
// (after /triage.v1.), the second the Content-Type, the third the
// Content-Encoding, the rest the body.
#include <cstdint>
#include <string>
#include <string_view>

#include "triage/api/connect_codec.h"
#include "triage/v1/service.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool linked = [] {  // Registers the services' descriptors.
    triage::v1::TriageRequest().GetDescriptor();
    return true;
  }();
  (void)linked;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto line = [&in]() {
    size_t end = in.find('\n');
    std::string_view first = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
    return first;
  };
  std::string path = "/triage.v1." + std::string(line());
  triage::api::ConnectHeaders headers;
  headers.content_type = line();
  headers.content_encoding = line();
  triage::api::ConnectRequest r =
      triage::api::DecodeConnectRequest(path, headers, in, 1 << 20);
  if (r.ok()) (void)triage::api::ConnectResponse(r, *r.message);
  return 0;
}
