#include "triage/server/gateway.h"

#include <chrono>
#include <future>

#include "absl/strings/str_format.h"
#include "triage/server/auth.h"
#include "triage/server/connect_codec.h"
#include "triage/server/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/model/proto_json.h"

namespace triage::server {

ConnectGateway::ConnectGateway(std::shared_ptr<grpc::Channel> channel, std::string secret)
    : channel_(std::move(channel)), secret_(std::move(secret)), stub_(channel_) {}

bool ConnectGateway::Handles(std::string_view path) { return IsConnectPath(path); }

HttpResponse ConnectGateway::Call(std::string_view path, std::string_view content_type,
                                  std::string_view body) {
  ConnectRequest call = DecodeConnectRequest(path, content_type, body);
  if (!call.ok()) {
    return ErrorResponse(call.error.code(), std::string(call.error.message()), call.http_status);
  }
  const google::protobuf::MethodDescriptor* method = call.method;
  const std::unique_ptr<google::protobuf::Message>& request = call.message;
  std::string wire = request->SerializeAsString();
  grpc::Slice slice(wire);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  context.AddMetadata(GrpcGuard::kGatewayHeader, secret_);
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
  return HttpResponse{200, "application/json", ProtoJson(*response), {}, false};
}

}  // namespace triage::server
