#include "rules/drift.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_format.h"
#include "proto/model/time.h"
#include "rules/stats.h"
#include "rules/tree.h"

namespace triage::rules {

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

DriftWindow DriftWindowOf(const v1::FeatureDriftCheck& p, int64_t now) {
  return DriftWindow{.current_from = now - DurationMs(p.current_window()),
                     .now = now,
                     .baseline_from = now - DurationMs(p.baseline_start()),
                     .baseline_to = now - DurationMs(p.baseline_end()),
                     .histogram_metric = p.histogram_metric(),
                     .feature_label = p.feature_label()};
}

DriftResult Drift(const v1::FeatureDriftCheck& p, std::vector<FeatureSums> sums, size_t detailed) {
  DriftResult out;
  const int64_t min_baseline = DurationMs(p.min_baseline());
  struct Compared {
    FeatureSums* f;
    std::vector<double> cur, base;  // Aligned bins.
    v1::FeatureDrift d;
  };
  std::vector<Compared> compared;
  for (FeatureSums& f : sums) {
    std::string name = f.service + "/" + f.feature;
    if (f.current_total <= 0) {
      out.no_current.push_back(name);
      continue;
    }
    if (f.baseline_covered_ms < min_baseline || f.baseline_total <= 0) {
      out.short_baseline.push_back(
          absl::StrFormat("%s (%s)", name, FormatDuration(f.baseline_covered_ms)));
      continue;
    }
    Compared c{.f = &f, .cur = f.current, .base = f.baseline, .d = {}};
    if (f.categorical) UnionCategories(f.current_cat, f.baseline_cat, &c.cur, &c.base);
    size_t n = std::max(c.cur.size(), c.base.size());
    c.cur.resize(n);
    c.base.resize(n);
    v1::FeatureDrift& d = c.d;
    d.set_service(f.service);
    d.set_feature(f.feature);
    d.set_kl(SmoothedKl(c.cur, c.base, p.smoothing()));
    d.set_psi(SmoothedPsi(c.cur, c.base, p.smoothing()));
    double threshold = p.threshold();
    if (auto it = p.feature_thresholds().find(f.feature); it != p.feature_thresholds().end()) {
      threshold = it->second;
    }
    if (auto it = p.feature_thresholds().find(name); it != p.feature_thresholds().end()) {
      threshold = it->second;
    }
    d.set_threshold(threshold);
    d.set_current_total(f.current_total);
    d.set_baseline_total(f.baseline_total);
    d.set_baseline_hours(static_cast<double>(f.baseline_covered_ms) / kHourMs);
    compared.push_back(std::move(c));
  }
  std::stable_sort(compared.begin(), compared.end(),
                   [](const Compared& a, const Compared& b) { return a.d.kl() > b.d.kl(); });
  // Bin names and shares (thousands of strings) only for those shown.
  for (size_t i = 0; i < compared.size() && i < detailed; ++i) {
    Compared& c = compared[i];
    SetShares(c.cur, c.base, &c.d);
    if (c.f->categorical) {
      std::set<std::string> names;
      for (const auto& [k, _] : c.f->current_cat) names.insert(k);
      for (const auto& [k, _] : c.f->baseline_cat) names.insert(k);
      for (const std::string& k : names) c.d.add_bins(k);
    } else {
      for (size_t e = 0; e + 1 < c.f->edges.size(); ++e) {
        c.d.add_bins(absl::StrFormat("[%g, %g)", c.f->edges[e], c.f->edges[e + 1]));
      }
    }
  }
  out.drifts.reserve(compared.size());
  for (Compared& c : compared) out.drifts.push_back(std::move(c.d));
  return out;
}

absl::StatusOr<std::vector<v1::FeatureDrift>> ServiceDrift(const v1::Tree& tree,
                                                           const FeatureSource& source,
                                                           const std::string& service,
                                                           int64_t now) {
  for (const v1::Category& c : tree.category()) {
    if (!c.has_feature_drift()) continue;
    absl::StatusOr<std::vector<FeatureSums>> sums =
        source.FeatureDistributions(service, DriftWindowOf(c.feature_drift(), now));
    if (!sums.ok()) return sums.status();
    return Drift(c.feature_drift(), std::move(*sums), /*detailed=*/0).drifts;
  }
  return std::vector<v1::FeatureDrift>();
}

}  // namespace triage::rules
