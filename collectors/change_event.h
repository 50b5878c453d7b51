// Change events as JSON. ParseChangeEvent reads triage's own shape (POST
// /api/v1/changes: CI pipelines, webhooks): the proto3 JSON mapping of
// triage.v1.Change, unknown fields ignored. The readers of other systems'
// events (cloudevents.h, aws_health.h, github.h) return EventChanges: each
// change's id is made from the event's own identity (EventChangeId), so a
// redelivered event names the change it made before. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "collectors/validate.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// InvalidArgument (with the input errors, paths "changes[0].kind") for a
// body that is not a valid change event. The time defaults to `now_ms`,
// the id to one made from it (`id_suffix` makes generated ids unique), the
// origin to "api"; the result is checked by the one validator.
absl::StatusOr<v1::Change> ParseChangeEvent(std::string_view body, int64_t now_ms,
                                            uint32_t id_suffix, const Limits& limits);

// A change read from another system's event. `timed`: the event said when
// (else the time is when it arrived, and a redelivery keeps the first).
struct EventChange {
  v1::Change change;
  bool timed = true;
};

// What one request of events became: the changes (each checked by the
// validator) and the events taken but not kept, each with why.
struct EventChanges {
  std::vector<EventChange> changes;
  std::vector<std::string> ignored;
};

// Debian's absl has its own string_view: absl's string functions take this.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Checks `change` by the one validator (errors under `at`) and keeps it:
// the last step of each reader.
absl::StatusOr<EventChanges> Keep(EventChange change, const Origin& at, const Limits& limits,
                                  EventChanges out);

// "<prefix>-" and 24 hex digits of the SHA-256 of `key`.
std::string EventChangeId(std::string_view prefix, std::string_view key);

// The last non-empty '/'-separated segment ("/ns/app/" -> "app").
std::string LastPathSegment(std::string_view s);

}  // namespace triage::collectors
