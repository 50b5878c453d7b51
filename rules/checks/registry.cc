// The registry of check kinds, and the walk's entry points over it.
#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "proto/model/time.h"
#include "rules/checks.h"
#include "rules/checks/kind.h"
#include "rules/tree.h"

namespace triage::rules {
namespace {

// Every kind, one entry each (kind.h).
constexpr const CheckKindDef* kKinds[] = {
    &kChangeLogKind,     &kUpstreamHealthKind, &kFeatureDriftKind,
    &kEvalStalenessKind, &kTrafficMixKind,     &kDependencyHealthKind,
};

const CheckKindDef* KindOf(const v1::Category& c) {
  for (const CheckKindDef* k : kKinds) {
    if (k->check == c.check_case()) return k;
  }
  return nullptr;
}

}  // namespace

void RunCheck(const v1::Category& c, const Context& ctx, Reads& reads, v1::CategoryVerdict* v) {
  const CheckKindDef* kind = KindOf(c);
  if (kind == nullptr) {
    v->set_verdict(v1::NO_DATA);
    v->set_evidence("the category has no check");
    return;
  }
  if (kind->needs_onset && !ctx.onset_error.empty()) {
    v->set_verdict(v1::NO_DATA);
    v->set_evidence(
        absl::StrCat("onset unknown, so the candidate window is too: ", ctx.onset_error));
    return;
  }
  kind->run(c, ctx, reads, v);
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
  if (const int64_t feed = DurationMs(settings.change_feed_window()); feed > 0) {
    s.changes_from = std::min(s.changes_from, now - feed);  // Change-feed coverage.
  }
  auto add = [&](const v1::Category& c) {
    const CheckKindDef* kind = KindOf(c);
    if (kind != nullptr && kind->add_spans != nullptr) kind->add_spans(c, now, onset, &s);
  };
  for (const v1::Category& c : tree.category()) {
    add(c);
    for (const v1::Category& h : c.hypothesis()) add(h);
  }
  return s;
}

}  // namespace triage::rules
