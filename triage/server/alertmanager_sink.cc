#include "triage/server/alertmanager_sink.h"

#include <algorithm>
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "triage/server/incident_book.h"

namespace triage::server {

v1::PostableAlert EnrichedAlert(const v1::IncidentState& state, const v1::TriageReport& report,
                                bool resolved, int64_t now, const SinkOptions& options) {
  const v1::CategoryVerdict* loc = nullptr;
  for (const v1::CategoryVerdict& v : report.verdicts()) {
    if (v.category() == report.localized_category()) loc = &v;
  }
  const v1::AlertInstance* first = nullptr;
  for (const v1::AlertInstance& a : state.alerts()) {
    if (first == nullptr || ToMs(a.starts_at()) < ToMs(first->starts_at())) first = &a;
  }
  v1::PostableAlert alert;
  if (first == nullptr) return alert;
  *alert.mutable_labels() = first->labels();
  auto& labels = *alert.mutable_labels();
  labels["triage_category"] = report.localized_category();
  labels["triage_owner"] =
      loc != nullptr && !loc->owner().empty() ? loc->owner() : "incident-commander";
  labels[kLoopLabel] = state.id();
  if (report.has_cohort_localization()) {  // Where the drop is: Alertmanager can route on it.
    labels["triage_cohort"] =
        report.cohort_localization().dimension() + "=" + report.cohort_localization().value();
  }
  *alert.mutable_annotations() = first->annotations();
  auto& annotations = *alert.mutable_annotations();
  std::string evidence = loc != nullptr ? loc->evidence() : report.escalation();
  if (evidence.size() > 300) evidence = evidence.substr(0, 297) + "...";
  annotations["triage_summary"] = absl::StrFormat("%s: %s", report.localized_category(), evidence);
  annotations["triage_mitigation"] = loc != nullptr ? loc->mitigation() : report.escalation();
  annotations["triage_link"] = options.page_url + "#/incident/" + state.id();
  *alert.mutable_starts_at() = first->starts_at();
  // While firing, endsAt lies a few re-send intervals ahead, so Alertmanager
  // resolves the alert by itself if triaged goes away.
  *alert.mutable_ends_at() = resolved ? state.resolved_at() : FromMs(now + 4 * options.resend_ms);
  alert.set_generator_url(first->generator_url());
  return alert;
}

AlertmanagerSink::AlertmanagerSink(store::Store& store, const Clock& clock, Metrics& metrics,
                                   SinkOptions options, Poster post, Delivered delivered)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      post_(std::move(post)),
      delivered_(std::move(delivered)) {}

void AlertmanagerSink::Failed(const char* what, const absl::Status& s) {
  metrics_.store_write_failures.Add({{"what", what}}).Increment();
  std::cerr << "triaged: alertmanager sink: " << what << ": " << s.message() << "\n";
}

absl::Status AlertmanagerSink::Send(const v1::IncidentState& state, const v1::TriageReport& report,
                                    bool resolved, int64_t received_ms) {
  if (!state.unmapped_reason().empty() || state.alerts_size() == 0) return absl::OkStatus();
  const int64_t now = clock_.NowMs();
  v1::Delivery d;
  d.set_incident_id(state.id());
  // Alertmanager takes a list of alerts.
  d.set_body(absl::StrCat(
      "[", ProtoJson(EnrichedAlert(state, report, resolved, now, options_), JsonNames::kJsonName),
      "]"));
  d.set_next_attempt_ms(now);
  d.set_enqueued_ms(now);
  d.set_received_ms(received_ms);
  std::vector<v1::Delivery> dropped;
  absl::StatusOr<uint64_t> seq = store_.EnqueueDelivery(d, options_.max_queue, &dropped);
  if (!seq.ok()) {
    Failed("enqueue delivery", seq.status());
    return seq.status();
  }
  metrics_.deliveries_dropped.Increment(static_cast<double>(dropped.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> AlertmanagerSink::Pending() const {
  absl::StatusOr<std::vector<v1::Delivery>> queue = store_.Deliveries();
  if (!queue.ok()) return queue.status();
  std::set<std::string> out;
  for (const v1::Delivery& d : *queue) out.insert(d.incident_id());
  return out;
}

int64_t AlertmanagerSink::DeliverDue() {
  const int64_t now = clock_.NowMs();
  int64_t next_due = now + 1000;
  absl::StatusOr<std::vector<v1::Delivery>> queue = store_.Deliveries();
  if (!queue.ok()) {
    Failed("read deliveries", queue.status());
    return next_due;
  }
  size_t left = queue->size();
  for (v1::Delivery& d : *queue) {
    if (d.next_attempt_ms() > now) {  // Backing off: the ones behind it wait too.
      next_due = std::min(next_due, d.next_attempt_ms());
      break;
    }
    absl::Status posted = post_(d.body());
    if (!posted.ok()) {
      metrics_.delivery_failures.Increment();
      d.set_attempts(d.attempts() + 1);
      const int64_t backoff = std::min<int64_t>(30'000, 250LL << std::min(d.attempts(), 7));
      d.set_next_attempt_ms(clock_.NowMs() + backoff);
      if (absl::Status s = store_.UpdateDelivery(d); !s.ok()) Failed("update delivery", s);
      next_due = std::min(next_due, d.next_attempt_ms());
      break;  // Alertmanager is down: keep the order, wait for the backoff.
    }
    metrics_.deliveries.Increment();
    --left;
    // A failed delete delivers the alert again later (at least once).
    if (absl::Status s = store_.DeleteDelivery(d.seq()); !s.ok()) Failed("delete delivery", s);
    if (d.received_ms() > 0 && delivered_) delivered_(d, clock_.NowMs() - d.received_ms());
  }
  metrics_.queue_depth.Set(static_cast<double>(left));
  return next_due;
}

void AlertmanagerSink::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void AlertmanagerSink::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlertmanagerSink::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const int64_t next_due = DeliverDue();
    lock.lock();
    cv_.wait_for(lock,
                 std::chrono::milliseconds(std::clamp<int64_t>(next_due - clock_.NowMs(), 5, 1000)),
                 [&] { return stopping_ || wake_; });
    wake_ = false;
  }
}

}  // namespace triage::server
