#include "rules/engine.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks.h"
#include "rules/cohorts.h"
#include "rules/hypotheses.h"
#include "rules/promql.h"
#include "rules/stats.h"
#include "rules/tree.h"

namespace triage::rules {

namespace {

using Clock = std::chrono::steady_clock;

std::string RollbackHint(const v1::Change& c) {
  if (c.kind() == "campaign") return absl::StrFormat("pause or throttle campaign %s", c.id());
  std::string target = c.service() == "*" ? "every service" : c.service();
  if (!c.previous_version().empty()) {
    return absl::StrFormat("roll %s back to %s (from %s)", target, c.previous_version(),
                           c.version().empty() ? c.id() : c.version());
  }
  return absl::StrFormat("revert %s on %s (previous version not recorded)", c.id(), target);
}

// Each alert's series over the onset window, read concurrently (one
// engine round trip for the lot rather than one per alert).
std::vector<absl::StatusOr<std::vector<v1::Series>>> ReadAlertSeries(const v1::Incident& incident,
                                                                     const Context& ctx,
                                                                     const OnsetParams& params,
                                                                     Reads& load) {
  std::vector<std::future<absl::StatusOr<std::vector<v1::Series>>>> reads;
  for (const v1::Alert& a : incident.alerts()) {
    SeriesQuery q{.service = a.service(),
                  .metric = a.metric(),
                  .query = QueryOf(ctx.metric_queries, a.service(), a.metric(), a.expr()),
                  .from_ms = ctx.now - params.baseline_start_ms,
                  .to_ms = ctx.now};
    const bool alone = incident.alerts_size() == 1;
    reads.push_back(std::async(alone ? std::launch::deferred : std::launch::async,
                               [&load, q = std::move(q)] { return load.Series(q); }));
  }
  std::vector<absl::StatusOr<std::vector<v1::Series>>> out;
  for (auto& r : reads) out.push_back(r.get());
  return out;
}

// The traffic metric: the tree's traffic_mix check's, else "requests".
std::string TrafficMetric(const v1::Tree& tree) {
  for (const v1::Category& c : tree.category()) {
    if (c.has_traffic_mix() && !c.traffic_mix().metric().empty()) return c.traffic_mix().metric();
  }
  return "requests";
}

}  // namespace

void Engine::AddCohorts(const v1::Incident& incident,
                        const std::vector<absl::StatusOr<std::vector<v1::Series>>>& alert_series,
                        const Context& ctx, const OnsetParams& onset, Reads& load,
                        v1::TriageReport* report) const {
  // The first alert whose metric has series that differ in a label.
  for (int i = 0; i < incident.alerts_size(); ++i) {
    if (!alert_series[i].ok() || alert_series[i]->size() < 2) continue;
    const v1::Alert& a = incident.alerts(i);
    CohortWindows w{.baseline_from = ctx.now - onset.baseline_start_ms,
                    .baseline_to = ctx.now - onset.baseline_end_ms,
                    .current_from = std::min(ctx.onset, ctx.now - 15 * kMinuteMs),
                    .current_to = ctx.now,
                    .band_sigmas = onset.band_sigmas};
    const std::string traffic = TrafficMetric(tree_);
    absl::StatusOr<std::vector<v1::Series>> requests = load([&] {
      return load.Series({.service = a.service(),
                          .metric = traffic,
                          .query = QueryOf(ctx.metric_queries, a.service(), traffic),
                          .from_ms = w.current_from,
                          .to_ms = w.current_to});
    });
    CohortAnswer answer =
        FindCohorts(*alert_series[i], requests.ok() ? *requests : std::vector<v1::Series>(), w);
    if (answer.dimensions.empty()) continue;
    for (v1::CohortDimension& d : answer.dimensions) {
      d.set_service(a.service());
      d.set_metric(a.metric());
      *report->add_cohorts() = std::move(d);
    }
    if (answer.named) *report->mutable_cohort_localization() = *answer.named;
    return;
  }
}

namespace {

// The alerted services (in alert order), the union of their dependencies,
// and of their consumers less those dependencies; each service's deps.
void SetScope(const v1::Incident& incident, const DependencyGraph& graph, Context* ctx,
              std::map<std::string, std::set<std::string>>* deps_of) {
  for (const v1::Alert& a : incident.alerts()) {
    if (std::find(ctx->services.begin(), ctx->services.end(), a.service()) == ctx->services.end()) {
      ctx->services.push_back(a.service());
    }
  }
  for (const std::string& s : ctx->services) {
    (*deps_of)[s] = graph.Deps(s);
    ctx->deps.insert((*deps_of)[s].begin(), (*deps_of)[s].end());
    for (const std::string& c : graph.Consumers(s)) ctx->consumers.insert(c);
  }
  for (const std::string& d : ctx->deps) ctx->consumers.erase(d);
}

// Each alert's onset on the report; the incident's is the earliest. An
// alert whose series could not be read leaves the reason in onset_error.
void SetOnsets(const v1::Incident& incident,
               const std::vector<absl::StatusOr<std::vector<v1::Series>>>& alert_series,
               const OnsetParams& params, Context* ctx, v1::TriageReport* report) {
  ctx->onset = ctx->now;
  for (int i = 0; i < incident.alerts_size(); ++i) {
    const v1::Alert& a = incident.alerts(i);
    const absl::StatusOr<std::vector<v1::Series>>& series = alert_series[i];
    v1::AlertOnset* o = report->add_onsets();
    o->set_service(a.service());
    o->set_metric(a.metric());
    o->set_query(QueryOf(ctx->metric_queries, a.service(), a.metric(), a.expr()));
    *o->mutable_fired_at() = a.fired_at();
    Onset onset;
    if (!series.ok()) {
      onset.onset_ms = ctx->now;
      onset.note = std::string(series.status().message());
      if (ctx->onset_error.empty()) ctx->onset_error = onset.note;
    } else if (series->empty()) {
      onset.onset_ms = ctx->now;
      onset.note = absl::StrFormat("no series %s; onset = now", o->query());
    } else {
      onset = DetectOnset(MeanSeries(*series), ctx->now, params);
    }
    *o->mutable_onset() = FromMs(onset.onset_ms);
    o->set_detected(onset.detected);
    o->set_note(onset.note);
    o->set_baseline_median(onset.baseline_median);
    o->set_current_median(onset.current_median);
    ctx->onset = std::min(ctx->onset, onset.onset_ms);
  }
}

// Shared dependencies: in the deps of two or more alerted services, most
// shared first.
void AddSharedDependencies(const Context& ctx,
                           const std::map<std::string, std::set<std::string>>& deps_of,
                           v1::TriageReport* report) {
  if (ctx.services.size() < 2) return;
  std::vector<v1::SharedDependency> shared;
  for (const std::string& d : ctx.deps) {
    v1::SharedDependency sd;
    sd.set_service(d);
    for (const std::string& s : ctx.services) {
      if (deps_of.at(s).contains(d)) sd.add_alerted_services(s);
    }
    if (sd.alerted_services_size() >= 2) shared.push_back(std::move(sd));
  }
  std::stable_sort(shared.begin(), shared.end(),
                   [](const v1::SharedDependency& a, const v1::SharedDependency& b) {
                     return a.alerted_services_size() > b.alerted_services_size();
                   });
  for (v1::SharedDependency& sd : shared) *report->add_shared_dependencies() = std::move(sd);
}

// One verdict per category in walk order; NO_DATA ones are blind spots.
void WalkCategories(const std::vector<const v1::Category*>& order, const Context& ctx, Reads& load,
                    v1::TriageReport* report) {
  for (const v1::Category* c : order) {
    Clock::time_point check_start = Clock::now();
    v1::CategoryVerdict* v = report->add_verdicts();
    v->set_category(c->id());
    v->set_number(c->number());
    v->set_name(c->name());
    v->set_cost_minutes(c->cost_minutes());
    v->set_owner(c->owner());
    v->set_mitigation(c->mitigation());
    v->set_check(CheckKind(*c));
    RunCheck(*c, ctx, load, v);
    v->set_check_ms(MsSince(check_start));
    if (v->verdict() == v1::NO_DATA) {
      v1::BlindSpot* b = report->add_blind_spots();
      b->set_category(c->id());
      b->set_reason(v->evidence());
    }
  }
}

// Suspects: the localized category's candidates first (its newest is the
// prime suspect), then every other HIT's; and the changes after onset.
void AddSuspects(const Context& ctx, const v1::CategoryVerdict* localized,
                 v1::TriageReport* report) {
  std::map<std::string, const v1::Change*> by_id;
  for (const v1::Change& c : ctx.changes) by_id[c.id()] = &c;
  std::set<std::string> listed;
  auto add_suspects = [&](const v1::CategoryVerdict& v, bool is_localized) {
    for (int i = 0; i < v.change_ids_size(); ++i) {
      if (!listed.insert(v.change_ids(i)).second) continue;
      const v1::Change& c = *by_id.at(v.change_ids(i));
      v1::SuspectChange* s = report->add_suspect_changes();
      *s->mutable_change() = c;
      s->set_category(v.category());
      s->set_prime(is_localized && i == 0);
      s->set_minutes_before_onset(static_cast<double>(ctx.onset - ToMs(c.time())) / kMinuteMs);
      s->set_rollback_hint(RollbackHint(c));
    }
  };
  if (localized != nullptr) add_suspects(*localized, true);
  for (const v1::CategoryVerdict& v : report->verdicts()) {
    if (&v != localized && v.verdict() == v1::HIT) add_suspects(v, false);
  }
  std::set<std::string> everything = ctx.deps;
  everything.insert(ctx.consumers.begin(), ctx.consumers.end());
  for (const v1::Change& c : ctx.changes) {
    if (ToMs(c.time()) > ctx.candidate_to && AppliesTo(c, everything)) {
      *report->add_after_onset_changes() = c;
    }
  }
}

// The answer: the first HIT in walk order, else rare_class with the blind
// spots named.
void Localize(const v1::CategoryVerdict* localized, v1::TriageReport* report) {
  if (localized != nullptr) {
    report->set_localized_category(localized->category());
    report->set_mitigation(localized->mitigation());
    report->set_owner(localized->owner());
    return;
  }
  report->set_localized_category(kRareClass);
  std::vector<std::string> blind;
  for (const v1::BlindSpot& b : report->blind_spots()) blind.push_back(b.category());
  report->set_escalation(absl::StrFormat(
      "No category of the tree matched: escalate to incident-commander mode. %s",
      blind.empty() ? std::string("Every category had data and was clear.")
                    : "Blind spots (no data, not ruled out): " + absl::StrJoin(blind, ", ") + "."));
}

}  // namespace

absl::StatusOr<v1::TriageReport> Engine::Walk(const v1::Incident& incident) const {
  if (incident.alerts_size() == 0) {
    return absl::InvalidArgumentError("incident " + incident.id() + " has no alerts");
  }
  Clock::time_point walk_start = Clock::now();
  Reads load(sources_);
  const v1::TreeSettings& settings = tree_.settings();
  v1::TriageReport report;
  report.set_incident_id(incident.id());
  const RootCauseHistory no_history;
  const WalkOrder walk_order = OrderFor(tree_, history_ != nullptr ? *history_ : no_history);
  report.set_ordering(walk_order.name);
  report.set_expected_minutes(walk_order.expected_minutes);
  report.set_expected_minutes_cost_order(walk_order.expected_minutes_cost);
  report.set_history_incidents(history_ != nullptr ? history_->total : 0);

  Context ctx;
  ctx.now = std::numeric_limits<int64_t>::min();
  for (const v1::Alert& a : incident.alerts()) ctx.now = std::max(ctx.now, ToMs(a.fired_at()));
  absl::StatusOr<DependencyGraph> graph = load([&] { return load.records().Dependencies(); });
  if (!graph.ok()) return graph.status();
  std::map<std::string, std::set<std::string>> deps_of;
  SetScope(incident, *graph, &ctx, &deps_of);

  // Onset: the earliest onset among the alerts.
  OnsetParams onset_params{DurationMs(settings.onset_baseline_start()),
                           DurationMs(settings.onset_baseline_end()),
                           DurationMs(settings.onset_search()), settings.onset_band_sigmas()};
  ctx.metric_queries = settings.metric_queries();
  std::vector<absl::StatusOr<std::vector<v1::Series>>> alert_series =
      load([&] { return ReadAlertSeries(incident, ctx, onset_params, load); });
  SetOnsets(incident, alert_series, onset_params, &ctx, &report);
  AddCohorts(incident, alert_series, ctx, onset_params, load, &report);
  ctx.candidate_from = ctx.onset - DurationMs(settings.candidate_before());
  ctx.candidate_to = ctx.onset + DurationMs(settings.candidate_after());
  const ReadSpans spans = SpansOf(tree_, ctx.now, ctx.onset);
  absl::StatusOr<std::vector<v1::Change>> changes = load(
      [&] { return load.records().ChangesBetween(spans.changes_from, spans.changes_to); });
  if (!changes.ok()) return changes.status();
  ctx.changes = std::move(*changes);

  *report.mutable_now() = FromMs(ctx.now);
  *report.mutable_onset() = FromMs(ctx.onset);
  for (const std::string& s : ctx.services) report.add_services(s);
  for (const std::string& d : ctx.deps) report.add_dependencies(d);
  AddSharedDependencies(ctx, deps_of, &report);

  const int64_t feed_window = DurationMs(settings.change_feed_window());
  ctx.feed_from = feed_window > 0 ? ctx.now - feed_window : 0;
  WalkCategories(walk_order.order, ctx, load, &report);
  ctx.feed_from = 0;  // Coverage is the categories' rule.
  WalkHypotheses(walk_order.order, ctx, load, &report);
  const v1::CategoryVerdict* localized = nullptr;
  const v1::Category* localized_category = nullptr;
  for (int i = 0; i < report.verdicts_size(); ++i) {
    if (report.verdicts(i).verdict() == v1::HIT) {
      localized = &report.verdicts(i);
      localized_category = walk_order.order[i];
      break;
    }
  }
  AddSuspects(ctx, localized, &report);
  Localize(localized, &report);
  if (localized != nullptr) SetRootCause(*localized_category, *localized, &report);
  for (v1::MetricQuery& q : load.Queries()) *report.add_queries() = std::move(q);
  report.set_load_ms(load.ms());
  report.set_walk_ms(MsSince(walk_start));
  return report;
}

}  // namespace triage::rules
