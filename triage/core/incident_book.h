// The incident book: what an Alertmanager webhook does to incidents, as a
// pure function (webhook in, incident state changes out; no threads, no
// I/O). Each alert opens an incident, joins an open one (alerts firing
// within the tree's shared-alert window), re-fires or resolves its alert, or
// changes nothing (the same fingerprint and startsAt again, or triaged's own
// enriched alert routed back). An alert that names no valid service and
// metric is kept as an unmapped incident with the reason.
//
//   BookUpdate u = ApplyWebhook(hook, now, stored_states, options);
//   for (auto& [id, state] : u.changed) store(state); for (id : u.to_walk) walk(id);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "triage/v1/alerts.pb.h"
#include "triage/v1/records.pb.h"

namespace triage::core {

struct BookOptions {
  std::string service_label = "service";     // Label giving an alert's service.
  std::string metric_label = "metric";       // Label giving its metric ...
  std::string metric_annotation = "metric";  // ... else this annotation.
  int64_t shared_alert_window_ms = 10 * 60'000;
};

struct BookUpdate {
  v1::WebhookReply reply;
  std::map<std::string, v1::IncidentState> changed;  // Incidents to store, by id.
  std::vector<std::string> to_walk;                  // Opened, joined or re-fired.
  std::vector<std::string> resolved;                 // Resolved by this webhook.
  int pages = 0;                                     // Firing alerts seen for the first time.
};

// Applies a validated webhook received at `now` to the incidents in
// `states` (every stored one). Times on the incidents are the alerts' own
// (startsAt, or endsAt for a resolve; `now` for an alert without), so that
// every replica given the same alerts derives the same incidents.
BookUpdate ApplyWebhook(const v1::AlertmanagerWebhook& hook, int64_t now,
                        const std::vector<v1::IncidentState>& states, const BookOptions& options);

// The incident the walk sees: its mapped alerts, fired at their startsAt.
v1::Incident ToIncident(const v1::IncidentState& state);

void AddTimeline(v1::IncidentState* state, int64_t t, std::string event, std::string detail);

}  // namespace triage::core
