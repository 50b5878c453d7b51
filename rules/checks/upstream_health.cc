// upstream_health: row counts against the baseline median, schema switches,
// freshness breaches of the sources deps(S) consume, and candidate changes
// of the category's change kinds (triage-tree.md).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/checks/kind.h"
#include "rules/stats.h"
#include "rules/tree.h"

namespace triage::rules {
namespace {

// Upstream reports are read from here on: the row baseline, the schema
// switch window and the report window, and a day before the earliest (the
// report before a switch).
int64_t UpstreamFetchFrom(const v1::UpstreamHealthCheck& p, int64_t now, int64_t onset) {
  return std::min({now - DurationMs(p.row_baseline_start()),
                   onset - DurationMs(p.schema_switch_before_onset()),
                   now - DurationMs(p.report_window())}) -
         kDayMs;
}

// What is wrong with one source's reports (oldest first) to a consumer:
// rows under the baseline median's ratio, a schema switch in the window, a
// freshness breach. Empty when nothing is.
std::vector<std::string> Problems(const v1::UpstreamHealthCheck& p, const Context& ctx,
                                  const std::vector<const v1::Upstream*>& list) {
  const int64_t base_from = ctx.now - DurationMs(p.row_baseline_start());
  const int64_t base_to = ctx.now - DurationMs(p.row_baseline_end());
  const int64_t switch_from = ctx.onset - DurationMs(p.schema_switch_before_onset());
  const v1::Upstream& latest = *list.back();
  const int64_t latest_t = ToMs(latest.time());
  std::vector<std::string> found;
  std::vector<double> baseline;
  for (const v1::Upstream* u : list) {
    int64_t t = ToMs(u->time());
    if (t >= base_from && t < base_to && u->has_row_count()) {
      baseline.push_back(static_cast<double>(u->row_count()));
    }
  }
  if (!p.ignore_row_count() && latest.has_row_count() && !baseline.empty()) {
    double median = Median(baseline);
    double ratio = median > 0 ? latest.row_count() / median : 1.0;
    if (ratio < p.min_row_ratio()) {
      found.push_back(
          absl::StrFormat("rows %d at %s are %.0f%% of the baseline median %.0f "
                          "(threshold %.0f%%)",
                          latest.row_count(), FormatRfc3339(latest_t), 100 * ratio, median,
                          100 * p.min_row_ratio()));
    }
  }
  for (size_t i = 1; i < list.size(); ++i) {
    const v1::Upstream& prev = *list[i - 1];
    const v1::Upstream& cur = *list[i];
    int64_t t = ToMs(cur.time());
    if (prev.has_schema_fingerprint() && cur.has_schema_fingerprint() &&
        prev.schema_fingerprint() != cur.schema_fingerprint() && t >= switch_from && t <= ctx.now) {
      found.push_back(absl::StrFormat("schema switched %s -> %s at %s", prev.schema_fingerprint(),
                                      cur.schema_fingerprint(), FormatRfc3339(t)));
    }
  }
  if (!p.ignore_freshness() && latest.has_last_seen() && latest.has_freshness_sla_seconds()) {
    int64_t lag = ctx.now - ToMs(latest.last_seen());
    if (lag > latest.freshness_sla_seconds() * 1000) {
      found.push_back(absl::StrFormat("newest row %s old, over its freshness SLA of %s",
                                      FormatDuration(lag / 1000 * 1000),
                                      FormatDuration(latest.freshness_sla_seconds() * 1000)));
    }
  }
  return found;
}

void Run(const v1::UpstreamHealthCheck& p, const Context& ctx, Reads& load,
         v1::CategoryVerdict* v) {
  const int64_t recent_from = ctx.now - DurationMs(p.report_window());
  const int64_t fetch_from = UpstreamFetchFrom(p, ctx.now, ctx.onset);
  std::vector<std::string> evidence;
  bool hit = false;
  bool any_recent = false;
  int sources = 0;
  for (const std::string& consumer : ctx.deps) {
    absl::StatusOr<std::vector<v1::Upstream>> reports =
        load([&] { return load.records().UpstreamReports(consumer, fetch_from, ctx.now); });
    if (!reports.ok() || reports->empty()) continue;
    std::map<std::string, std::vector<const v1::Upstream*>> by_source;
    for (const v1::Upstream& u : *reports) by_source[u.source()].push_back(&u);
    for (const auto& [source, list] : by_source) {
      ++sources;
      const v1::Upstream& latest = *list.back();
      const int64_t latest_t = ToMs(latest.time());
      if (latest_t >= recent_from) any_recent = true;
      std::vector<std::string> found = Problems(p, ctx, list);
      v1::Finding* f = v->add_findings();
      f->set_subject(absl::StrFormat("%s -> %s", source, consumer));
      f->set_implicates(!found.empty());
      if (found.empty()) {
        f->set_detail(absl::StrFormat(
            "latest report %s: rows %s, schema %s", FormatRfc3339(latest_t),
            latest.has_row_count() ? absl::StrFormat("%d", latest.row_count()) : "?",
            latest.has_schema_fingerprint() ? latest.schema_fingerprint() : "?"));
      } else {
        hit = true;
        f->set_detail(absl::StrJoin(found, "; "));
        evidence.push_back(f->subject() + ": " + f->detail());
      }
    }
  }
  const int64_t changes_from = p.change_window_before().empty()
                                   ? ctx.candidate_from
                                   : ctx.onset - DurationMs(p.change_window_before());
  if (AddCandidates(Candidates(ctx, p.change_kinds(), ctx.deps, changes_from, ctx.candidate_to),
                    ctx, v, &evidence)) {
    hit = true;
  }
  if (hit) {
    v->set_verdict(v1::HIT);
  } else if (!any_recent) {
    v->set_verdict(v1::NO_DATA);
    evidence.push_back(absl::StrFormat("no upstream report for any consumer in %s in [now-%s, now]",
                                       Join(ctx.deps), p.report_window()));
  } else {
    v->set_verdict(v1::CLEAR);
    std::vector<std::string> tested;
    if (!p.ignore_row_count()) tested.push_back("rows");
    tested.push_back("schema");
    if (!p.ignore_freshness()) tested.push_back("freshness");
    evidence.push_back(absl::StrFormat(
        "%d sources of %s: %s normal; no %s change in [%s, %s]", sources, Join(ctx.deps),
        absl::StrJoin(tested, ", "), absl::StrJoin(p.change_kinds(), "/"),
        FormatRfc3339(changes_from), FormatRfc3339(ctx.candidate_to)));
  }
  v->set_evidence(absl::StrJoin(evidence, "; "));
}

void AddSpans(const v1::Category& c, int64_t now, int64_t onset, ReadSpans* s) {
  const v1::UpstreamHealthCheck& p = c.upstream_health();
  s->upstream_from = std::min(s->upstream_from, UpstreamFetchFrom(p, now, onset));
  if (!p.change_window_before().empty()) {
    s->changes_from = std::min(s->changes_from, onset - DurationMs(p.change_window_before()));
  }
}

}  // namespace

const CheckKindDef kUpstreamHealthKind = {
    .check = v1::Category::kUpstreamHealth,
    .needs_onset = true,
    .run = [](const v1::Category& c, const Context& ctx, Reads& reads,
              v1::CategoryVerdict* v) { Run(c.upstream_health(), ctx, reads, v); },
    .add_spans = AddSpans,
};

}  // namespace triage::rules
