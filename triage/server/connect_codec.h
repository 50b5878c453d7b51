// Decoding a Connect unary request (POST /triage.v1.<Service>/<Method>) into
// the method and its request message, from the descriptors alone (no
// per-method code). Pure; thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace triage::server {

struct ConnectRequest {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::unique_ptr<google::protobuf::Message> message;  // Set when ok.
  absl::Status error;   // Why the request cannot be served.
  int http_status = 0;  // The HTTP status of `error` when it is not Connect's for the code.
  bool ok() const { return error.ok(); }
};

// True when `path` names a triage.v1 method (served or not).
bool IsConnectPath(std::string_view path);

ConnectRequest DecodeConnectRequest(std::string_view path, std::string_view content_type,
                                    std::string_view body);

}  // namespace triage::server
