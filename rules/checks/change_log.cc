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
#include "rules/tree.h"

namespace triage::rules {
namespace {

// The check's scope: deps(S), plus consumers(S) when asked, less the
// alerted services when asked.
std::set<std::string> Scope(const v1::ChangeLogCheck& p, const Context& ctx) {
  std::set<std::string> scope = ctx.deps;
  if (p.include_consumers()) scope.insert(ctx.consumers.begin(), ctx.consumers.end());
  if (p.exclude_alerted()) {
    for (const std::string& s : ctx.services) scope.erase(s);
  }
  return scope;
}

bool OfKinds(const v1::ChangeLogCheck& p, const v1::Change& c) {
  return std::find(p.kinds().begin(), p.kinds().end(), c.kind()) != p.kinds().end();
}

// Change-feed coverage: true when some change of the kinds on the scope (or
// "*") arrived in [feed_from, now].
bool FeedSeen(const v1::ChangeLogCheck& p, const Context& ctx, const std::set<std::string>& scope) {
  return std::any_of(ctx.changes.begin(), ctx.changes.end(), [&](const v1::Change& c) {
    const int64_t t = ToMs(c.time());
    return t >= ctx.feed_from && t <= ctx.now && OfKinds(p, c) && AppliesTo(c, scope);
  });
}

void Run(const v1::ChangeLogCheck& p, const Context& ctx, v1::CategoryVerdict* v) {
  const std::set<std::string> scope = Scope(p, ctx);
  const int64_t from =
      p.window_before().empty() ? ctx.candidate_from : ctx.onset - DurationMs(p.window_before());
  std::vector<std::string> evidence;
  if (AddCandidates(Candidates(ctx, p.kinds(), scope, from, ctx.candidate_to), ctx, v,
                    &evidence)) {
    v->set_verdict(v1::HIT);
  } else if (ctx.feed_from != 0 && !FeedSeen(p, ctx, scope)) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat(
        "no %s change recorded for %s in %s: is a change feed connected?",
        absl::StrJoin(p.kinds(), "/"), Join(scope), FormatDuration(ctx.now - ctx.feed_from)));
  } else {
    v->set_verdict(v1::CLEAR);
    evidence.push_back(absl::StrFormat(
        "no %s change on %s in %s", absl::StrJoin(p.kinds(), "/"), Join(scope),
        from == ctx.candidate_from
            ? "the candidate window " + WindowText(ctx)
            : absl::StrFormat("[%s, %s]", FormatRfc3339(from), FormatRfc3339(ctx.candidate_to))));
    int after = 0;
    for (const v1::Change& c : ctx.changes) {
      if (ToMs(c.time()) > ctx.candidate_to && AppliesTo(c, scope) && OfKinds(p, c)) ++after;
    }
    if (after > 0)
      evidence.push_back(absl::StrFormat("%d after onset (cannot have caused it)", after));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void AddSpans(const v1::Category& c, int64_t, int64_t onset, ReadSpans* s) {
  if (!c.change_log().window_before().empty()) {
    s->changes_from = std::min(s->changes_from, onset - DurationMs(c.change_log().window_before()));
  }
}

}  // namespace

const CheckKindDef kChangeLogKind = {
    .check = v1::Category::kChangeLog,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads&,
              v1::CategoryVerdict* v) { Run(c.change_log(), ctx, v); },
    .add_spans = AddSpans,
};

}  // namespace triage::rules
