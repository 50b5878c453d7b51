#include "rules/checks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/drift.h"
#include "rules/promql.h"
#include "rules/stats.h"
#include "rules/tree.h"

namespace triage::rules {

absl::StatusOr<std::vector<v1::Series>> Reads::Series(const SeriesQuery& q) {
  v1::MetricQuery log;
  log.set_service(q.service);
  log.set_metric(q.metric);
  log.set_query(q.query);
  log.set_source(sources_.metrics->Name());
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!metrics_failed_.ok()) {
      refused = absl::Status(metrics_failed_.code(),
                             absl::StrCat(metrics_failed_.message(), " (earlier in this walk)"));
    } else if (static_cast<int>(queries_.size()) >= sources_.max_metric_queries) {
      refused = absl::ResourceExhaustedError(absl::StrFormat(
          "metrics source: more than %d reads in one walk", sources_.max_metric_queries));
    }
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<v1::Series>> series =
      refused.ok() ? sources_.metrics->ReadSeries(q) : refused;
  log.set_ms(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (series.ok()) {
    log.set_series(static_cast<int32_t>(series->size()));
  } else {
    log.set_error(std::string(series.status().message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!series.ok() && metrics_failed_.ok()) metrics_failed_ = series.status();
  queries_.push_back(std::move(log));
  return series;
}

std::vector<v1::MetricQuery> Reads::Queries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queries_;
}

namespace {

// Upstream reports are read from here on: the row baseline, the schema
// switch window and the report window, and a day before the earliest (the
// report before a switch).
int64_t UpstreamFetchFrom(const v1::UpstreamHealthCheck& p, int64_t now, int64_t onset) {
  return std::min({now - DurationMs(p.row_baseline_start()),
                   onset - DurationMs(p.schema_switch_before_onset()),
                   now - DurationMs(p.report_window())}) -
         kDayMs;
}

void ChangeLog(const v1::ChangeLogCheck& p, const Context& ctx, v1::CategoryVerdict* v) {
  std::set<std::string> scope = ctx.deps;
  if (p.include_consumers()) scope.insert(ctx.consumers.begin(), ctx.consumers.end());
  std::vector<std::string> evidence;
  if (AddCandidates(Candidates(ctx, p.kinds(), scope), ctx, v, &evidence)) {
    v->set_verdict(v1::HIT);
  } else {
    v->set_verdict(v1::CLEAR);
    evidence.push_back(absl::StrFormat("no %s change on %s in the candidate window %s",
                                       absl::StrJoin(p.kinds(), "/"), Join(scope),
                                       WindowText(ctx)));
    int after = 0;
    for (const v1::Change& c : ctx.changes) {
      if (ToMs(c.time()) > ctx.candidate_to && AppliesTo(c, scope) &&
          std::find(p.kinds().begin(), p.kinds().end(), c.kind()) != p.kinds().end()) {
        ++after;
      }
    }
    if (after > 0)
      evidence.push_back(absl::StrFormat("%d after onset (cannot have caused it)", after));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void UpstreamHealth(const v1::UpstreamHealthCheck& p, const Context& ctx, Reads& load,
                    v1::CategoryVerdict* v) {
  const int64_t base_from = ctx.now - DurationMs(p.row_baseline_start());
  const int64_t base_to = ctx.now - DurationMs(p.row_baseline_end());
  const int64_t switch_from = ctx.onset - DurationMs(p.schema_switch_before_onset());
  const int64_t recent_from = ctx.now - DurationMs(p.report_window());
  const int64_t fetch_from = UpstreamFetchFrom(p, ctx.now, ctx.onset);
  std::vector<std::string> evidence;
  bool hit = false;
  bool any_recent = false;
  int sources = 0;
  for (const std::string& consumer : ctx.deps) {
    absl::StatusOr<std::vector<v1::Upstream>> reports =
        load([&] { return load.records().UpstreamReports(consumer, fetch_from, ctx.now); });
    if (!reports.ok() || reports->empty()) continue;
    std::map<std::string, std::vector<const v1::Upstream*>> by_source;
    for (const v1::Upstream& u : *reports) by_source[u.source()].push_back(&u);
    for (const auto& [source, list] : by_source) {
      ++sources;
      std::string subject = absl::StrFormat("%s -> %s", source, consumer);
      const v1::Upstream& latest = *list.back();
      int64_t latest_t = ToMs(latest.time());
      if (latest_t >= recent_from) any_recent = true;
      std::vector<std::string> found;
      std::vector<double> baseline;
      for (const v1::Upstream* u : list) {
        int64_t t = ToMs(u->time());
        if (t >= base_from && t < base_to && u->has_row_count()) {
          baseline.push_back(static_cast<double>(u->row_count()));
        }
      }
      if (latest.has_row_count() && !baseline.empty()) {
        double median = Median(baseline);
        double ratio = median > 0 ? latest.row_count() / median : 1.0;
        if (ratio < p.min_row_ratio()) {
          found.push_back(
              absl::StrFormat("rows %d at %s are %.0f%% of the baseline median %.0f "
                              "(threshold %.0f%%)",
                              latest.row_count(), FormatRfc3339(latest_t), 100 * ratio, median,
                              100 * p.min_row_ratio()));
        }
      }
      for (size_t i = 1; i < list.size(); ++i) {
        const v1::Upstream& prev = *list[i - 1];
        const v1::Upstream& cur = *list[i];
        int64_t t = ToMs(cur.time());
        if (prev.has_schema_fingerprint() && cur.has_schema_fingerprint() &&
            prev.schema_fingerprint() != cur.schema_fingerprint() && t >= switch_from &&
            t <= ctx.now) {
          found.push_back(absl::StrFormat("schema switched %s -> %s at %s",
                                          prev.schema_fingerprint(), cur.schema_fingerprint(),
                                          FormatRfc3339(t)));
        }
      }
      if (!p.ignore_freshness() && latest.has_last_seen() && latest.has_freshness_sla_seconds()) {
        int64_t lag = ctx.now - ToMs(latest.last_seen());
        if (lag > latest.freshness_sla_seconds() * 1000) {
          found.push_back(absl::StrFormat("newest row %s old, over its freshness SLA of %s",
                                          FormatDuration(lag / 1000 * 1000),
                                          FormatDuration(latest.freshness_sla_seconds() * 1000)));
        }
      }
      v1::Finding* f = v->add_findings();
      f->set_subject(subject);
      f->set_implicates(!found.empty());
      if (found.empty()) {
        f->set_detail(absl::StrFormat(
            "latest report %s: rows %s, schema %s", FormatRfc3339(latest_t),
            latest.has_row_count() ? absl::StrFormat("%d", latest.row_count()) : "?",
            latest.has_schema_fingerprint() ? latest.schema_fingerprint() : "?"));
      } else {
        hit = true;
        f->set_detail(absl::StrJoin(found, "; "));
        evidence.push_back(subject + ": " + f->detail());
      }
    }
  }
  if (AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence)) hit = true;
  if (hit) {
    v->set_verdict(v1::HIT);
  } else if (!any_recent) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat("no upstream report for any consumer in %s in [now-%s, now]",
                                       Join(ctx.deps), p.report_window()));
  } else {
    v->set_verdict(v1::CLEAR);
    evidence.push_back(absl::StrFormat(
        "%d sources of %s: rows, schema and freshness normal; no %s change in the candidate window",
        sources, Join(ctx.deps), absl::StrJoin(p.change_kinds(), "/")));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void FeatureDrift(const v1::FeatureDriftCheck& p, const Context& ctx, Reads& load,
                  v1::CategoryVerdict* v) {
  const DriftWindow window = DriftWindowOf(p, ctx.now);
  std::vector<FeatureSums> sums;
  std::set<std::string> source_errors;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<FeatureSums>> s =
        load([&] { return load.features().FeatureDistributions(service, window); });
    if (!s.ok()) {
      source_errors.insert(std::string(s.status().message()));
      continue;
    }
    for (FeatureSums& f : *s) sums.push_back(std::move(f));
  }
  const bool no_features = sums.empty();
  DriftResult r = Drift(p, std::move(sums), static_cast<size_t>(std::max(0, p.top_k())));
  std::vector<std::string> evidence;
  for (const v1::FeatureDrift& d : r.drifts) {
    if (d.kl() > d.threshold()) {
      evidence.push_back(absl::StrFormat("%s/%s KL %.3f > %.3g (PSI %.3f)", d.service(),
                                         d.feature(), d.kl(), d.threshold(), d.psi()));
    }
  }
  for (size_t i = 0; i < r.drifts.size() && i < static_cast<size_t>(p.top_k()); ++i) {
    *v->add_drift() = r.drifts[i];
  }
  if (!evidence.empty()) {
    v->set_verdict(v1::HIT);
  } else if (r.drifts.empty() || !r.short_baseline.empty()) {
    v->set_verdict(v1::NO_DATA);
    if (no_features || r.drifts.empty()) {
      evidence.push_back(absl::StrFormat(
          "no feature of %s has histograms overlapping [now-%s, now] and %s of baseline in "
          "[now-%s, now-%s)",
          Join(ctx.deps), p.current_window(), p.min_baseline(), p.baseline_start(),
          p.baseline_end()));
    }
    if (!r.short_baseline.empty()) {
      evidence.push_back(absl::StrFormat("less than %s of baseline: %s", p.min_baseline(),
                                         absl::StrJoin(r.short_baseline, ", ")));
    }
  } else {
    v->set_verdict(v1::CLEAR);
    evidence.push_back(absl::StrFormat("%d features within threshold; highest %s/%s KL %.3f",
                                       r.drifts.size(), r.drifts[0].service(),
                                       r.drifts[0].feature(), r.drifts[0].kl()));
  }
  if (!r.no_current.empty() && v->verdict() != v1::HIT) {
    evidence.push_back(
        absl::StrFormat("no current histogram: %s", absl::StrJoin(r.no_current, ", ")));
  }
  if (!source_errors.empty() && v->verdict() != v1::HIT) {
    // Features that could not be read may be the ones that drifted.
    v->set_verdict(v1::NO_DATA);
    for (const std::string& e : source_errors) evidence.push_back(e);
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void EvalStaleness(const v1::EvalStalenessCheck& p, const Context& ctx, Reads& load,
                   v1::CategoryVerdict* v) {
  const int64_t max_age = DurationMs(p.max_age());
  std::vector<std::string> evidence, missing;
  bool hit = false;
  for (const std::string& service : ctx.services) {
    absl::StatusOr<std::vector<v1::EvalSet>> sets =
        load([&] { return load.records().EvalSets(service, ctx.now); });
    if (!sets.ok() || sets->empty()) {
      missing.push_back(service);
      continue;
    }
    const v1::EvalSet& latest = sets->back();
    int64_t age = ctx.now - ToMs(latest.refreshed_at());
    bool stale = age > max_age && latest.catalog_turnover() > p.min_catalog_turnover();
    std::string detail =
        absl::StrFormat("%s refreshed %s ago (limit %s), catalog turnover %.0f%% (limit %.0f%%)",
                        latest.name(), FormatDuration(age / kHourMs * kHourMs), p.max_age(),
                        100 * latest.catalog_turnover(), 100 * p.min_catalog_turnover());
    v1::Finding* f = v->add_findings();
    f->set_subject(service + "/" + latest.name());
    f->set_detail(detail);
    f->set_implicates(stale);
    evidence.push_back(service + ": " + detail);
    hit = hit || stale;
  }
  if (hit) {
    v->set_verdict(v1::HIT);
  } else if (!missing.empty()) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat("no eval_set record for %s", absl::StrJoin(missing, ", ")));
  } else {
    v->set_verdict(v1::CLEAR);
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void TrafficMix(const v1::TrafficMixCheck& p, const Context& ctx, Reads& load,
                v1::CategoryVerdict* v) {
  const int64_t cur_from = ctx.now - DurationMs(p.current_window());
  const int64_t base_from = ctx.now - DurationMs(p.baseline_start());
  const int64_t base_to = ctx.now - DurationMs(p.baseline_end());
  std::vector<std::string> evidence, missing;
  std::set<std::string> source_errors;
  bool hit = false;
  for (const std::string& service : ctx.services) {
    absl::StatusOr<std::vector<v1::Series>> series = load([&] {
      return load.Series({.service = service,
                          .metric = p.metric(),
                          .query = QueryOf(ctx.metric_queries, service, p.metric()),
                          .from_ms = std::min(base_from, cur_from),
                          .to_ms = ctx.now});
    });
    if (!series.ok()) source_errors.insert(std::string(series.status().message()));
    std::map<std::string, double> current, baseline;
    double cur_total = 0, base_total = 0;
    if (series.ok()) {
      for (const v1::Series& s : *series) {
        // Series without the label take no part in the mix (triage-tree.md).
        auto label = s.labels().find(p.label());
        if (label == s.labels().end()) continue;
        const std::string& key = label->second;
        for (const v1::Point& pt : s.points()) {
          if (std::isnan(pt.value())) continue;
          if (pt.t_ms() >= cur_from && pt.t_ms() <= ctx.now) {
            current[key] += pt.value();
            cur_total += pt.value();
          }
          if (pt.t_ms() >= base_from && pt.t_ms() < base_to) {
            baseline[key] += pt.value();
            base_total += pt.value();
          }
        }
      }
    }
    if (cur_total <= 0 || base_total <= 0) {
      missing.push_back(service);
      continue;
    }
    std::vector<double> cur, base;
    UnionCategories(current, baseline, &cur, &base);
    v1::FeatureDrift d;
    SetShares(cur, base, &d);
    std::set<std::string> sources;  // The order UnionCategories uses.
    for (const auto& [k, _] : current) sources.insert(k);
    for (const auto& [k, _] : baseline) sources.insert(k);
    for (const std::string& k : sources) d.add_bins(k);
    d.set_service(service);
    d.set_feature(absl::StrFormat("%s by %s", p.metric(), p.label()));
    d.set_kl(SmoothedKl(cur, base, p.smoothing()));
    d.set_psi(SmoothedPsi(cur, base, p.smoothing()));
    d.set_threshold(p.threshold());
    d.set_current_total(cur_total);
    d.set_baseline_total(base_total);
    d.set_baseline_hours(static_cast<double>(base_to - base_from) / kHourMs);
    std::vector<std::string> shares;
    for (const auto& [k, c] : current) {
      shares.push_back(absl::StrFormat("%s %.0f%% (was %.0f%%)", k, 100 * c / cur_total,
                                       100 * baseline[k] / base_total));
    }
    bool moved = d.kl() > p.threshold();
    hit = hit || moved;
    evidence.push_back(absl::StrFormat("%s traffic mix KL %.3f %s %.3g: %s", service, d.kl(),
                                       moved ? ">" : "<=", p.threshold(),
                                       absl::StrJoin(shares, ", ")));
    *v->add_drift() = std::move(d);
  }
  if (AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence)) hit = true;
  if (hit) {
    v->set_verdict(v1::HIT);
  } else if (!missing.empty()) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat(
        "no %s series with data in [now-%s, now] and [now-%s, now-%s) for %s, and no %s change",
        p.metric(), p.current_window(), p.baseline_start(), p.baseline_end(),
        absl::StrJoin(missing, ", "), absl::StrJoin(p.change_kinds(), "/")));
    for (const std::string& e : source_errors) evidence.push_back(e);
  } else {
    v->set_verdict(v1::CLEAR);
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void DependencyHealth(const v1::DependencyHealthCheck& p, const Context& ctx, Reads& load,
                      v1::CategoryVerdict* v) {
  std::vector<std::string> evidence;
  bool hit = AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence);
  int probes = 0;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<v1::DependencyHealth>> list = load([&] {
      return load.records().Probes(service, std::numeric_limits<int64_t>::min() / 2, ctx.now);
    });
    if (!list.ok()) continue;
    std::map<std::string, const v1::DependencyHealth*> latest;
    for (const v1::DependencyHealth& d : *list) latest[d.check()] = &d;  // Sorted by time.
    for (const auto& [check, d] : latest) {
      ++probes;
      bool bad = (d->has_min() && d->value() < d->min()) || (d->has_max() && d->value() > d->max());
      std::string band =
          absl::StrFormat("[%s, %s]", d->has_min() ? absl::StrFormat("%g", d->min()) : "-inf",
                          d->has_max() ? absl::StrFormat("%g", d->max()) : "+inf");
      v1::Finding* f = v->add_findings();
      f->set_subject(service + "/" + check);
      f->set_detail(absl::StrFormat("%g at %s, healthy band %s", d->value(),
                                    FormatRfc3339(ToMs(d->time())), band));
      f->set_implicates(bad);
      if (bad) {
        hit = true;
        evidence.push_back(absl::StrFormat("probe %s/%s = %g outside %s at %s", service, check,
                                           d->value(), band, FormatRfc3339(ToMs(d->time()))));
      }
    }
  }
  v->set_verdict(hit ? v1::HIT : v1::CLEAR);
  if (!hit) {
    evidence.push_back(
        absl::StrFormat("no %s change in the candidate window; %d probes of %s in band",
                        absl::StrJoin(p.change_kinds(), "/"), probes, Join(ctx.deps)));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

}  // namespace

void RunCheck(const v1::Category& c, const Context& ctx, Reads& reads, v1::CategoryVerdict* v) {
  const bool needs_onset = c.has_change_log() || c.has_upstream_health() || c.has_traffic_mix() ||
                           c.has_dependency_health();
  if (needs_onset && !ctx.onset_error.empty()) {
    v->set_verdict(v1::NO_DATA);
    v->set_evidence(
        absl::StrCat("onset unknown, so the candidate window is too: ", ctx.onset_error));
    return;
  }
  switch (c.check_case()) {
    case v1::Category::kChangeLog:
      return ChangeLog(c.change_log(), ctx, v);
    case v1::Category::kUpstreamHealth:
      return UpstreamHealth(c.upstream_health(), ctx, reads, v);
    case v1::Category::kFeatureDrift:
      return FeatureDrift(c.feature_drift(), ctx, reads, v);
    case v1::Category::kEvalStaleness:
      return EvalStaleness(c.eval_staleness(), ctx, reads, v);
    case v1::Category::kTrafficMix:
      return TrafficMix(c.traffic_mix(), ctx, reads, v);
    case v1::Category::kDependencyHealth:
      return DependencyHealth(c.dependency_health(), ctx, reads, v);
    case v1::Category::CHECK_NOT_SET:
      v->set_verdict(v1::NO_DATA);
      v->set_evidence("the category has no check");
      return;
  }
}

ReadSpans SpansOf(const v1::Tree& tree, int64_t now, int64_t onset) {
  const v1::TreeSettings& settings = tree.settings();
  ReadSpans s;
  s.changes_from = onset - DurationMs(settings.candidate_before());
  s.changes_to = std::max(now, onset + DurationMs(settings.candidate_after()));
  s.series_from = now - DurationMs(settings.onset_baseline_start());
  s.histograms_from = now;
  s.upstream_from = now;
  s.probes_from = std::numeric_limits<int64_t>::min() / 2;
  for (const v1::Category& c : tree.category()) {
    if (c.has_feature_drift()) {
      const DriftWindow w = DriftWindowOf(c.feature_drift(), now);
      s.histograms_from = std::min({s.histograms_from, w.current_from, w.baseline_from});
    }
    if (c.has_upstream_health()) {
      s.upstream_from =
          std::min(s.upstream_from, UpstreamFetchFrom(c.upstream_health(), now, onset));
    }
    if (c.has_traffic_mix()) {
      const v1::TrafficMixCheck& t = c.traffic_mix();
      s.traffic_metrics.push_back(t.metric());
      s.series_from = std::min({s.series_from, now - DurationMs(t.baseline_start()),
                                now - DurationMs(t.current_window())});
    }
  }
  return s;
}

}  // namespace triage::rules
