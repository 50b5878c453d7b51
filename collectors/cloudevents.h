// CloudEvents 1.0 over HTTP (POST /api/v1/cloudevents) as changes. The mode
// is the Content-Type's: application/cloudevents-batch+json (a JSON array of
// events), application/cloudevents+json (one event), anything else binary
// (attributes in percent-encoded ce-* headers, the body is `data`).
//
// CDEvents dev.cdevents.service.{deployed,upgraded,rolledback,removed}.*
// become code_deploy on the last path segment of subject.id (renamed by the
// mapping's `services`), the artifact as the version; other types by the
// mapping file's `cloudevents` list (change_sources.h), checked first.
// Events of other types are ignored (and said so). A change's id comes from
// the event's source and id, so a redelivery names the same change.
//
// Errors are InvalidArgument carrying input errors: "events[2].type",
// "event.time", "ce-id". Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "collectors/change_event.h"
#include "collectors/change_sources.h"
#include "collectors/validate.h"

namespace triage::collectors {

struct CloudEventsRequest {
  std::string_view content_type;  // As sent.
  // The request's headers, names lower-cased (only ce-* are read).
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::string_view body;
};

absl::StatusOr<EventChanges> ParseCloudEvents(const CloudEventsRequest& request, int64_t now_ms,
                                              const ChangeSources& sources, const Limits& limits);

// One round of percent-decoding of a ce-* header value (after unquoting an
// RFC 7230 quoted string); the result must be valid UTF-8.
absl::StatusOr<std::string> DecodeCeHeader(std::string_view value);

}  // namespace triage::collectors
