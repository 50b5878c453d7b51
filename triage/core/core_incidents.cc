// Core's incidents: read one or a page, resolve with a root cause, export
// as a bundle.
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/bundle_writer.h"
#include "collectors/validate.h"
#include "proto/model/names.h"
#include "proto/model/time.h"
#include "rules/checks.h"
#include "rules/engine.h"
#include "rules/promql.h"
#include "triage/core/core.h"
#include "triage/store/events.h"

namespace triage::core {

absl::StatusOr<v1::IncidentView> Core::GetIncident(const std::string& id) {
  v1::IncidentView view;
  absl::StatusOr<v1::Incident> incident = store_.GetIncident(id);
  if (!incident.ok()) return incident.status();
  *view.mutable_incident() = std::move(*incident);
  absl::StatusOr<v1::TriageReport> report = store_.GetReport(id);
  if (report.ok()) {
    *view.mutable_report() = std::move(*report);
  } else if (!absl::IsNotFound(report.status())) {
    return report.status();
  }
  absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(id);
  if (state.ok()) *view.mutable_state() = std::move(*state);
  return view;
}

absl::StatusOr<v1::ListIncidentsResponse> Core::ListIncidents(
    const v1::ListIncidentsRequest& request) {
  if (request.page_size() < 0) return collectors::InvalidField("page_size", "must not be negative");
  const int32_t page_size = request.page_size() == 0
                                ? options_.max_incidents_page
                                : std::min(request.page_size(), options_.max_incidents_page);
  v1::ListIncidentsResponse response;
  size_t bytes = 0;
  std::string last;
  bool more = false;
  absl::Status inner;
  absl::Status s = store_.ScanIncidents(request.page_token(), [&](v1::Incident incident) {
    if (response.incidents_size() >= page_size || bytes >= options_.max_reply_bytes) {
      more = true;
      return false;
    }
    v1::IncidentView view;
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(incident.id());
    if (report.ok()) {
      *view.mutable_report() = std::move(*report);
    } else if (!absl::IsNotFound(report.status())) {
      inner = report.status();
      return false;
    }
    absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(incident.id());
    if (state.ok()) *view.mutable_state() = std::move(*state);
    last = incident.id();
    *view.mutable_incident() = std::move(incident);
    bytes += view.ByteSizeLong();
    *response.add_incidents() = std::move(view);
    return true;
  });
  if (!s.ok()) return s;
  if (!inner.ok()) return inner;
  if (more) response.set_next_page_token(last);
  return response;
}

absl::StatusOr<v1::IncidentView> Core::ResolveIncident(const v1::ResolveIncidentRequest& request) {
  return ResolveIncidentAt(request, clock_.NowMs());
}

absl::StatusOr<v1::IncidentView> Core::ResolveIncidentAt(const v1::ResolveIncidentRequest& request,
                                                         const int64_t now) {
  std::unique_lock<std::mutex> lock(incidents_mu_);
  const v1::Event event = store::ResolutionEvent(request, now);
  absl::StatusOr<bool> applied = store_.HasEvent(event.key());
  if (!applied.ok()) return applied.status();
  if (*applied) {  // A repeat (a retry, a peer's repair).
    lock.unlock();
    return GetIncident(request.id());
  }
  const std::string& cause = request.root_cause();
  if (cause.empty()) {
    return absl::InvalidArgumentError(
        "root_cause: required to resolve (a category id of the tree, or \"unknown\")");
  }
  std::shared_ptr<const v1::Tree> tree = this->tree();
  bool known = cause == "unknown" || cause == rules::kRareClass;
  for (const v1::Category& c : tree->category()) known = known || c.id() == cause;
  if (!known) {
    std::vector<std::string> ids;
    for (const v1::Category& c : tree->category()) ids.push_back(c.id());
    return absl::InvalidArgumentError(absl::StrFormat(
        "root_cause: \"%s\" is not a category of the tree (%s, rare_class or unknown)", cause,
        absl::StrJoin(ids, ", ")));
  }
  absl::StatusOr<v1::Incident> incident = store_.GetIncident(request.id());
  if (!incident.ok()) return incident.status();
  absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(request.id());
  if (absl::IsNotFound(state.status())) {
    state = v1::IncidentState();
    state->set_id(request.id());
  } else if (!state.ok()) {
    return state.status();
  }
  if (state->status() != v1::IncidentState::resolved) {
    state->set_status(v1::IncidentState::resolved);
    *state->mutable_resolved_at() = FromMs(now);
    if (state->has_opened_at()) {
      metrics_.ObserveMinutes(metrics_.mttr_minutes, cause,
                              (now - ToMs(state->opened_at())) / 60'000.0);
    }
  }
  // The first cause recorded says whether the walk had it right.
  if (cause != "unknown" && (state->root_cause().empty() || state->root_cause() == "unknown")) {
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(request.id());
    if (report.ok()) {
      metrics_.localization_correct
          .Add({{"correct", report->localized_category() == cause ? "true" : "false"}})
          .Increment();
    }
  }
  if (!request.new_category().empty() && !IsValidName(request.new_category())) {
    return collectors::InvalidField("new_category",
                                    "a proposed category's name ([A-Za-z0-9_.:-], at most 128)");
  }
  state->set_root_cause(cause);
  state->set_root_cause_summary(request.summary());
  if (!request.new_category().empty()) state->set_new_category(request.new_category());
  const std::string item = "Record the root cause of " + request.id();
  bool has_item = false;
  for (v1::ActionItem& a : *state->mutable_action_items()) {
    if (a.text() != item) continue;
    has_item = true;
    a.set_status(cause == "unknown" ? v1::ActionItem::open : v1::ActionItem::done);
  }
  if (cause == "unknown" && !has_item) {
    v1::ActionItem* a = state->add_action_items();
    a->set_text(item);
    a->set_owner("incident-commander");
    *a->mutable_due() = FromMs(now + 7 * kDayMs);
    a->set_status(v1::ActionItem::open);
  }
  v1::TimelineEntry* e = state->add_timeline();
  *e->mutable_time() = FromMs(now);
  e->set_event("root_cause_recorded");
  e->set_detail(request.summary().empty() ? cause : cause + ": " + request.summary());
  if (cause != "unknown") incident->mutable_expected()->set_category(cause);
  if (absl::Status s = store_.PutIncidentRecords(&*incident, &*state, nullptr, {&event, 1});
      !s.ok()) {
    return s;
  }
  lock.unlock();
  return GetIncident(request.id());
}

absl::StatusOr<v1::ExportIncidentResponse> Core::ExportIncident(const std::string& id) {
  absl::StatusOr<v1::Incident> incident = store_.GetIncident(id);
  if (!incident.ok()) return incident.status();
  if (incident->alerts_size() == 0) {
    return absl::FailedPreconditionError("incident " + id + " has no mapped alerts to export");
  }
  absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(id);
  if (state.ok() && !state->root_cause().empty() && state->root_cause() != "unknown") {
    incident->mutable_expected()->set_category(state->root_cause());
  }
  absl::StatusOr<v1::TriageReport> report =
      Walk(*incident);  // Onset and deps as the walk sees them.
  if (!report.ok()) return report.status();
  const int64_t now = ToMs(report->now());
  // Exactly the spans the tree's checks read.
  const rules::ReadSpans spans = rules::SpansOf(*tree(), now, ToMs(report->onset()));

  v1::RecordBatch b;
  absl::StatusOr<rules::DependencyGraph> graph = store_.Dependencies();
  if (!graph.ok()) return graph.status();
  for (const auto& [service, deps] : graph->edges()) {
    v1::Dependency* d = b.add_dependencies();
    d->set_service(service);
    for (const std::string& x : deps) d->add_depends_on(x);
  }
  absl::StatusOr<std::vector<v1::Change>> changes =
      store_.ChangesBetween(spans.changes_from, spans.changes_to);
  if (!changes.ok()) return changes.status();
  for (v1::Change& c : *changes) *b.add_changes() = std::move(c);
  std::set<std::pair<std::string, std::string>> series_done;
  // Through the metrics source, drawn as the walk drew them: the bundle
  // replays to the same report on the embedded store.
  const rules::Sources sources = Sources();
  auto add_series = [&](const std::string& service, const std::string& metric,
                        const std::string& expr) -> absl::Status {
    if (!series_done.insert({service, metric}).second) return absl::OkStatus();
    absl::StatusOr<std::vector<v1::Series>> series = sources.metrics->ReadSeries(
        {.service = service,
         .metric = metric,
         .query = rules::QueryOf(tree()->settings().metric_queries(), service, metric, expr),
         .from_ms = spans.series_from,
         .to_ms = now});
    if (!series.ok()) return series.status();
    for (v1::Series& s : *series) *b.add_series() = std::move(s);
    return absl::OkStatus();
  };
  for (const v1::Alert& a : incident->alerts()) {
    if (absl::Status s = add_series(a.service(), a.metric(), a.expr()); !s.ok()) return s;
    for (const std::string& m : spans.traffic_metrics) {
      if (absl::Status s = add_series(a.service(), m, ""); !s.ok()) return s;
    }
    absl::StatusOr<std::vector<v1::EvalSet>> sets = store_.EvalSets(a.service(), now);
    if (!sets.ok()) return sets.status();
    for (v1::EvalSet& e : *sets) *b.add_eval_sets() = std::move(e);
  }
  for (const std::string& service : report->dependencies()) {
    absl::StatusOr<std::vector<v1::Histogram>> hs =
        store_.Histograms(service, spans.histograms_from, now);
    if (!hs.ok()) return hs.status();
    for (v1::Histogram& h : *hs) *b.add_histograms() = std::move(h);
    absl::StatusOr<std::vector<v1::Upstream>> ups =
        store_.UpstreamReports(service, spans.upstream_from, now);
    if (!ups.ok()) return ups.status();
    for (v1::Upstream& u : *ups) *b.add_upstreams() = std::move(u);
    absl::StatusOr<std::vector<v1::DependencyHealth>> probes =
        store_.Probes(service, spans.probes_from, now);
    if (!probes.ok()) return probes.status();
    for (v1::DependencyHealth& p : *probes) *b.add_dependency_health() = std::move(p);
  }
  v1::ExportIncidentResponse response;
  collectors::WriteIncident(*incident, response.mutable_ndjson());
  collectors::WriteRecords(b, response.mutable_ndjson());
  auto& n = *response.mutable_records();
  n["incident"] = 1;
  n["dependency"] = b.dependencies_size();
  n["change"] = b.changes_size();
  n["series"] = b.series_size();
  n["histogram"] = b.histograms_size();
  n["upstream"] = b.upstreams_size();
  n["eval_set"] = b.eval_sets_size();
  n["dependency_health"] = b.dependency_health_size();
  return response;
}

}  // namespace triage::core
