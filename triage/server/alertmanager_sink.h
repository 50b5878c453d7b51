// AlertmanagerSink: enriched alerts to Alertmanager's POST /api/v2/alerts,
// through a queue persisted in the store (it survives restarts), bounded
// (past max_queue the oldest are dropped and counted), delivered in order
// with exponential backoff (0.25 s to 30 s) while Alertmanager fails.
//
// Thread-safe. Start() runs the deliverer on its own thread; DeliverDue()
// is the same work done once, for tests on a fake clock. Store, clock and
// metrics are not owned and must outlive the sink.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "triage/base/clock.h"
#include "triage/server/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/report.pb.h"

namespace triage::server {

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
  // POSTs a JSON body to Alertmanager's /api/v2/alerts; OK on a 2xx.
  using Poster = std::function<absl::Status(const std::string& body)>;
  // Called after each delivery of an alert a webhook caused (for the
  // incident's timeline), with the milliseconds since that webhook.
  using Delivered = std::function<void(const v1::Delivery& d, int64_t latency_ms)>;

  AlertmanagerSink(store::Store& store, const Clock& clock, Metrics& metrics, SinkOptions options,
                   Poster post, Delivered delivered);
  ~AlertmanagerSink() { Stop(); }

  // Queues the enriched alert (persisted before it returns). `received_ms`:
  // when the webhook that caused it arrived (0 for a re-send).
  absl::Status Send(const v1::IncidentState& state, const v1::TriageReport& report, bool resolved,
                    int64_t received_ms);

  void Start();
  void Stop();
  // Delivers what is due now, in order, stopping at the first failure (then
  // backing off). Returns when the next delivery is due.
  int64_t DeliverDue();
  // Incident ids with a delivery waiting.
  absl::StatusOr<std::set<std::string>> Pending() const;

 private:
  void Loop();
  void Failed(const char* what, const absl::Status& s);

  store::Store& store_;
  const Clock& clock_;
  Metrics& metrics_;
  const SinkOptions options_;
  const Poster post_;
  const Delivered delivered_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace triage::server
