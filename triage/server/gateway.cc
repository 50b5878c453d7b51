#include "triage/server/gateway.h"

#include <chrono>
#include <future>

#include "absl/strings/str_format.h"
#include "triage/server/errors.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/support/byte_buffer.h"
#include "triage/base/proto_json.h"

namespace triage::server {

namespace {

constexpr std::string_view kPackagePrefix = "/triage.v1.";

}  // namespace

ConnectGateway::ConnectGateway(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)), stub_(channel_) {}

bool ConnectGateway::Handles(std::string_view path) { return path.starts_with(kPackagePrefix); }

HttpResponse ConnectGateway::Call(std::string_view path, std::string_view content_type,
                                  std::string_view body) {
  auto error = [](int code, std::string_view message, int http = 0) {
    return ErrorResponse(static_cast<absl::StatusCode>(code), message, http);
  };
  // "/triage.v1.TriageService/Triage" -> "triage.v1.TriageService.Triage"
  std::string name(path.substr(1));
  size_t slash = name.find('/');
  if (slash == std::string::npos) return error(12, "no such method", 404);
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  if (method == nullptr) {
    return error(12, absl::StrFormat("no method %s", path.substr(1)), 404);
  }
  if (method->client_streaming() || method->server_streaming()) {
    return error(12, absl::StrFormat("%s is a streaming method; use gRPC", path.substr(1)), 415);
  }
  if (!content_type.starts_with("application/json")) {
    return error(
        3, absl::StrFormat("Content-Type must be application/json, got \"%s\"", content_type), 415);
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(body.empty() ? "{}" : std::string(body),
                                                            request.get(), parse_options);
  if (!parsed.ok()) {
    return error(
        3, absl::StrFormat("request body is not a valid %s: %s", method->input_type()->full_name(),
                           std::string(parsed.message())));
  }
  std::string wire = request->SerializeAsString();
  grpc::Slice slice(wire);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::promise<grpc::Status> done;
  stub_.UnaryCall(&context, "/" + method->service()->full_name() + "/" + method->name(),
                  grpc::StubOptions(), &request_buffer, &response_buffer,
                  [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return ErrorResponse(FromGrpc(status));

  grpc::Slice single;
  if (!response_buffer.DumpToSingleSlice(&single).ok()) return error(13, "empty response");
  std::unique_ptr<google::protobuf::Message> response(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method->output_type())
          ->New());
  if (!response->ParseFromArray(single.begin(), static_cast<int>(single.size()))) {
    return error(13, "undecodable response");
  }
  return HttpResponse{200, "application/json", ProtoJson(*response), {}, false};
}

}  // namespace triage::server
