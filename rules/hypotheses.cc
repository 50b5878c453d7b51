#include "rules/hypotheses.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rules/cohorts.h"
#include "rules/tree.h"

namespace triage::rules {

void WalkHypotheses(const std::vector<const v1::Category*>& order, const Context& ctx,
                    Reads& load, v1::TriageReport* report) {
  for (size_t i = 0; i < order.size(); ++i) {
    v1::CategoryVerdict* v = report->mutable_verdicts(static_cast<int>(i));
    if (v->verdict() != v1::HIT || order[i]->hypothesis_size() == 0) continue;
    std::vector<const v1::Category*> hs;
    for (const v1::Category& h : order[i]->hypothesis()) hs.push_back(&h);
    std::stable_sort(hs.begin(), hs.end(), [](const v1::Category* a, const v1::Category* b) {
      return a->cost_minutes() < b->cost_minutes();
    });
    for (const v1::Category* h : hs) {
      v1::CategoryVerdict checked;
      RunCheck(*h, ctx, load, &checked);
      v1::HypothesisVerdict* hv = v->add_hypotheses();
      hv->set_id(h->id());
      hv->set_name(h->name());
      hv->set_verdict(checked.verdict());
      hv->set_evidence(checked.evidence());
      hv->set_cost_minutes(h->cost_minutes());
      hv->set_owner(h->owner());
      hv->set_mitigation(h->mitigation());
      hv->set_check(CheckKind(*h));
      *hv->mutable_change_ids() = checked.change_ids();
      *hv->mutable_findings() = checked.findings();
    }
  }
}

void SetRootCause(const v1::Category& category, const v1::CategoryVerdict& localized,
                  v1::TriageReport* report) {
  v1::RootCause* rc = report->mutable_root_cause();
  rc->set_category(localized.category());
  rc->set_owner(localized.owner());
  for (const v1::HypothesisVerdict& h : localized.hypotheses()) {
    if (h.verdict() != v1::HIT) continue;
    rc->set_hypothesis(h.id());
    rc->set_evidence(h.evidence());
    rc->set_mitigation(h.mitigation());
    rc->set_owner(h.owner());
    return;
  }
  rc->set_evidence(localized.evidence());
  rc->set_mitigation(localized.mitigation());
  if (category.hypothesis_size() == 0) return;
  rc->set_exhausted(true);
  std::vector<std::string> blind;
  for (const v1::HypothesisVerdict& h : localized.hypotheses()) {
    if (h.verdict() != v1::NO_DATA) continue;
    blind.push_back(h.id());
    v1::BlindSpot* b = report->add_blind_spots();
    b->set_category(localized.category() + "/" + h.id());
    b->set_reason(h.evidence());
  }
  rc->set_evidence(absl::StrFormat(
      "%s: every hypothesis was checked and none is HIT%s; escalate to %s", localized.category(),
      blind.empty() ? "" : " (no data: " + absl::StrJoin(blind, ", ") + ")", localized.owner()));
}

std::string ExpectedMismatch(const v1::Expected& expected, const v1::TriageReport& report) {
  std::vector<std::string> out;
  if (std::string c = CohortMismatch(expected, report); !c.empty()) out.push_back(c);
  if (expected.has_hypothesis()) {
    const v1::RootCause& rc = report.root_cause();
    const std::string want = expected.hypothesis().exhausted() ? "null (exhausted)"
                                                               : expected.hypothesis().id();
    const std::string got = !report.has_root_cause() ? "no root cause"
                            : rc.exhausted()         ? "null (exhausted)"
                            : rc.hypothesis().empty() ? "none (the category has no hypotheses)"
                                                      : rc.hypothesis();
    if (want != got) {
      out.push_back(absl::StrFormat("expected hypothesis %s, got %s", want, got));
    }
  }
  return absl::StrJoin(out, "; ");
}

}  // namespace triage::rules
