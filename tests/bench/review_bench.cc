// The quarterly review's arithmetic (triage/core/review.h) on a busy
// team's history: 4 pages a week for the given weeks, each with a
// timeline, a report and an action item, and a drill a week.
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "proto/model/time.h"
#include "triage/core/review.h"

namespace {

const char* const kCategories[] = {"code_deploy", "model_version", "upstream_data", "rare_class"};

triage::v1::Tree Tree() {
  triage::v1::Tree tree;
  for (const char* id : kCategories) {
    triage::v1::Category* c = tree.add_category();
    c->set_id(id);
    c->set_owner(absl::StrCat(id, "-team"));
  }
  return tree;
}

triage::core::ReviewInput History(const triage::v1::Tree& tree, int weeks) {
  const int64_t start = *triage::ParseRfc3339("2024-01-01T00:00:00Z");
  triage::core::ReviewInput in{.tree = &tree, .now_ms = start + weeks * 7 * triage::kDayMs};
  for (int i = 0; i < weeks * 4; ++i) {
    const int64_t opened = start + i * (7 * triage::kDayMs / 4);
    triage::core::ReviewIncident r;
    r.incident.set_id(absl::StrCat("inc-", i));
    triage::v1::IncidentState s;
    s.set_id(r.incident.id());
    *s.mutable_opened_at() = triage::FromMs(opened);
    s.set_status(triage::v1::IncidentState::resolved);
    s.set_minutes_to_resolve(20 + i % 90);
    s.set_root_cause(kCategories[i % 4]);
    for (const char* e : {"alert_received", "walk_finished", "root_cause_recorded", "resolved"}) {
      triage::v1::TimelineEntry* t = s.add_timeline();
      t->set_event(e);
      *t->mutable_time() = triage::FromMs(opened + (i % 60) * triage::kMinuteMs);
    }
    triage::v1::ActionItem* a = s.add_action_items();
    a->set_text("follow up");
    a->set_status(i % 5 ? triage::v1::ActionItem::done : triage::v1::ActionItem::open);
    *a->mutable_due() = triage::FromMs(opened + 7 * triage::kDayMs);
    r.state = s;
    triage::v1::TriageReport report;
    report.set_localized_category(kCategories[(i + i / 7) % 4]);
    r.report = report;
    in.incidents.push_back(std::move(r));
  }
  for (int w = 0; w < weeks; ++w) {
    triage::v1::Drill d;
    d.set_trainee(absl::StrCat("person-", w % 6));
    *d.mutable_started_at() = triage::FromMs(start + w * 7 * triage::kDayMs);
    d.mutable_score()->set_expected(kCategories[w % 4]);
    d.mutable_score()->set_correct(w % 3 != 0);
    in.drills.push_back(d);
  }
  in.roster = {"person-0", "person-1", "person-2", "person-3", "person-4", "person-5", "person-6"};
  return in;
}

void BM_Review(benchmark::State& state) {
  const triage::v1::Tree tree = Tree();
  const triage::core::ReviewInput in = History(tree, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = triage::core::Review(in, {});
    benchmark::DoNotOptimize(r);
  }
  state.counters["incidents"] = static_cast<double>(in.incidents.size());
}
BENCHMARK(BM_Review)->Arg(13)->Arg(156)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
