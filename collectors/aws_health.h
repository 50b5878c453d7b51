// AWS Health events as EventBridge delivers them (POST /api/v1/aws-health:
// "source":"aws.health", "detail-type":"AWS Health Event") as
// managed_service changes at the event's start time (a scheduled change
// appears when it is due), on the service the mapping names for
// detail.service (aws_health.services; unmapped codes lower-cased, or
// ignored). The change's id comes from the event ARN, and its summary holds
// the status, so a redelivery is the same change and a new status updates
// it. Abuse events are ignored. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "collectors/change_event.h"
#include "collectors/change_sources.h"
#include "collectors/validate.h"

namespace triage::collectors {

absl::StatusOr<EventChanges> ParseAwsHealthEvent(std::string_view body,
                                                 const ChangeSources& sources,
                                                 const Limits& limits);

// "Fri, 27 Jan 2023 06:02:51 GMT" as AWS Health writes it: the weekday is
// optional and not checked (AWS's own samples get it wrong), the day may
// have one digit; GMT, UTC, Z or +hhmm. RFC 3339 is taken too.
absl::StatusOr<int64_t> ParseHttpDate(std::string_view text);

}  // namespace triage::collectors
