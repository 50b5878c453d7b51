#include "triage/sinks/alertmanager_sink.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"

namespace triage::sinks {

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
    : clock_(clock),
      options_(std::move(options)),
      queue_(store, clock, metrics, metrics.alertmanager_queue(),
             {.queue = store::Store::Queue::kAlertmanager,
              .name = "alertmanager sink",
              .max_queue = options_.max_queue},
             std::move(post), std::move(delivered)) {}

absl::Status AlertmanagerSink::Send(const v1::IncidentState& state, const v1::TriageReport& report,
                                    bool resolved, int64_t received_ms) {
  if (!state.unmapped_reason().empty() || state.alerts_size() == 0) return absl::OkStatus();
  v1::Delivery d;
  d.set_incident_id(state.id());
  // Alertmanager takes a list of alerts.
  d.set_body(
      absl::StrCat("[",
                   ProtoJson(EnrichedAlert(state, report, resolved, clock_.NowMs(), options_),
                             JsonNames::kJsonName),
                   "]"));
  d.set_received_ms(received_ms);
  return queue_.Enqueue(std::move(d));
}

absl::StatusOr<std::set<std::string>> AlertmanagerSink::Pending() const {
  absl::StatusOr<std::vector<v1::Delivery>> queue = queue_.Waiting();
  if (!queue.ok()) return queue.status();
  std::set<std::string> out;
  for (const v1::Delivery& d : *queue) out.insert(d.incident_id());
  return out;
}

}  // namespace triage::sinks
