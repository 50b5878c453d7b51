// ConnectGateway: the Connect protocol's unary calls (connect_codec.h) over
// every unary method of the triage.v1 services, from their descriptors (no
// per-method code). The decoded request goes over an in-process gRPC channel
// with the client's Connect-Timeout-Ms as its deadline (at most
// `max_timeout_ms`, which is also the deadline when none is sent); the answer
// goes back in the request's codec. Errors are v1::ErrorReply with Connect's
// HTTP status for each code (errors.h). The channel must accept replies as
// large as the server sends (ListIncidents pages stop at 16 MiB).
//
// Thread-safe; the channel is shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "triage/net/http_server.h"

namespace triage::api {

class ConnectGateway {
 public:
  // `secret` goes with every call (GrpcGuard::kGatewayHeader): the HTTP port
  // has checked the caller already.
  ConnectGateway(std::shared_ptr<grpc::Channel> channel, std::string secret, size_t max_body_bytes,
                 int64_t max_timeout_ms = 60'000);

  // True when `path` names a triage.v1 method (served or not).
  static bool Handles(std::string_view path);
  net::HttpResponse Call(const net::HttpRequest& request);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  const std::string secret_;
  const size_t max_body_bytes_;
  const int64_t max_timeout_ms_;
  grpc::GenericStub stub_;
};

}  // namespace triage::api
