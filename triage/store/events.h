// Events (peer.proto): every write also goes into the store's event log, once,
// under a key derived from the write itself, so that replicas can pull from
// each other what they lack and the same event through two replicas, a retry
// or a repair is stored once. These build the events; Store logs them
// (Store::Write for records, PutIncidentRecords for alerts and resolutions)
// and serves them (EventsAfter). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/peer.pb.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/service.pb.h"

namespace triage::store {

// FNV-1a 64 of the message's deterministic serialization, as 16 hex digits:
// the same on every replica and every build.
std::string ContentHash(const google::protobuf::Message& m);

// One event per record of `batch` other than series points (every replica
// is sent those itself), each holding that record alone.
std::vector<v1::Event> RecordEvents(const v1::RecordBatch& batch);

// Alert `i` of `hook` as an event: the webhook's envelope with that alert
// only, keyed by group key, fingerprint, status, startsAt and endsAt; its
// time is endsAt for a resolved alert, else startsAt.
v1::Event AlertEvent(const v1::AlertmanagerWebhook& hook, int i);

// The time an alert's event happened (AlertEvent's time_ms), or `fallback`
// when the alert carries none.
int64_t AlertTime(const v1::WebhookAlert& alert, int64_t fallback);

// A root cause recorded for an incident at `time_ms`.
v1::Event ResolutionEvent(const v1::ResolveIncidentRequest& request, int64_t time_ms);

// A fire drill started at `time_ms` with this id.
v1::Event DrillStartEvent(const std::string& drill_id, const v1::StartDrillRequest& request,
                          int64_t time_ms);
// A drill's open (answer: false) or answer step, its minute set.
v1::Event DrillStepEvent(const v1::DrillActionRequest& request, bool answer, int64_t time_ms);

// A tree's text installed at `installed_ms` (the event's time is 0: kept).
inline constexpr char kTreeEventPrefix[] = "tree/";
v1::Event TreeInstalledEvent(const std::string& text, int64_t installed_ms);

}  // namespace triage::store
