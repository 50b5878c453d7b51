// traffic_mix: the mix of requests by a label, current window against the
// baseline (smoothed KL), and campaigns in the candidate window (triage-tree.md).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks/kind.h"
#include "rules/drift.h"
#include "rules/promql.h"
#include "rules/stats.h"
#include "rules/tree.h"

namespace triage::rules {
namespace {

// Requests by the label's value in the current window and the baseline.
struct Mix {
  std::map<std::string, double> current, baseline;
  double cur_total = 0, base_total = 0;
};

Mix MixOf(const std::vector<v1::Series>& series, const std::string& label_name, int64_t cur_from,
          int64_t now, int64_t base_from, int64_t base_to) {
  Mix m;
  for (const v1::Series& s : series) {
    // Series without the label take no part in the mix (triage-tree.md).
    auto label = s.labels().find(label_name);
    if (label == s.labels().end()) continue;
    const std::string& key = label->second;
    for (const v1::Point& pt : s.points()) {
      if (std::isnan(pt.value())) continue;
      if (pt.t_ms() >= cur_from && pt.t_ms() <= now) {
        m.current[key] += pt.value();
        m.cur_total += pt.value();
      }
      if (pt.t_ms() >= base_from && pt.t_ms() < base_to) {
        m.baseline[key] += pt.value();
        m.base_total += pt.value();
      }
    }
  }
  return m;
}

void Run(const v1::TrafficMixCheck& p, const Context& ctx, Reads& load, v1::CategoryVerdict* v) {
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
    const Mix mix =
        series.ok() ? MixOf(*series, p.label(), cur_from, ctx.now, base_from, base_to) : Mix{};
    const std::map<std::string, double>& current = mix.current;
    std::map<std::string, double> baseline = mix.baseline;
    const double cur_total = mix.cur_total, base_total = mix.base_total;
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

void AddSpans(const v1::Category& c, int64_t now, int64_t, ReadSpans* s) {
  const v1::TrafficMixCheck& t = c.traffic_mix();
  s->traffic_metrics.push_back(t.metric());
  s->series_from = std::min(
      {s->series_from, now - DurationMs(t.baseline_start()), now - DurationMs(t.current_window())});
}

}  // namespace

const CheckKindDef kTrafficMixKind = {
    .check = v1::Category::kTrafficMix,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.traffic_mix(), ctx, reads, v); },
    .add_spans = AddSpans,
};

}  // namespace triage::rules
