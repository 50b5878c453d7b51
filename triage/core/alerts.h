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

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // Every Alertmanager of the cluster (a cluster gossips silences and what
  // it notified, not alerts, so each is sent each alert, as Prometheus
  // does). Empty: no enriched alerts are sent.
  std::vector<std::string> alertmanager_urls;
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

  // Walks again, soon, every incident whose walk may read records of
  // [from_ms, to_ms] (records just written: a late change, or one a peer
  // replica repaired), so a report never misses what the store holds and
  // replicas answer alike; a walk whose answer stays the same changes
  // nothing, one that changes says "walked_again" on the timeline (and
  // re-sends the enriched alert while it fires). Cheap on every write.
  void Rewalk(int64_t from_ms, int64_t to_ms);

  // Starts the threads; re-queues walks of open incidents that have no
  // report (a restart between the answer and the walk).
  void Start();
  void Stop();
  // Blocks until no walk is queued or running (tests).
  void WaitIdle() { walker_.WaitIdle(); }

 private:
  void Walk(const std::string& id, int64_t received_ms);
  // The walker's id for "queue the walks Rewalk asked for".
  static constexpr std::string_view kRewalk = "";
  void EnqueueRewalks();
  // How far before its onset a walk reads (drift's 30-day baseline), and then some.
  static constexpr int64_t kRewalkLookbackMs = 31LL * 24 * 60 * 60 * 1000;
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
  // The fingerprints of every alert the Alertmanagers hold as active
  // (including silenced and inhibited ones); an error when none answered.
  absl::StatusOr<std::set<std::string>> ActiveFingerprints() const;
  absl::Status AddActiveFingerprints(const std::string& alerts_url,
                                     std::set<std::string>* out) const;
  void RefreshGauges();
  // A store write that failed: logged and counted (triage_store_write_failures_total).
  void Failed(const char* what, const absl::Status& s);
  BookOptions Book() const;

  store::Store& store_;
  Core& core_;
  const Clock& clock_;
  Metrics& metrics_;
  const AlertOptions options_;
  // Posts a delivery to every Alertmanager: accepted once one of them took
  // it (one that missed it gets the next re-send); Unavailable when none did.
  absl::Status PostToAlertmanagers(const v1::Delivery& d);

  std::unique_ptr<net::HttpClient> client_;  // Null without an Alertmanager URL.
  std::vector<std::string> alerts_urls_;     // Each one's /api/v2/alerts.
  // Fingerprint -> when Alertmanager was first seen not listing it. Only
  // the re-send thread touches it.
  std::map<std::string, int64_t> missing_since_;
  std::unique_ptr<sinks::AlertmanagerSink> sink_;  // Null without an Alertmanager URL.
  Walker walker_;

  std::mutex rewalk_mu_;
  std::optional<std::pair<int64_t, int64_t>> rewalk_;  // The span asked for, while queued.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread resend_;
};

}  // namespace triage::core
