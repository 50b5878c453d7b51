// The edge conversions of errors: absl::Status inside, gRPC status (with the
// input errors in google.rpc.Status details) on the gRPC port, Connect codes
// and HTTP statuses with a JSON body (v1::ErrorReply) on the HTTP port.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "triage/net/http_server.h"
#include "triage/base/metrics.h"

namespace triage::api {

// Connect's code name ("invalid_argument") and HTTP status for a code.
const char* ConnectCodeName(absl::StatusCode code);
int ConnectHttpStatus(absl::StatusCode code);

// gRPC status with the same code and message; input errors travel as
// google.rpc.Status details (grpc-status-details-bin).
grpc::Status ToGrpc(const absl::Status& s);
// Back again (the JSON gateway reads the in-process call's status).
absl::Status FromGrpc(const grpc::Status& s);

// {"code","message","errors","details"} with Connect's HTTP status; a write
// refused for want of disk space is 507 (Retry-After) when
// `insufficient_storage_507`, else 503 (Retry-After) as Connect has it.
net::HttpResponse ErrorResponse(const absl::Status& s, bool insufficient_storage_507 = false);
// The same for a code and message.
net::HttpResponse ErrorResponse(absl::StatusCode code, std::string_view message, int http_status = 0);

// Counts the input errors of `s` that name a limit (triage_limit_rejections_total).
void CountLimitRejections(const absl::Status& s, Metrics& metrics);

}  // namespace triage::api
