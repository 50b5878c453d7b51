#include "triage/api/gateway.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/byte_buffer.h"
#include "triage/auth/auth.h"
#include "triage/api/connect_codec.h"
#include "triage/api/errors.h"

namespace triage::api {

namespace {

// The error answer for a request that could not be decoded.
net::HttpResponse DecodeError(const ConnectRequest& request) {
  net::HttpResponse r = ErrorResponse(request.error);
  if (request.http_status != 0) r.status = request.http_status;
  for (const auto& h : request.error_headers) r.headers.push_back(h);
  return r;
}

}  // namespace

ConnectGateway::ConnectGateway(std::shared_ptr<grpc::Channel> channel, std::string secret,
                               size_t max_body_bytes, int64_t max_timeout_ms)
    : channel_(std::move(channel)),
      secret_(std::move(secret)),
      max_body_bytes_(max_body_bytes),
      max_timeout_ms_(max_timeout_ms),
      stub_(channel_) {}

bool ConnectGateway::Handles(std::string_view path) { return IsConnectPath(path); }

net::HttpResponse ConnectGateway::Call(const net::HttpRequest& http) {
  ConnectHeaders headers;
  headers.content_type = http.Header("content-type");
  headers.content_encoding = http.Header("content-encoding");
  headers.accept_encoding = http.Header("accept-encoding");
  headers.timeout_ms = http.Header("connect-timeout-ms");
  headers.protocol_version = http.Header("connect-protocol-version");
  ConnectRequest call = DecodeConnectRequest(http.path, headers, http.body, max_body_bytes_);
  if (!call.ok()) return DecodeError(call);
  const google::protobuf::MethodDescriptor* method = call.method;
  const std::unique_ptr<google::protobuf::Message>& request = call.message;
  std::string wire = request->SerializeAsString();
  grpc::Slice slice(wire);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  const int64_t timeout_ms = std::min(call.timeout_ms.value_or(max_timeout_ms_), max_timeout_ms_);
  if (timeout_ms == 0) {
    return ErrorResponse(absl::StatusCode::kDeadlineExceeded,
                         "Connect-Timeout-Ms is 0: the deadline passed before the call began");
  }
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  context.AddMetadata(auth::GrpcGuard::kGatewayHeader, secret_);
  std::promise<grpc::Status> done;
  stub_.UnaryCall(&context, "/" + method->service()->full_name() + "/" + method->name(),
                  grpc::StubOptions(), &request_buffer, &response_buffer,
                  [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return ErrorResponse(FromGrpc(status));

  grpc::Slice single;
  if (!response_buffer.DumpToSingleSlice(&single).ok()) {
    return ErrorResponse(absl::StatusCode::kInternal, "empty response");
  }
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method->output_type())
          ->New());
  if (!response->ParseFromArray(single.begin(), static_cast<int>(single.size()))) {
    return ErrorResponse(absl::StatusCode::kInternal, "undecodable response");
  }
  return ConnectResponse(call, *response);
}

}  // namespace triage::api
