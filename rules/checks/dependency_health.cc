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

namespace triage::rules {
namespace {

void Run(const v1::DependencyHealthCheck& p, const Context& ctx, Reads& load,
         v1::CategoryVerdict* v) {
  std::vector<std::string> evidence;
  bool hit = AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps), ctx, v, &evidence);
  int probes = 0;
  for (const std::string& service : ctx.deps) {
    absl::StatusOr<std::vector<v1::DependencyHealth>> list = load([&] {
      return load.records().Probes(service, std::numeric_limits<int64_t>::min() / 2, ctx.now);
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

}  // namespace

const CheckKindDef kDependencyHealthKind = {
    .check = v1::Category::kDependencyHealth,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.dependency_health(), ctx, reads, v); },
    .add_spans = nullptr,
};

}  // namespace triage::rules
