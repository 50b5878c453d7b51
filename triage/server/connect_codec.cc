#include "triage/server/connect_codec.h"

#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"

namespace triage::server {

namespace {

constexpr std::string_view kPackagePrefix = "/triage.v1.";

ConnectRequest Error(absl::StatusCode code, std::string message, int http_status = 0) {
  ConnectRequest r;
  r.error = absl::Status(code, message);
  r.http_status = http_status;
  return r;
}

}  // namespace

bool IsConnectPath(std::string_view path) { return path.starts_with(kPackagePrefix); }

ConnectRequest DecodeConnectRequest(std::string_view path, std::string_view content_type,
                                    std::string_view body) {
  // "/triage.v1.TriageService/Triage" -> "triage.v1.TriageService.Triage"
  std::string name(path.substr(path.empty() ? 0 : 1));
  size_t slash = name.find('/');
  if (!IsConnectPath(path) || slash == std::string::npos) {
    return Error(absl::StatusCode::kUnimplemented, "no such method", 404);
  }
  name[slash] = '.';
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  if (method == nullptr) {
    return Error(absl::StatusCode::kUnimplemented, absl::StrFormat("no method %s", path.substr(1)),
                 404);
  }
  if (method->client_streaming() || method->server_streaming()) {
    return Error(absl::StatusCode::kUnimplemented,
                 absl::StrFormat("%s is a streaming method; use gRPC", path.substr(1)), 415);
  }
  if (!content_type.starts_with("application/json")) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrFormat("Content-Type must be application/json, got \"%s\"", content_type),
                 415);
  }
  ConnectRequest r;
  r.method = method;
  r.message.reset(google::protobuf::MessageFactory::generated_factory()
                      ->GetPrototype(method->input_type())
                      ->New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      body.empty() ? google::protobuf::StringPiece("{}")
                   : google::protobuf::StringPiece(body.data(), body.size()),
      r.message.get(), options);
  if (!parsed.ok()) {
    return Error(absl::StatusCode::kInvalidArgument,
                 absl::StrFormat("request body is not a valid %s: %s",
                                 method->input_type()->full_name(), std::string(parsed.message())));
  }
  return r;
}

}  // namespace triage::server
