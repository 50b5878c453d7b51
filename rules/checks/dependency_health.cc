// dependency_health: the latest probe of each check of deps(S) outside its
// healthy band, and managed-service changes in the candidate window
// (triage-tree.md).
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks/kind.h"
#include "rules/tree.h"

namespace triage::rules {
namespace {

void Run(const v1::DependencyHealthCheck& p, const Context& ctx, Reads& load,
         v1::CategoryVerdict* v) {
  std::vector<std::string> evidence;
  bool hit = AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence);
  int probes = 0;
  const int64_t recent_from =
      p.report_window().empty() ? 0 : ctx.now - DurationMs(p.report_window());
  bool any_recent = false;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<v1::DependencyHealth>> list = load([&] {
      return load.records().Probes(service, std::numeric_limits<int64_t>::min() / 2, ctx.now);
    });
    if (!list.ok()) continue;
    std::map<std::string, const v1::DependencyHealth*> latest;
    for (const v1::DependencyHealth& d : *list) latest[d.check()] = &d;  // Sorted by time.
    for (const auto& [check, d] : latest) {
      ++probes;
      if (ToMs(d->time()) >= recent_from) any_recent = true;
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
  if (!hit && !p.report_window().empty() && !any_recent) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat("no dependency_health probe of %s in [now-%s, now]",
                                       Join(ctx.deps), p.report_window()));
    v->set_evidence(absl::StrJoin(evidence, "; "));
    return;
  }
  v->set_verdict(hit ? v1::HIT : v1::CLEAR);
  if (!hit) {
    std::string changes =
        p.change_kinds().empty()
            ? ""
            : absl::StrFormat("no %s change in the candidate window; ",
                              absl::StrJoin(p.change_kinds(), "/"));
    evidence.push_back(
        absl::StrFormat("%s%d probes of %s in band", changes, probes, Join(ctx.deps)));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

}  // namespace

const CheckKindDef kDependencyHealthKind = {
    .check = v1::Category::kDependencyHealth,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.dependency_health(), ctx, reads, v); },
    .add_spans = nullptr,
};

}  // namespace triage::rules
