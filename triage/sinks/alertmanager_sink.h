// AlertmanagerSink: enriched alerts to Alertmanager's POST /api/v2/alerts,
// through a DeliveryQueue (persisted, bounded, in order, with backoff).
//
// Thread-safe. Start() runs the deliverer on its own thread; DeliverDue()
// is the same work done once, for tests on a fake clock. Store, clock and
// metrics are not owned and must outlive the sink.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "triage/base/clock.h"
#include "triage/sinks/delivery_queue.h"
#include "triage/base/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/report.pb.h"

namespace triage::sinks {

// The label every enriched alert carries: its incident's id (so the incident
// book knows its own alert when Alertmanager routes it back).
inline constexpr char kLoopLabel[] = "triage_incident";

struct SinkOptions {
  std::string page_url = "http://127.0.0.1:7080/";  // Base of the links in annotations.
  int64_t resend_ms = 60'000;  // Firing alerts are re-sent this often (endsAt lies 4x ahead).
  size_t max_queue = 10'000;   // Enriched alerts waiting at most.
};

// The enriched alert for an incident and its report: the first alert's
// labels plus triage_category, triage_owner and triage_incident; annotations
// triage_summary, triage_mitigation, triage_link.
v1::PostableAlert EnrichedAlert(const v1::IncidentState& state, const v1::TriageReport& report,
                                bool resolved, int64_t now, const SinkOptions& options);

class AlertmanagerSink {
 public:
  using Poster = DeliveryQueue::Poster;
  // Called after each delivery of an alert a webhook caused (for the
  // incident's timeline), with the milliseconds since that webhook.
  using Delivered = DeliveryQueue::Delivered;

  AlertmanagerSink(store::Store& store, const Clock& clock, Metrics& metrics, SinkOptions options,
                   Poster post, Delivered delivered);

  // Queues the enriched alert (persisted before it returns). `received_ms`:
  // when the webhook that caused it arrived (0 for a re-send).
  absl::Status Send(const v1::IncidentState& state, const v1::TriageReport& report, bool resolved,
                    int64_t received_ms);

  void Start() { queue_.Start(); }
  void Stop() { queue_.Stop(); }
  int64_t DeliverDue() { return queue_.DeliverDue(); }
  // Incident ids with a delivery waiting.
  absl::StatusOr<std::set<std::string>> Pending() const;

 private:
  const Clock& clock_;
  const SinkOptions options_;
  DeliveryQueue queue_;
};

}  // namespace triage::sinks
