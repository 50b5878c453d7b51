// The Connect protocol's unary calls (connectrpc.com/docs/protocol), from the
// descriptors alone (no per-method code): POST /triage.v1.<Service>/<Method>
// with a JSON (application/json) or binary (application/proto) body,
// optionally gzip-compressed (Content-Encoding), a Connect-Timeout-Ms, and a
// Connect-Protocol-Version of 1. Decoding names what is wrong with Connect's
// code for it; encoding answers in the request's codec and compresses with
// gzip when the client accepts it. Errors are always JSON (errors.h, by the
// gateway).
// Pure functions; thread-safe.
//
//   ConnectRequest call = DecodeConnectRequest(path, headers, body, max_body_bytes);
//   if (!call.ok()) ... answer call.error (JSON) ...
//   ... run call.method on *call.message until call.timeout_ms ...
//   return ConnectResponse(call, *response);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "triage/net/http_server.h"

namespace triage::api {

enum class ConnectCodec { kJson, kProto };

// The headers of an HTTP request that Connect reads (empty when absent).
struct ConnectHeaders {
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view accept_encoding;
  std::string_view timeout_ms;        // Connect-Timeout-Ms
  std::string_view protocol_version;  // Connect-Protocol-Version
};

struct ConnectRequest {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::unique_ptr<google::protobuf::Message> message;  // Set when ok.
  ConnectCodec codec = ConnectCodec::kJson;
  std::optional<int64_t> timeout_ms;  // Connect-Timeout-Ms, when sent.
  bool accepts_gzip = false;          // The answer may be gzip-compressed.

  absl::Status error;   // Why the request cannot be served.
  int http_status = 0;  // The HTTP status of `error` when it is not Connect's for the code.
  std::vector<std::pair<std::string, std::string>> error_headers;  // Accept-Post, Accept-Encoding.
  bool ok() const { return error.ok(); }
};

// True when `path` names a triage.v1 method (served or not).
bool IsConnectPath(std::string_view path);

// The request's method and message; unknown JSON fields are ignored (a client
// built from a newer proto sends them). A compressed body may inflate to at
// most `max_body_bytes`.
ConnectRequest DecodeConnectRequest(std::string_view path, const ConnectHeaders& headers,
                                    std::string_view body, size_t max_body_bytes);

// 200 with the response in the request's codec; gzip-compressed when the
// client accepts gzip and the body is worth compressing.
net::HttpResponse ConnectResponse(const ConnectRequest& request,
                             const google::protobuf::Message& response);

}  // namespace triage::api
