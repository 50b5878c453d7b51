// change_log: a change of the category's kinds on deps(S) (and consumers(S)
// when asked) in the candidate window (triage-tree.md).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks/kind.h"

namespace triage::rules {
namespace {

void Run(const v1::ChangeLogCheck& p, const Context& ctx, v1::CategoryVerdict* v) {
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

}  // namespace

const CheckKindDef kChangeLogKind = {
    .check = v1::Category::kChangeLog,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads&,
              v1::CategoryVerdict* v) { Run(c.change_log(), ctx, v); },
    .add_spans = nullptr,
};

}  // namespace triage::rules
