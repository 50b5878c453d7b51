#include "rules/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rules/stats.h"
#include "rules/tree.h"
#include "triage/base/graph.h"
#include "triage/base/time.h"

namespace triage::rules {

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Milliseconds of a duration string that ParseTree already validated.
int64_t Dur(const std::string& text) {
  absl::StatusOr<int64_t> d = ParseDurationMs(text);
  return d.ok() ? *d : 0;
}

std::string Minutes(int64_t ms) { return absl::StrFormat("%d min", (ms + 30'000) / 60'000); }

// Store reads made by the walk, timed so the report can split load from checks.
class Loader {
 public:
  explicit Loader(const store::Store& store) : store_(store) {}

  template <typename Fn>
  auto operator()(Fn fn) -> decltype(fn(std::declval<const store::Store&>())) {
    Clock::time_point start = Clock::now();
    auto result = fn(store_);
    ms_ += MsSince(start);
    return result;
  }
  double ms() const { return ms_; }

 private:
  const store::Store& store_;
  double ms_ = 0;
};

// What every check needs to know about the incident.
struct Context {
  int64_t now = 0;
  int64_t onset = 0;
  int64_t candidate_from = 0;         // onset - candidate_before
  int64_t candidate_to = 0;           // onset + candidate_after
  std::vector<std::string> services;  // Alerted services, in alert order, unique.
  std::set<std::string> deps;         // Union of deps(S).
  std::set<std::string> consumers;    // Union of consumers(S), minus deps.
  std::vector<v1::Change> changes;    // Every change in [candidate_from, now].
};

bool AppliesTo(const v1::Change& c, const std::set<std::string>& services) {
  return c.service() == "*" || services.contains(c.service());
}

std::string Join(const std::set<std::string>& s) { return absl::StrJoin(s, ", "); }

// Candidate changes of `kinds` on `services`, newest first.
std::vector<const v1::Change*> Candidates(
    const Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& kinds,
    const std::set<std::string>& services) {
  std::vector<const v1::Change*> out;
  for (const v1::Change& c : ctx.changes) {
    int64_t t = ToMs(c.time());
    if (t < ctx.candidate_from || t > ctx.candidate_to) continue;
    if (std::find(kinds.begin(), kinds.end(), c.kind()) == kinds.end()) continue;
    if (AppliesTo(c, services)) out.push_back(&c);
  }
  std::stable_sort(out.begin(), out.end(), [](const v1::Change* a, const v1::Change* b) {
    return ToMs(a->time()) > ToMs(b->time());
  });
  return out;
}

std::string DescribeChange(const v1::Change& c, int64_t onset) {
  int64_t before = onset - ToMs(c.time());
  std::string when =
      before >= 0 ? Minutes(before) + " before onset" : Minutes(-before) + " after onset";
  std::string version;
  if (!c.version().empty()) {
    version = c.previous_version().empty()
                  ? absl::StrFormat(" %s", c.version())
                  : absl::StrFormat(" %s <- %s", c.version(), c.previous_version());
  }
  return absl::StrFormat("%s %s on %s%s at %s (%s)%s", c.id(), c.kind(), c.service(), version,
                         FormatRfc3339(ToMs(c.time())), when,
                         c.summary().empty() ? "" : ": " + c.summary());
}

// Records candidates on the verdict; returns true when there are any.
bool AddCandidates(const std::vector<const v1::Change*>& candidates, const Context& ctx,
                   v1::CategoryVerdict* v, std::vector<std::string>* evidence) {
  for (const v1::Change* c : candidates) {
    v->add_change_ids(c->id());
    evidence->push_back("candidate " + DescribeChange(*c, ctx.onset));
  }
  return !candidates.empty();
}

std::string WindowText(const Context& ctx) {
  return absl::StrFormat("[%s, %s]", FormatRfc3339(ctx.candidate_from),
                         FormatRfc3339(ctx.candidate_to));
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

void UpstreamHealth(const v1::UpstreamHealthCheck& p, const Context& ctx, Loader& load,
                    v1::CategoryVerdict* v) {
  const int64_t base_from = ctx.now - Dur(p.row_baseline_start());
  const int64_t base_to = ctx.now - Dur(p.row_baseline_end());
  const int64_t switch_from = ctx.onset - Dur(p.schema_switch_before_onset());
  const int64_t recent_from = ctx.now - Dur(p.report_window());
  const int64_t fetch_from = std::min({base_from, switch_from, recent_from}) - kDayMs;
  std::vector<std::string> evidence;
  bool hit = false;
  bool any_recent = false;
  int sources = 0;
  for (const std::string& consumer : ctx.deps) {
    absl::StatusOr<std::vector<v1::Upstream>> reports = load(
        [&](const store::Store& s) { return s.UpstreamReports(consumer, fetch_from, ctx.now); });
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

// Total length of the union of [start, end) intervals.
int64_t Coverage(std::vector<std::pair<int64_t, int64_t>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  int64_t total = 0;
  int64_t cur_start = 0, cur_end = std::numeric_limits<int64_t>::min();
  for (const auto& [s, e] : intervals) {
    if (s > cur_end) {
      if (cur_end > cur_start) total += cur_end - cur_start;
      cur_start = s;
      cur_end = e;
    } else {
      cur_end = std::max(cur_end, e);
    }
  }
  if (cur_end > cur_start) total += cur_end - cur_start;
  return total;
}

struct FeatureSums {
  std::vector<double> current, baseline;                    // Numeric bins.
  std::map<std::string, double> current_cat, baseline_cat;  // Categorical.
  bool categorical = false;
  std::vector<double> edges;  // Of a numeric feature, for the bins' labels.
  double current_total = 0, baseline_total = 0;
  std::vector<std::pair<int64_t, int64_t>> baseline_intervals;
};

void AddCounts(const v1::Histogram& h, std::vector<double>* bins,
               std::map<std::string, double>* cats, double* total) {
  if (bins->size() < static_cast<size_t>(h.counts_size())) bins->resize(h.counts_size());
  for (int i = 0; i < h.counts_size(); ++i) {
    (*bins)[i] += h.counts(i);
    *total += h.counts(i);
  }
  for (const auto& [k, c] : h.categories()) {
    (*cats)[k] += c;
    *total += c;
  }
}

// The compared distributions as shares, for the page's histogram view.
void SetShares(const std::vector<double>& cur, const std::vector<double>& base,
               v1::FeatureDrift* d) {
  double ct = 0, bt = 0;
  for (double c : cur) ct += c;
  for (double b : base) bt += b;
  for (size_t i = 0; i < cur.size(); ++i) {
    d->add_current_share(ct > 0 ? cur[i] / ct : 0);
    d->add_baseline_share(bt > 0 ? base[i] / bt : 0);
  }
}

void FeatureDrift(const v1::FeatureDriftCheck& p, const Context& ctx, Loader& load,
                  v1::CategoryVerdict* v) {
  const int64_t cur_from = ctx.now - Dur(p.current_window());
  const int64_t base_from = ctx.now - Dur(p.baseline_start());
  const int64_t base_to = ctx.now - Dur(p.baseline_end());
  const int64_t min_baseline = Dur(p.min_baseline());
  std::map<std::pair<std::string, std::string>, FeatureSums> features;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<v1::Histogram>> hs = load([&](const store::Store& s) {
      return s.Histograms(service, std::min(base_from, cur_from), ctx.now);
    });
    if (!hs.ok()) continue;
    for (const v1::Histogram& h : *hs) {
      int64_t start = ToMs(h.start()), end = ToMs(h.end());
      FeatureSums& f = features[{h.service(), h.feature()}];
      if (h.edges_size() == 0) f.categorical = true;
      if (f.edges.empty()) f.edges.assign(h.edges().begin(), h.edges().end());
      if (start < ctx.now && end > cur_from) {
        AddCounts(h, &f.current, &f.current_cat, &f.current_total);
      }
      if (start >= base_from && end <= base_to) {
        AddCounts(h, &f.baseline, &f.baseline_cat, &f.baseline_total);
        f.baseline_intervals.emplace_back(start, end);
      }
    }
  }
  std::vector<v1::FeatureDrift> drifts;
  std::vector<std::string> no_current, short_baseline;
  for (auto& [key, f] : features) {
    std::string name = key.first + "/" + key.second;
    if (f.current_total <= 0) {
      no_current.push_back(name);
      continue;
    }
    int64_t covered = Coverage(f.baseline_intervals);
    if (covered < min_baseline || f.baseline_total <= 0) {
      short_baseline.push_back(absl::StrFormat("%s (%s)", name, FormatDuration(covered)));
      continue;
    }
    std::vector<double> cur = f.current, base = f.baseline;
    if (f.categorical) UnionCategories(f.current_cat, f.baseline_cat, &cur, &base);
    size_t n = std::max(cur.size(), base.size());
    cur.resize(n);
    base.resize(n);
    v1::FeatureDrift d;
    d.set_service(key.first);
    d.set_feature(key.second);
    SetShares(cur, base, &d);
    if (f.categorical) {
      std::set<std::string> names;
      for (const auto& [k, _] : f.current_cat) names.insert(k);
      for (const auto& [k, _] : f.baseline_cat) names.insert(k);
      for (const std::string& k : names) d.add_bins(k);
    } else {
      for (size_t i = 0; i + 1 < f.edges.size(); ++i) {
        d.add_bins(absl::StrFormat("[%g, %g)", f.edges[i], f.edges[i + 1]));
      }
    }
    d.set_kl(SmoothedKl(cur, base, p.smoothing()));
    d.set_psi(SmoothedPsi(cur, base, p.smoothing()));
    double threshold = p.threshold();
    if (auto it = p.feature_thresholds().find(key.second); it != p.feature_thresholds().end()) {
      threshold = it->second;
    }
    if (auto it = p.feature_thresholds().find(name); it != p.feature_thresholds().end()) {
      threshold = it->second;
    }
    d.set_threshold(threshold);
    d.set_current_total(f.current_total);
    d.set_baseline_total(f.baseline_total);
    d.set_baseline_hours(static_cast<double>(covered) / kHourMs);
    drifts.push_back(std::move(d));
  }
  std::sort(drifts.begin(), drifts.end(),
            [](const v1::FeatureDrift& a, const v1::FeatureDrift& b) { return a.kl() > b.kl(); });
  std::vector<std::string> evidence;
  for (const v1::FeatureDrift& d : drifts) {
    if (d.kl() > d.threshold()) {
      evidence.push_back(absl::StrFormat("%s/%s KL %.3f > %.3g (PSI %.3f)", d.service(),
                                         d.feature(), d.kl(), d.threshold(), d.psi()));
    }
  }
  for (size_t i = 0; i < drifts.size() && i < static_cast<size_t>(p.top_k()); ++i) {
    *v->add_drift() = drifts[i];
  }
  if (!evidence.empty()) {
    v->set_verdict(v1::HIT);
  } else if (drifts.empty() || !short_baseline.empty()) {
    v->set_verdict(v1::NO_DATA);
    if (features.empty() || drifts.empty()) {
      evidence.push_back(absl::StrFormat(
          "no feature of %s has histograms overlapping [now-%s, now] and %s of baseline in "
          "[now-%s, now-%s)",
          Join(ctx.deps), p.current_window(), p.min_baseline(), p.baseline_start(),
          p.baseline_end()));
    }
    if (!short_baseline.empty()) {
      evidence.push_back(absl::StrFormat("less than %s of baseline: %s", p.min_baseline(),
                                         absl::StrJoin(short_baseline, ", ")));
    }
  } else {
    v->set_verdict(v1::CLEAR);
    evidence.push_back(absl::StrFormat("%d features within threshold; highest %s/%s KL %.3f",
                                       drifts.size(), drifts[0].service(), drifts[0].feature(),
                                       drifts[0].kl()));
  }
  if (!no_current.empty() && v->verdict() != v1::HIT) {
    evidence.push_back(
        absl::StrFormat("no current histogram: %s", absl::StrJoin(no_current, ", ")));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void EvalStaleness(const v1::EvalStalenessCheck& p, const Context& ctx, Loader& load,
                   v1::CategoryVerdict* v) {
  const int64_t max_age = Dur(p.max_age());
  std::vector<std::string> evidence, missing;
  bool hit = false;
  for (const std::string& service : ctx.services) {
    absl::StatusOr<std::vector<v1::EvalSet>> sets =
        load([&](const store::Store& s) { return s.EvalSets(service, ctx.now); });
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

void TrafficMix(const v1::TrafficMixCheck& p, const Context& ctx, Loader& load,
                v1::CategoryVerdict* v) {
  const int64_t cur_from = ctx.now - Dur(p.current_window());
  const int64_t base_from = ctx.now - Dur(p.baseline_start());
  const int64_t base_to = ctx.now - Dur(p.baseline_end());
  std::vector<std::string> evidence, missing;
  bool hit = false;
  for (const std::string& service : ctx.services) {
    absl::StatusOr<std::vector<v1::Series>> series = load([&](const store::Store& s) {
      return s.ReadSeries(service, p.metric(), std::min(base_from, cur_from), ctx.now);
    });
    std::map<std::string, double> current, baseline;
    double cur_total = 0, base_total = 0;
    if (series.ok()) {
      for (const v1::Series& s : *series) {
        auto label = s.labels().find(p.label());
        std::string key = label == s.labels().end() ? "(none)" : label->second;
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
  } else {
    v->set_verdict(v1::CLEAR);
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void DependencyHealth(const v1::DependencyHealthCheck& p, const Context& ctx, Loader& load,
                      v1::CategoryVerdict* v) {
  std::vector<std::string> evidence;
  bool hit = AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence);
  int probes = 0;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<v1::DependencyHealth>> list = load([&](const store::Store& s) {
      return s.Probes(service, std::numeric_limits<int64_t>::min() / 2, ctx.now);
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

std::string RollbackHint(const v1::Change& c) {
  if (c.kind() == "campaign") return absl::StrFormat("pause or throttle campaign %s", c.id());
  std::string target = c.service() == "*" ? "every service" : c.service();
  if (!c.previous_version().empty()) {
    return absl::StrFormat("roll %s back to %s (from %s)", target, c.previous_version(),
                           c.version().empty() ? c.id() : c.version());
  }
  return absl::StrFormat("revert %s on %s (previous version not recorded)", c.id(), target);
}

}  // namespace

absl::StatusOr<v1::TriageReport> Engine::Walk(const v1::Incident& incident) const {
  if (incident.alerts_size() == 0) {
    return absl::InvalidArgumentError("incident " + incident.id() + " has no alerts");
  }
  Clock::time_point walk_start = Clock::now();
  Loader load(store_);
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
  for (const v1::Alert& a : incident.alerts()) {
    ctx.now = std::max(ctx.now, ToMs(a.fired_at()));
    if (std::find(ctx.services.begin(), ctx.services.end(), a.service()) == ctx.services.end()) {
      ctx.services.push_back(a.service());
    }
  }
  absl::StatusOr<DependencyGraph> graph =
      load([](const store::Store& s) { return s.Dependencies(); });
  if (!graph.ok()) return graph.status();
  std::map<std::string, std::set<std::string>> deps_of;
  for (const std::string& s : ctx.services) {
    deps_of[s] = graph->Deps(s);
    ctx.deps.insert(deps_of[s].begin(), deps_of[s].end());
    for (const std::string& c : graph->Consumers(s)) ctx.consumers.insert(c);
  }
  for (const std::string& d : ctx.deps) ctx.consumers.erase(d);

  // Onset: the earliest onset among the alerts.
  OnsetParams onset_params{Dur(settings.onset_baseline_start()), Dur(settings.onset_baseline_end()),
                           Dur(settings.onset_search()), settings.onset_band_sigmas()};
  ctx.onset = ctx.now;
  for (const v1::Alert& a : incident.alerts()) {
    absl::StatusOr<std::vector<v1::Series>> series = load([&](const store::Store& s) {
      return s.ReadSeries(a.service(), a.metric(), ctx.now - onset_params.baseline_start_ms,
                          ctx.now);
    });
    if (!series.ok()) return series.status();
    v1::AlertOnset* o = report.add_onsets();
    o->set_service(a.service());
    o->set_metric(a.metric());
    *o->mutable_fired_at() = a.fired_at();
    Onset onset;
    if (series->empty()) {
      onset.onset_ms = ctx.now;
      onset.note =
          absl::StrFormat("no series %s{service=\"%s\"}; onset = now", a.metric(), a.service());
    } else {
      onset = DetectOnset(MeanSeries(*series), ctx.now, onset_params);
    }
    *o->mutable_onset() = FromMs(onset.onset_ms);
    o->set_detected(onset.detected);
    o->set_note(onset.note);
    o->set_baseline_median(onset.baseline_median);
    o->set_current_median(onset.current_median);
    ctx.onset = std::min(ctx.onset, onset.onset_ms);
  }
  ctx.candidate_from = ctx.onset - Dur(settings.candidate_before());
  ctx.candidate_to = ctx.onset + Dur(settings.candidate_after());
  absl::StatusOr<std::vector<v1::Change>> changes = load([&](const store::Store& s) {
    return s.ChangesBetween(ctx.candidate_from, std::max(ctx.now, ctx.candidate_to));
  });
  if (!changes.ok()) return changes.status();
  ctx.changes = std::move(*changes);

  *report.mutable_now() = FromMs(ctx.now);
  *report.mutable_onset() = FromMs(ctx.onset);
  for (const std::string& s : ctx.services) report.add_services(s);
  for (const std::string& d : ctx.deps) report.add_dependencies(d);

  // Shared dependencies: in the deps of two or more alerted services.
  if (ctx.services.size() > 1) {
    std::vector<v1::SharedDependency> shared;
    for (const std::string& d : ctx.deps) {
      v1::SharedDependency sd;
      sd.set_service(d);
      for (const std::string& s : ctx.services) {
        if (deps_of[s].contains(d)) sd.add_alerted_services(s);
      }
      if (sd.alerted_services_size() >= 2) shared.push_back(std::move(sd));
    }
    std::stable_sort(shared.begin(), shared.end(),
                     [](const v1::SharedDependency& a, const v1::SharedDependency& b) {
                       return a.alerted_services_size() > b.alerted_services_size();
                     });
    for (v1::SharedDependency& sd : shared) *report.add_shared_dependencies() = std::move(sd);
  }

  // The walk.
  const v1::CategoryVerdict* localized = nullptr;
  for (const v1::Category* c : walk_order.order) {
    Clock::time_point check_start = Clock::now();
    v1::CategoryVerdict* v = report.add_verdicts();
    v->set_category(c->id());
    v->set_number(c->number());
    v->set_name(c->name());
    v->set_cost_minutes(c->cost_minutes());
    v->set_owner(c->owner());
    v->set_mitigation(c->mitigation());
    v->set_check(CheckKind(*c));
    switch (c->check_case()) {
      case v1::Category::kChangeLog:
        ChangeLog(c->change_log(), ctx, v);
        break;
      case v1::Category::kUpstreamHealth:
        UpstreamHealth(c->upstream_health(), ctx, load, v);
        break;
      case v1::Category::kFeatureDrift:
        FeatureDrift(c->feature_drift(), ctx, load, v);
        break;
      case v1::Category::kEvalStaleness:
        EvalStaleness(c->eval_staleness(), ctx, load, v);
        break;
      case v1::Category::kTrafficMix:
        TrafficMix(c->traffic_mix(), ctx, load, v);
        break;
      case v1::Category::kDependencyHealth:
        DependencyHealth(c->dependency_health(), ctx, load, v);
        break;
      case v1::Category::CHECK_NOT_SET:
        v->set_verdict(v1::NO_DATA);
        v->set_evidence("the category has no check");
        break;
    }
    v->set_check_ms(MsSince(check_start));
    if (v->verdict() == v1::NO_DATA) {
      v1::BlindSpot* b = report.add_blind_spots();
      b->set_category(c->id());
      b->set_reason(v->evidence());
    }
  }
  for (const v1::CategoryVerdict& v : report.verdicts()) {
    if (v.verdict() == v1::HIT) {
      localized = &v;
      break;
    }
  }

  // Suspects: the localized category's candidates first (its newest is the prime suspect).
  std::map<std::string, const v1::Change*> by_id;
  for (const v1::Change& c : ctx.changes) by_id[c.id()] = &c;
  std::set<std::string> listed;
  auto add_suspects = [&](const v1::CategoryVerdict& v, bool is_localized) {
    for (int i = 0; i < v.change_ids_size(); ++i) {
      if (!listed.insert(v.change_ids(i)).second) continue;
      const v1::Change& c = *by_id.at(v.change_ids(i));
      v1::SuspectChange* s = report.add_suspect_changes();
      *s->mutable_change() = c;
      s->set_category(v.category());
      s->set_prime(is_localized && i == 0);
      s->set_minutes_before_onset(static_cast<double>(ctx.onset - ToMs(c.time())) / kMinuteMs);
      s->set_rollback_hint(RollbackHint(c));
    }
  };
  if (localized != nullptr) add_suspects(*localized, true);
  for (const v1::CategoryVerdict& v : report.verdicts()) {
    if (&v != localized && v.verdict() == v1::HIT) add_suspects(v, false);
  }
  std::set<std::string> everything = ctx.deps;
  everything.insert(ctx.consumers.begin(), ctx.consumers.end());
  for (const v1::Change& c : ctx.changes) {
    if (ToMs(c.time()) > ctx.candidate_to && AppliesTo(c, everything)) {
      *report.add_after_onset_changes() = c;
    }
  }

  if (localized != nullptr) {
    report.set_localized_category(localized->category());
    report.set_mitigation(localized->mitigation());
    report.set_owner(localized->owner());
  } else {
    report.set_localized_category(kRareClass);
    std::vector<std::string> blind;
    for (const v1::BlindSpot& b : report.blind_spots()) blind.push_back(b.category());
    report.set_escalation(absl::StrFormat(
        "No category of the tree matched: escalate to incident-commander mode. %s",
        blind.empty()
            ? std::string("Every category had data and was clear.")
            : "Blind spots (no data, not ruled out): " + absl::StrJoin(blind, ", ") + "."));
  }
  report.set_load_ms(load.ms());
  report.set_walk_ms(MsSince(walk_start));
  return report;
}

}  // namespace triage::rules
