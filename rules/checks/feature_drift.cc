// feature_drift: KL divergence of each feature of deps(S), current window
// against the baseline (triage-tree.md; the arithmetic is rules/drift.h).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rules/checks/kind.h"
#include "rules/drift.h"

namespace triage::rules {
namespace {

void Run(const v1::FeatureDriftCheck& p, const Context& ctx, Reads& load, v1::CategoryVerdict* v) {
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

void AddSpans(const v1::Category& c, int64_t now, int64_t, ReadSpans* s) {
  const DriftWindow w = DriftWindowOf(c.feature_drift(), now);
  s->histograms_from = std::min({s->histograms_from, w.current_from, w.baseline_from});
}

}  // namespace

const CheckKindDef kFeatureDriftKind = {
    .check = v1::Category::kFeatureDrift,
    .needs_onset = false,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.feature_drift(), ctx, reads, v); },
    .add_spans = AddSpans,
};

}  // namespace triage::rules
