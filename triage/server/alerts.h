// AlertRouter: Prometheus alert routing. Alertmanager webhooks (version 4)
// come in at POST /api/v1/alerts; each alert opens an incident, joins an open
// one (alerts firing within the shared-alert window of each other), or
// resolves its alert. The walk runs after the webhook is answered, as of the
// alerts' startsAt. With an Alertmanager URL, an enriched alert per incident
// (labels triage_category, triage_owner, triage_incident; annotations with
// evidence, mitigation and the page link) goes to Alertmanager's
// /api/v2/alerts through a persisted, bounded queue with retries and backoff,
// re-sent while the incident fires and sent with endsAt when it resolves.
//
// Thread safety: HandleWebhook may be called concurrently (incident updates
// are serialised internally). Start() runs the walker, deliverer and
// schedulers on their own threads until Stop(). Store, Core, Clock and
// Metrics are not owned and must outlive the router.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "triage/base/clock.h"
#include "triage/server/core.h"
#include "triage/server/http_client.h"
#include "triage/server/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/alerts.pb.h"

namespace triage::server {

struct AlertOptions {
  std::string service_label = "service";            // Label giving an alert's service.
  std::string metric_label = "metric";              // Label giving its metric ...
  std::string metric_annotation = "metric";         // ... else this annotation.
  std::string alertmanager_url;                     // Empty: no enriched alerts are sent.
  HttpClientOptions alertmanager_client;            // TLS and credentials for it.
  std::string page_url = "http://127.0.0.1:7080/";  // Base of the links in annotations.
  int64_t resend_ms = 60'000;                       // Re-send firing incidents this often.
  int64_t kl_refresh_ms = 60'000;                   // triage_feature_kl gauges refresh.
  size_t max_queue = 10'000;                        // Enriched alerts waiting at most.
};

class AlertRouter {
 public:
  AlertRouter(store::Store& store, Core& core, const Clock& clock, Metrics& metrics,
              AlertOptions options);
  ~AlertRouter();

  // Parses and records a webhook. InvalidArgument for a malformed body;
  // another error means the alerts could not be stored (answer 5xx so
  // Alertmanager retries). Walks and deliveries happen later.
  absl::StatusOr<v1::WebhookReply> HandleWebhook(std::string_view body);

  // Starts the background threads; re-queues walks of open incidents that
  // have no report (a restart between the answer and the walk).
  void Start();
  void Stop();

  // Blocks until the walk queue is empty (tests).
  void WaitIdle();

 private:
  void WalkLoop();
  void DeliverLoop();
  void ScheduleLoop();
  void Walk(const std::string& id);
  void Enqueue(const v1::IncidentState& state, const v1::TriageReport& report, bool resolved,
               int64_t received_ms, bool resend);
  bool Post(const std::string& body, std::string* error);
  void RefreshGauges();
  void RefreshKl();

  store::Store& store_;
  Core& core_;
  std::unique_ptr<HttpClient> client_;  // Null without an Alertmanager URL.
  const Clock& clock_;
  Metrics& metrics_;
  const AlertOptions options_;

  std::mutex incidents_mu_;  // Serialises read-modify-write of incident states.

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, int64_t>> walks_;  // (incident id, webhook received ms)
  int walking_ = 0;
  bool deliver_now_ = false;  // A delivery was enqueued: the deliverer wakes up.
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace triage::server
