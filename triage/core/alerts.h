// AlertRouter: Prometheus alert routing, composed of three parts.
// Alertmanager webhooks (version 4) come in at POST /api/v1/alerts; the
// incident book (incident_book.h, pure) says what they do to incidents,
// which are stored before the answer; the walker (walker.h) walks opened and
// joined incidents afterwards, as of the alerts' startsAt; with an
// Alertmanager URL the sink (alertmanager_sink.h) sends one enriched alert
// per incident through a persisted queue, re-sent while it fires and with
// endsAt once it resolves.
//
// Thread safety: HandleWebhook may be called concurrently (incident updates
// are serialised internally). Start() runs the walker, the sink and the
// re-send schedule on their own threads until Stop(). Store, Core, Clock
// and Metrics are not owned and must outlive the router.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "triage/base/clock.h"
#include "triage/base/metrics.h"
#include "triage/core/core.h"
#include "triage/core/incident_book.h"
#include "triage/core/walker.h"
#include "triage/net/http_client.h"
#include "triage/sinks/alertmanager_sink.h"
#include "triage/store/store.h"
#include "triage/v1/alerts.pb.h"

namespace triage::core {

struct AlertOptions {
  std::string service_label = "service";       // Label giving an alert's service.
  std::string metric_label = "metric";         // Label giving its metric ...
  std::string metric_annotation = "metric";    // ... else this annotation.
  std::string alertmanager_url;                // Empty: no enriched alerts are sent.
  net::HttpClientOptions alertmanager_client;  // TLS and credentials for it.
  sinks::SinkOptions sink;                     // Page links, re-send interval, queue bound.
  // An open incident whose alerts Alertmanager has not listed as active for
  // this long is resolved (0: never). The fail-open inhibit rule
  // (deploy/prometheus/alertmanager.yml) mutes a raw alert's resolve while
  // its enriched twin fires, so the resolve never reaches the webhook.
  int64_t resolve_missing_after_ms = 5 * 60'000;
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
  // An alert's event pulled from a peer replica (its webhook of one alert),
  // applied as HandleWebhook applies a webhook; one already applied changes
  // nothing.
  absl::StatusOr<v1::WebhookReply> ApplyEvent(const v1::Event& event);

  // Starts the threads; re-queues walks of open incidents that have no
  // report (a restart between the answer and the walk).
  void Start();
  void Stop();
  // Blocks until no walk is queued or running (tests).
  void WaitIdle() { walker_.WaitIdle(); }

 private:
  void Walk(const std::string& id, int64_t received_ms);
  void Delivered(const v1::Delivery& d, int64_t latency_ms);
  void ResendLoop();
  // The webhook's work, for a parsed webhook and for one made by Reconcile
  // (`note` goes on the timeline of each incident it changes).
  absl::StatusOr<v1::WebhookReply> Apply(const v1::AlertmanagerWebhook& hook, int64_t now,
                                         const std::string& note);
  // The events of the hook's alerts that are not logged yet (each once).
  absl::StatusOr<std::vector<v1::Event>> NewAlertEvents(const v1::AlertmanagerWebhook& hook) const;
  // Resolves the open incidents whose alerts Alertmanager no longer lists
  // (for resolve_missing_after_ms); on the re-send schedule.
  void Reconcile();
  // The fingerprints of every alert Alertmanager holds as active
  // (including silenced and inhibited ones).
  absl::StatusOr<std::set<std::string>> ActiveFingerprints() const;
  void RefreshGauges();
  // A store write that failed: logged and counted (triage_store_write_failures_total).
  void Failed(const char* what, const absl::Status& s);
  BookOptions Book() const;

  store::Store& store_;
  Core& core_;
  const Clock& clock_;
  Metrics& metrics_;
  const AlertOptions options_;
  std::unique_ptr<net::HttpClient> client_;  // Null without an Alertmanager URL.
  std::string alerts_url_;                   // Its /api/v2/alerts.
  // Fingerprint -> when Alertmanager was first seen not listing it. Only
  // the re-send thread touches it.
  std::map<std::string, int64_t> missing_since_;
  std::unique_ptr<sinks::AlertmanagerSink> sink_;  // Null without an Alertmanager URL.
  Walker walker_;

  std::mutex incidents_mu_;  // Serialises read-modify-write of incident states.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread resend_;
};

}  // namespace triage::core
