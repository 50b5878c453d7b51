// ConnectGateway: Connect-style unary JSON over every unary method of the
// triage.v1 services, from their descriptors (no per-method code). A request
// POST /triage.v1.<Service>/<Method> with a JSON body is parsed into the
// method's request message (proto3 JSON), sent over an in-process gRPC
// channel, and the response is written back as proto3 JSON with the proto
// field names. Errors are v1::ErrorReply ({"code", "message", "errors"}) with
// Connect's HTTP status for each code. The channel must accept replies as
// large as the server sends (ListIncidents pages stop at 16 MiB).
//
// Thread-safe; the channel is shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "triage/server/http_server.h"

namespace triage::server {

class ConnectGateway {
 public:
  // `secret` goes with every call (GrpcGuard::kGatewayHeader): the HTTP port
  // has checked the caller already.
  ConnectGateway(std::shared_ptr<grpc::Channel> channel, std::string secret);

  // True when `path` names a triage.v1 method (served or not).
  static bool Handles(std::string_view path);
  HttpResponse Call(std::string_view path, std::string_view content_type, std::string_view body);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  const std::string secret_;
  grpc::GenericStub stub_;
};

}  // namespace triage::server
