// eval_staleness: the alerted services' eval sets older than the limit while
// the catalog turned over (triage-tree.md).
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks/kind.h"
#include "rules/tree.h"

namespace triage::rules {
namespace {

void Run(const v1::EvalStalenessCheck& p, const Context& ctx, Reads& load, v1::CategoryVerdict* v) {
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

}  // namespace

const CheckKindDef kEvalStalenessKind = {
    .check = v1::Category::kEvalStaleness,
    .needs_onset = false,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.eval_staleness(), ctx, reads, v); },
    .add_spans = nullptr,
};

}  // namespace triage::rules
