#include "triage/server/core.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/bundle_reader.h"
#include "collectors/bundle_writer.h"
#include "collectors/change_event.h"
#include "collectors/remote_write.h"
#include "collectors/validate.h"
#include "google/protobuf/arena.h"
#include "proto/model/time.h"
#include "rules/checks.h"
#include "rules/drift.h"
#include "rules/engine.h"
#include "rules/stats.h"
#include "rules/tree.h"
#include "triage/replay/replay.h"

namespace triage::server {

Core::Core(store::Store& store, const Clock& clock, Metrics& metrics, CoreOptions options,
           v1::Tree tree)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      tree_(std::make_shared<const v1::Tree>(std::move(tree))) {}

absl::StatusOr<std::unique_ptr<Core>> Core::Create(store::Store& store, const Clock& clock,
                                                   Metrics& metrics, CoreOptions options) {
  absl::StatusOr<v1::Tree> tree =
      options.tree_path.empty() ? rules::DefaultTree() : rules::LoadTreeFile(options.tree_path);
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<Core>(
      new Core(store, clock, metrics, std::move(options), std::move(*tree)));
}

std::shared_ptr<const v1::Tree> Core::tree() const {
  absl::MutexLock lock(&tree_mu_);
  return tree_;
}

void Core::Count(const v1::RecordBatch& b, v1::IngestResponse* response) {
  int32_t samples = 0;
  for (const v1::Series& s : b.series()) samples += s.points_size();
  std::pair<const char*, int32_t> counts[] = {
      {"dependency", b.dependencies_size()}, {"change", b.changes_size()},
      {"series", b.series_size()},           {"sample", samples},
      {"histogram", b.histograms_size()},    {"upstream", b.upstreams_size()},
      {"eval_set", b.eval_sets_size()},      {"dependency_health", b.dependency_health_size()}};
  for (const auto& [kind, n] : counts) {
    if (n == 0) continue;
    (*response->mutable_accepted())[kind] += n;
    metrics_.Ingested(kind).Increment(static_cast<double>(n));
  }
}

absl::Status Core::Refused(absl::Status s) {
  if (std::optional<v1::InputErrors> errors = collectors::InputErrorsOf(s)) {
    for (const v1::InputError& e : errors->errors()) {
      if (!e.limit().empty()) metrics_.limit_rejections.Add({{"limit", e.limit()}}).Increment();
    }
  }
  if (absl::IsFailedPrecondition(s)) {  // The series cap.
    metrics_.limit_rejections.Add({{"limit", "max_series"}}).Increment();
  }
  return s;
}

void Core::UpdateGauges() {
  metrics_.store_series.Set(static_cast<double>(store_.SeriesCount()));
  metrics_.store_writable.Set(store_.Writable().ok() ? 1 : 0);
  absl::StatusOr<uint64_t> free = store_.FreeBytes();
  if (free.ok()) metrics_.disk_free_bytes.Set(static_cast<double>(*free));
}

absl::StatusOr<v1::IngestResponse> Core::Write(const v1::RecordBatch& batch) {
  collectors::InputErrorList errors;
  collectors::ValidateBatch(batch, options_.limits, &errors);
  if (!errors.empty()) return Refused(errors.ToStatus());
  if (absl::Status s = store_.Write(batch); !s.ok()) return Refused(s);
  v1::IngestResponse response;
  Count(batch, &response);
  return response;
}

absl::StatusOr<v1::IngestResponse> Core::IngestBundle(std::string_view name,
                                                      std::string_view ndjson) {
  collectors::BundleReadResult read =
      collectors::ReadBundle(name, ndjson, {.require_incident = false, .limits = options_.limits});
  if (!read.ok()) return Refused(read.ToStatus());
  absl::StatusOr<rules::RootCauseHistory> history =
      read.has_incident ? History(read.bundle.incident().id()) : rules::RootCauseHistory();
  if (!history.ok()) return history.status();
  absl::StatusOr<replay::Replayed> replayed =
      replay::Replay(store_, read, *tree(), Sources(), &*history);
  if (!replayed.ok()) return Refused(replayed.status());
  v1::IngestResponse response;
  Count(read.bundle.records(), &response);
  if (replayed->has_incident) {
    (*response.mutable_accepted())["incident"] = 1;
    metrics_.Ingested("incident").Increment();
    ObserveWalk(replayed->walk_ms);
    *response.mutable_report() = std::move(replayed->report);
  }
  return response;
}

absl::StatusOr<v1::IngestResponse> Core::AddChange(std::string_view json) {
  absl::StatusOr<v1::Change> change = collectors::ParseChangeEvent(
      json, clock_.NowMs(), next_change_suffix_.fetch_add(1), options_.limits);
  if (!change.ok()) return Refused(change.status());
  v1::RecordBatch batch;
  *batch.add_changes() = std::move(*change);
  return Write(batch);
}

absl::StatusOr<v1::IngestResponse> Core::RemoteWrite(std::string_view body) {
  google::protobuf::Arena arena;
  auto* batch = google::protobuf::Arena::CreateMessage<v1::RecordBatch>(&arena);
  int64_t samples = 0;
  if (absl::Status s = collectors::DecodeRemoteWrite(body, options_.max_body_bytes, options_.limits,
                                                     batch, &samples);
      !s.ok()) {
    return Refused(s);
  }
  if (absl::Status s = store_.Write(*batch); !s.ok()) return Refused(s);
  v1::IngestResponse response;
  Count(*batch, &response);
  return response;
}

absl::StatusOr<rules::RootCauseHistory> Core::History(const std::string& except_id) {
  absl::StatusOr<std::vector<v1::Incident>> incidents = store_.ListIncidents();
  if (!incidents.ok()) return incidents.status();
  rules::RootCauseHistory history;
  for (const v1::Incident& inc : *incidents) {
    const std::string& cause = inc.expected().category();
    if (inc.id() == except_id || cause.empty() || cause == "unknown") continue;
    ++history.total;
    ++history.counts[cause];
  }
  return history;
}

absl::StatusOr<v1::TriageReport> Core::Walk(const v1::Incident& incident) {
  std::shared_ptr<const v1::Tree> tree = this->tree();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<rules::RootCauseHistory> history = History(incident.id());
  if (!history.ok()) return history.status();
  absl::StatusOr<v1::TriageReport> report =
      rules::Engine(*tree, Sources(), &*history).Walk(incident);
  ObserveWalk(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return report;
}

void Core::ObserveWalk(double ms) {
  metrics_.walk_seconds.Observe(ms / 1000);
  metrics_.walks.Increment();
}

absl::StatusOr<v1::TriageReport> Core::Triage(const v1::TriageRequest& request) {
  const collectors::Limits& limits = options_.limits;
  if (request.alerts_size() == 0)
    return collectors::InvalidField("alerts", "needs at least one alert");
  if (static_cast<size_t>(request.alerts_size()) > limits.max_alerts) {
    return collectors::InvalidField(
        "alerts", absl::StrFormat("%d alerts, more than the limit of %d", request.alerts_size(),
                                  limits.max_alerts));
  }
  v1::Incident incident;
  int64_t at = request.has_at() ? ToMs(request.at()) : clock_.NowMs();
  std::string id = "adhoc:";
  for (const v1::AlertSpec& spec : request.alerts()) {
    v1::Alert* a = incident.add_alerts();
    a->set_service(spec.service());
    a->set_metric(spec.metric());
    *a->mutable_fired_at() = request.has_at() ? request.at() : FromMs(at);
    if (id.size() < 128)
      absl::StrAppend(&id, id.size() > 6 ? "," : "", spec.service(), "/", spec.metric());
  }
  incident.set_id(id.substr(0, limits.max_id_bytes));
  collectors::InputErrorList errors;
  collectors::Validate(incident, collectors::Origin{}, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  return Walk(incident);
}

absl::StatusOr<v1::TriageReport> Core::TriageIncident(const v1::Incident& incident) {
  absl::StatusOr<rules::RootCauseHistory> history = History(incident.id());
  if (!history.ok()) return history.status();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<v1::TriageReport> report =
      replay::WalkAndStore(store_, Sources(), incident, *tree(), &*history);
  ObserveWalk(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return report;
}

absl::StatusOr<std::vector<v1::FeatureDrift>> Core::FeatureDrift(const std::string& service,
                                                                 int64_t now_ms) {
  return rules::ServiceDrift(*tree(), store_, service, now_ms);
}

void Core::RefreshDriftGauges() {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> features = store_.Features();
  if (!features.ok()) return;
  std::set<std::string> services;
  for (const auto& [service, _] : *features) services.insert(service);
  const int64_t now = clock_.NowMs();
  for (const std::string& service : services) {
    absl::StatusOr<std::vector<v1::FeatureDrift>> drift = FeatureDrift(service, now);
    if (!drift.ok()) continue;
    for (const v1::FeatureDrift& d : *drift) {
      metrics_.feature_kl.Add({{"service", d.service()}, {"feature", d.feature()}}).Set(d.kl());
    }
  }
}

rules::Sources Core::Sources() const { return {&store_, &store_, &store_}; }

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

std::vector<v1::Point> Downsample(const std::vector<v1::Point>& points, int32_t max_points) {
  if (points.size() <= static_cast<size_t>(max_points) || max_points < 2) return points;
  const int64_t first = points.front().t_ms(), last = points.back().t_ms();
  const int64_t buckets = max_points / 2;
  const double width = static_cast<double>(last - first + 1) / static_cast<double>(buckets);
  std::vector<v1::Point> out;
  out.reserve(static_cast<size_t>(max_points));
  size_t i = 0;
  for (int64_t b = 0; b < buckets && i < points.size(); ++b) {
    const double end = static_cast<double>(first) + width * static_cast<double>(b + 1);
    size_t lo = i, hi = i;
    for (; i < points.size() && (static_cast<double>(points[i].t_ms()) < end || b == buckets - 1);
         ++i) {
      if (points[i].value() < points[lo].value()) lo = i;
      if (points[i].value() > points[hi].value()) hi = i;
    }
    if (i == lo && lo == hi) continue;  // Empty bucket.
    out.push_back(points[std::min(lo, hi)]);
    if (lo != hi) out.push_back(points[std::max(lo, hi)]);
  }
  return out;
}

absl::StatusOr<v1::OverlayResponse> Core::Overlay(const v1::OverlayRequest& request) {
  const collectors::Limits& limits = options_.limits;
  collectors::InputErrorList errors;
  const collectors::Origin at;
  if (request.service().empty()) errors.Add(at, "service", "missing required field");
  if (request.metric().empty()) errors.Add(at, "metric", "missing required field");
  std::string window = request.window().empty() ? "24h" : request.window();
  absl::StatusOr<int64_t> window_ms = ParseDurationMs(window);
  if (!window_ms.ok()) {
    errors.Add(at, "window", std::string(window_ms.status().message()));
  } else if (*window_ms <= 0 || *window_ms > options_.max_window_ms) {
    errors.Add(
        at, "window",
        absl::StrFormat("%s is outside (0, %s]", window, FormatDuration(options_.max_window_ms)));
  }
  int32_t max_points =
      request.max_points() == 0 ? options_.default_max_points : request.max_points();
  if (max_points < 2 || max_points > 100000) {
    errors.Add(at, "max_points", absl::StrFormat("%d is outside [2, 100000]", max_points));
  }
  const int64_t end = request.has_end() ? ToMs(request.end()) : clock_.NowMs();
  if (window_ms.ok() && (end - *window_ms < limits.min_time_ms || end > limits.max_time_ms)) {
    errors.Add(at, "end",
               absl::StrFormat("the window [%d ms, %d ms] is outside the supported range [%s, %s]",
                               end - *window_ms, end, FormatRfc3339(limits.min_time_ms),
                               FormatRfc3339(limits.max_time_ms)));
  }
  if (!errors.empty()) return errors.ToStatus();
  const int64_t start = end - *window_ms;
  absl::StatusOr<std::vector<v1::Series>> series =
      store_.ReadSeries(request.service(), request.metric(), start, end);
  if (!series.ok()) return series.status();
  std::vector<v1::Point> points = rules::MeanSeries(*series);  // Staleness markers are gaps.
  v1::OverlayResponse response;
  response.set_service(request.service());
  response.set_metric(request.metric());
  *response.mutable_start() = FromMs(start);
  *response.mutable_end() = FromMs(end);
  response.set_series_count(static_cast<int32_t>(series->size()));
  response.set_raw_points(static_cast<int32_t>(points.size()));
  for (v1::Point& p : Downsample(points, max_points)) *response.add_points() = std::move(p);

  absl::StatusOr<std::vector<v1::Change>> changes = store_.ChangesBetween(start, end);
  if (!changes.ok()) return changes.status();
  absl::StatusOr<rules::DependencyGraph> graph = store_.Dependencies();
  if (!graph.ok()) return graph.status();
  std::set<std::string> scope = graph->Deps(request.service());
  for (const std::string& c : graph->Consumers(request.service())) scope.insert(c);
  for (v1::Change& c : *changes) {
    if (c.service() == "*" || scope.contains(c.service())) response.add_in_scope_change_ids(c.id());
    *response.add_changes() = std::move(c);
  }
  return response;
}

v1::CheckTreeResponse Core::CheckTree(const std::string& text) const {
  v1::CheckTreeResponse response;
  for (std::string& p : rules::CheckTreeText("tree", text)) response.add_problems(std::move(p));
  response.set_ok(response.problems_size() == 0);
  return response;
}

absl::StatusOr<v1::ReloadTreeResponse> Core::ReloadTree(const v1::ReloadTreeRequest& request) {
  absl::StatusOr<v1::Tree> tree;
  if (!request.text().empty()) {
    tree = rules::ParseTree("tree", request.text());
  } else if (!options_.tree_path.empty()) {
    tree = rules::LoadTreeFile(options_.tree_path);
  } else {
    tree = rules::DefaultTree();
  }
  if (!tree.ok()) return tree.status();
  v1::ReloadTreeResponse response;
  absl::StatusOr<std::vector<v1::Incident>> incidents = store_.ListIncidents();
  if (!incidents.ok()) return incidents.status();
  for (const v1::Incident& incident : *incidents) {
    const std::string& expected = incident.expected().category();
    if (expected.empty() || expected == "unknown") continue;
    response.set_checked(response.checked() + 1);
    absl::StatusOr<v1::TriageReport> report = rules::Engine(*tree, Sources()).Walk(incident);
    if (!report.ok()) return report.status();
    if (report->localized_category() != expected) {
      response.add_broken(absl::StrFormat("%s: expected %s, got %s", incident.id(), expected,
                                          report->localized_category()));
    }
  }
  if (response.broken_size() > 0 && !request.force()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the tree no longer localizes %d of %d incidents with a recorded root cause (set force to "
        "install it anyway):\n%s",
        response.broken_size(), response.checked(), absl::StrJoin(response.broken(), "\n")));
  }
  *response.mutable_tree() = *tree;
  absl::MutexLock lock(&tree_mu_);
  tree_ = std::make_shared<const v1::Tree>(std::move(*tree));
  return response;
}

absl::StatusOr<v1::IncidentView> Core::ResolveIncident(const v1::ResolveIncidentRequest& request) {
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
  const int64_t now = clock_.NowMs();
  if (state->status() != v1::IncidentState::resolved) {
    state->set_status(v1::IncidentState::resolved);
    *state->mutable_resolved_at() = FromMs(now);
  }
  state->set_root_cause(cause);
  state->set_root_cause_summary(request.summary());
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
  if (absl::Status s = store_.PutIncidentRecords(&*incident, &*state, nullptr); !s.ok()) return s;
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
  auto add_series = [&](const std::string& service, const std::string& metric) -> absl::Status {
    if (!series_done.insert({service, metric}).second) return absl::OkStatus();
    absl::StatusOr<std::vector<v1::Series>> series =
        store_.ReadSeries(service, metric, spans.series_from, now);
    if (!series.ok()) return series.status();
    for (v1::Series& s : *series) *b.add_series() = std::move(s);
    return absl::OkStatus();
  };
  for (const v1::Alert& a : incident->alerts()) {
    if (absl::Status s = add_series(a.service(), a.metric()); !s.ok()) return s;
    for (const std::string& m : spans.traffic_metrics) {
      if (absl::Status s = add_series(a.service(), m); !s.ok()) return s;
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

}  // namespace triage::server
