#include "triage/api/errors.h"

#include "absl/strings/str_format.h"
#include "collectors/validate.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"
#include "proto/model/proto_json.h"
#include "triage/store/store.h"
#include "triage/v1/errors.pb.h"

namespace triage::api {

namespace {

struct CodeInfo {
  const char* name;
  int http;
};

// Connect's table, indexed by absl::StatusCode (= grpc::StatusCode).
constexpr CodeInfo kCodes[] = {
    {"ok", 200},
    {"canceled", 499},
    {"unknown", 500},
    {"invalid_argument", 400},
    {"deadline_exceeded", 504},
    {"not_found", 404},
    {"already_exists", 409},
    {"permission_denied", 403},
    {"resource_exhausted", 429},
    {"failed_precondition", 400},
    {"aborted", 409},
    {"out_of_range", 400},
    {"unimplemented", 501},
    {"internal", 500},
    {"unavailable", 503},
    {"data_loss", 500},
    {"unauthenticated", 401},
};

const CodeInfo& Info(absl::StatusCode code) {
  int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(kCodes)) ? kCodes[i] : kCodes[2];
}

constexpr char kInputErrorsType[] = "type.googleapis.com/triage.v1.InputErrors";

}  // namespace

const char* ConnectCodeName(absl::StatusCode code) { return Info(code).name; }
int ConnectHttpStatus(absl::StatusCode code) { return Info(code).http; }

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(s.code());
  std::optional<v1::InputErrors> errors = collectors::InputErrorsOf(s);
  if (!errors) return grpc::Status(code, std::string(s.message()));
  google::rpc::Status details;
  details.set_code(static_cast<int>(s.code()));
  details.set_message(std::string(s.message()));
  details.add_details()->PackFrom(*errors);
  return grpc::Status(code, std::string(s.message()), details.SerializeAsString());
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  google::rpc::Status details;
  if (!s.error_details().empty() && details.ParseFromString(s.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      v1::InputErrors errors;
      if (any.UnpackTo(&errors)) {
        out.SetPayload(kInputErrorsType, absl::Cord(errors.SerializeAsString()));
      }
    }
  }
  return out;
}

net::HttpResponse ErrorResponse(absl::StatusCode code, std::string_view message, int http_status) {
  v1::ErrorReply reply;
  reply.set_code(ConnectCodeName(code));
  reply.set_message(std::string(message));
  net::HttpResponse r;
  r.status = http_status != 0 ? http_status : ConnectHttpStatus(code);
  r.body = ProtoJson(reply);
  return r;
}

net::HttpResponse ErrorResponse(const absl::Status& s, bool insufficient_storage_507) {
  v1::ErrorReply reply;
  reply.set_code(ConnectCodeName(s.code()));
  net::HttpResponse r;
  r.status = ConnectHttpStatus(s.code());
  if (std::optional<v1::InputErrors> errors = collectors::InputErrorsOf(s)) {
    for (const v1::InputError& e : errors->errors()) reply.add_errors(collectors::Render(e));
    v1::ErrorDetail* detail = reply.add_details();
    detail->set_type(std::string(v1::InputErrors::descriptor()->full_name()));
    detail->set_value(errors->SerializeAsString());
    *detail->mutable_debug() = *errors;
    reply.set_message(errors->errors_size() == 1 && !errors->truncated()
                          ? reply.errors(0)
                          : absl::StrFormat("%d errors%s; none of the request was stored",
                                            errors->errors_size(),
                                            errors->truncated() ? " (and more)" : ""));
  } else {
    reply.set_message(std::string(s.message()));
  }
  if (store::IsInsufficientStorage(s)) {
    if (insufficient_storage_507) r.status = 507;
    r.headers.emplace_back("Retry-After", "30");
  }
  r.body = ProtoJson(reply);
  return r;
}

void CountLimitRejections(const absl::Status& s, Metrics& metrics) {
  std::optional<v1::InputErrors> errors = collectors::InputErrorsOf(s);
  if (!errors) return;
  for (const v1::InputError& e : errors->errors()) {
    if (!e.limit().empty()) metrics.limit_rejections.Add({{"limit", e.limit()}}).Increment();
  }
}

}  // namespace triage::api
