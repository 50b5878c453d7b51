// ConnectGateway: Connect-style unary JSON over every unary method of the
// triage.v1 services, from their descriptors (no per-method code). A request
// POST /triage.v1.<Service>/<Method> with a JSON body is parsed into the
// method's request message (proto3 JSON), sent over an in-process gRPC
// channel, and the response is written back as proto3 JSON with the proto
// field names. Errors are {"code": "...", "message": "..."} with Connect's
// HTTP status for each code.
//
// Thread-safe; the channel is shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"

namespace triage::server {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Connect's HTTP status and code name for a gRPC/absl status code number.
int ConnectHttpStatus(int code);
const char* ConnectCodeName(int code);
// {"code": "...", "message": "..."}
std::string ConnectErrorJson(int code, std::string_view message);

class ConnectGateway {
 public:
  explicit ConnectGateway(std::shared_ptr<grpc::Channel> channel);

  // True when `path` names a triage.v1 method (served or not).
  static bool Handles(std::string_view path);
  HttpReply Call(std::string_view path, std::string_view content_type, std::string_view body);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
};

}  // namespace triage::server
