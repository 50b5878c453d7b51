// One change event as JSON (POST /api/v1/changes: CI pipelines, webhooks):
// the proto3 JSON mapping of triage.v1.Change, unknown fields ignored. The
// time defaults to `now_ms` and the id to one made from it; the result is
// checked by the one validator. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "collectors/validate.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// InvalidArgument (with the input errors, paths "changes[0].kind") for a
// body that is not a valid change event. `id_suffix` makes generated ids unique.
absl::StatusOr<v1::Change> ParseChangeEvent(std::string_view body, int64_t now_ms,
                                            uint32_t id_suffix, const Limits& limits);

}  // namespace triage::collectors
