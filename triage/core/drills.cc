#include "triage/core/drills.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/bundle_reader.h"
#include "proto/model/time.h"
#include "rules/engine.h"
#include "triage/replay/replay.h"
#include "triage/store/events.h"

namespace triage::core {

namespace {

constexpr double kDefaultTargetMinutes = 15;

// Hides the answer of a running drill.
v1::Drill Visible(v1::Drill d) {
  if (d.status() == v1::Drill::running) d.clear_score();
  return d;
}

}  // namespace

absl::StatusOr<v1::Drill> Drills::Start(const v1::StartDrillRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMs();
  // Unique among replicas too: the store's log identity is random.
  return Begin(absl::StrFormat("drill-%d-%s%d", now, store_.LogId().substr(0, 6), ++counter_),
               request, now);
}

absl::Status Drills::ApplyEvent(const v1::Event& event) {
  const v1::DrillEvent& d = event.drill();
  switch (d.action_case()) {
    case v1::DrillEvent::kStart: {
      std::lock_guard<std::mutex> lock(mu_);
      if (store_.GetDrill(d.drill_id()).ok()) {
        return absl::AlreadyExistsError("drill " + d.drill_id() + " exists");
      }
      return Begin(d.drill_id(), d.start(), event.time_ms()).status();
    }
    case v1::DrillEvent::kOpen:
      return Open(d.open()).status();
    case v1::DrillEvent::kAnswer:
      return Answer(d.answer()).status();
    default:
      return absl::InvalidArgumentError("a drill event without an action");
  }
}

absl::StatusOr<v1::Drill> Drills::Begin(const std::string& id, const v1::StartDrillRequest& request,
                                        int64_t now) {
  v1::Drill drill;
  drill.set_id(id);
  // The drill's own store: its data never meets the live store.
  const std::string path = absl::StrFormat("%s/%s", options_.dir, drill.id());
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  bool keep = false;
  absl::Cleanup remove = [&] {
    if (keep) return;
    std::filesystem::remove_all(path, ec);
    std::filesystem::remove_all(path + ".spool", ec);
  };
  absl::StatusOr<replay::Replayed> replayed;
  {
    absl::StatusOr<std::unique_ptr<store::Store>> s = store::Store::Open({.path = path});
    if (!s.ok()) return s.status();
    replayed = replay::Ingest(**s, request.name().empty() ? "drill" : request.name(),
                              replay::PullBytes(request.ndjson()), *core_.tree());
  }
  if (!replayed.ok()) return replayed.status();
  const v1::Incident& incident = replayed->incident;
  if (incident.expected().category().empty()) {
    return absl::InvalidArgumentError(
        "expected.category: a drill needs the incident's recorded root cause");
  }
  drill.set_trainee(request.trainee().empty() ? "anonymous" : request.trainee());
  drill.set_status(v1::Drill::running);
  *drill.mutable_page() = incident;
  drill.mutable_page()->clear_expected();
  int64_t page_time = 0;
  for (const v1::Alert& a : incident.alerts()) page_time = std::max(page_time, ToMs(a.fired_at()));
  *drill.mutable_page_time() = FromMs(page_time);
  *drill.mutable_started_at() = FromMs(now);
  v1::DrillScore* score = drill.mutable_score();
  score->set_expected(incident.expected().category());
  score->set_target_minutes(incident.expected().mttr_target_minutes() > 0
                                ? incident.expected().mttr_target_minutes()
                                : kDefaultTargetMinutes);
  for (const v1::CategoryVerdict& v : replayed->report.verdicts()) {
    drill.add_walk_order(v.category());
  }
  const v1::Event started = store::DrillStartEvent(drill.id(), request, now);
  if (absl::Status st = store_.PutDrill(drill, {&started, 1}); !st.ok()) return st;
  keep = true;
  if (absl::Status st = PruneLocked(drill.id()); !st.ok()) return st;
  return Visible(drill);
}

absl::Status Drills::Prune() {
  std::lock_guard<std::mutex> lock(mu_);
  return PruneLocked("");
}

absl::Status Drills::PruneLocked(const std::string& keep) {
  absl::StatusOr<std::vector<v1::Drill>> drills = store_.ListDrills();
  if (!drills.ok()) return drills.status();
  std::sort(drills->begin(), drills->end(), [](const v1::Drill& a, const v1::Drill& b) {
    return ToMs(a.started_at()) > ToMs(b.started_at());  // Newest first.
  });
  const int64_t oldest = clock_.NowMs() - options_.retention_ms;
  size_t kept = 0;
  for (const v1::Drill& d : *drills) {
    bool over = kept >= options_.max_drills || ToMs(d.started_at()) < oldest;
    if (!over || d.id() == keep) {
      ++kept;
      continue;
    }
    std::error_code ec;
    std::filesystem::remove_all(absl::StrFormat("%s/%s", options_.dir, d.id()), ec);
    if (absl::Status s = store_.DeleteDrill(d.id()); !s.ok()) return s;
  }
  metrics_.drills_stored.Set(static_cast<double>(kept));
  return absl::OkStatus();
}

absl::StatusOr<v1::Drill> Drills::Running(const std::string& id) {
  absl::StatusOr<v1::Drill> drill = store_.GetDrill(id);
  if (!drill.ok()) return drill.status();
  if (drill->status() != v1::Drill::running) {
    return absl::FailedPreconditionError(absl::StrFormat("drill %s is finished", id));
  }
  return drill;
}

absl::StatusOr<v1::TriageReport> Drills::WalkOf(const v1::Drill& drill) {
  absl::StatusOr<std::unique_ptr<store::Store>> s =
      store::Store::Open({.path = absl::StrFormat("%s/%s", options_.dir, drill.id())});
  if (!s.ok()) return s.status();
  return (*s)->GetReport(drill.page().id());
}

std::vector<v1::Event> Drills::StepEvent(const v1::Drill& drill, v1::DrillActionRequest request,
                                         double minute, bool answer) {
  request.set_minute(minute);  // A peer applies the same minute.
  const int64_t at = ToMs(drill.started_at()) + static_cast<int64_t>(minute * kMinuteMs);
  return {store::DrillStepEvent(request, answer, at)};
}

double Drills::Minute(const v1::Drill& drill, const v1::DrillActionRequest& request) const {
  if (request.has_minute() && request.minute() >= 0) return request.minute();
  return static_cast<double>(clock_.NowMs() - ToMs(drill.started_at())) / kMinuteMs;
}

absl::StatusOr<v1::DrillStepResponse> Drills::Open(const v1::DrillActionRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<v1::Drill> drill = Running(request.drill_id());
  if (!drill.ok()) return drill.status();
  absl::StatusOr<v1::TriageReport> report = WalkOf(*drill);
  if (!report.ok()) return report.status();
  auto v = std::find_if(
      report->verdicts().begin(), report->verdicts().end(),
      [&](const v1::CategoryVerdict& x) { return x.category() == request.category(); });
  if (v == report->verdicts().end()) {
    return absl::InvalidArgumentError(absl::StrFormat("category: \"%s\" is not in the tree (%s)",
                                                      request.category(),
                                                      absl::StrJoin(drill->walk_order(), ", ")));
  }
  double minute = Minute(*drill, request);
  v1::DrillStep* step = drill->add_steps();
  step->set_minute(minute);
  *step->mutable_time() =
      FromMs(ToMs(drill->page_time()) + static_cast<int64_t>(minute * kMinuteMs));
  step->set_action(v1::DrillStep::open);
  step->set_category(v->category());
  step->set_verdict(v->verdict());
  step->set_evidence(v->evidence());
  if (absl::Status s = store_.PutDrill(*drill, StepEvent(*drill, request, minute, false));
      !s.ok()) {
    return s;
  }
  v1::DrillStepResponse response;
  *response.mutable_step() = *step;
  *response.mutable_verdict() = *v;
  return response;
}

absl::StatusOr<v1::Drill> Drills::Answer(const v1::DrillActionRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<v1::Drill> drill = Running(request.drill_id());
  if (!drill.ok()) return drill.status();
  const auto& order = drill->walk_order();
  if (request.category() != rules::kRareClass &&
      std::find(order.begin(), order.end(), request.category()) == order.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("category: \"%s\" is not in the tree (%s, or rare_class)",
                        request.category(), absl::StrJoin(order, ", ")));
  }
  absl::StatusOr<v1::TriageReport> report = WalkOf(*drill);
  if (!report.ok()) return report.status();
  std::map<std::string, double> cost;
  for (const v1::CategoryVerdict& v : report->verdicts()) cost[v.category()] = v.cost_minutes();

  double minute = Minute(*drill, request);
  v1::DrillStep* step = drill->add_steps();
  step->set_minute(minute);
  *step->mutable_time() =
      FromMs(ToMs(drill->page_time()) + static_cast<int64_t>(minute * kMinuteMs));
  step->set_action(v1::DrillStep::answer);
  step->set_category(request.category());

  v1::DrillScore* score = drill->mutable_score();
  score->set_answered(request.category());
  score->set_correct(request.category() == score->expected());
  score->set_minutes_to_answer(minute);
  score->set_within_target(score->correct() && minute <= score->target_minutes());
  std::set<std::string> opened;
  int out_of_order = 0;
  double spent = 0;
  for (const v1::DrillStep& s : drill->steps()) {
    if (s.action() != v1::DrillStep::open || !opened.insert(s.category()).second) continue;
    spent += cost[s.category()];
    for (const std::string& c : order) {
      if (c == s.category()) break;
      if (!opened.contains(c)) {  // A cheaper category was still unchecked.
        ++out_of_order;
        break;
      }
    }
  }
  score->set_categories_opened(static_cast<int32_t>(opened.size()));
  score->set_out_of_order(out_of_order);
  score->set_check_minutes(spent);
  drill->set_status(v1::Drill::finished);
  if (absl::Status s = store_.PutDrill(*drill, StepEvent(*drill, request, minute, true));
      !s.ok()) {
    return s;
  }
  return *drill;
}

absl::StatusOr<v1::Drill> Drills::Get(const std::string& id) {
  absl::StatusOr<v1::Drill> drill = store_.GetDrill(id);
  if (!drill.ok()) return drill.status();
  return Visible(*drill);
}

absl::StatusOr<v1::DrillReportResponse> Drills::Report(const std::string& trainee) {
  absl::StatusOr<std::vector<v1::Drill>> drills = store_.ListDrills();
  if (!drills.ok()) return drills.status();
  std::map<std::string, v1::TraineeSummary> trainees;
  std::map<std::string, std::vector<double>> minutes;
  std::map<std::string, v1::CategorySummary> categories;
  v1::DrillReportResponse response;
  for (const v1::Drill& d : *drills) {
    if (!trainee.empty() && d.trainee() != trainee) continue;
    *response.add_drills() = Visible(d);
    if (d.status() != v1::Drill::finished) continue;
    v1::TraineeSummary& t = trainees[d.trainee()];
    t.set_trainee(d.trainee());
    t.set_drills(t.drills() + 1);
    t.set_correct(t.correct() + (d.score().correct() ? 1 : 0));
    t.set_within_target(t.within_target() + (d.score().within_target() ? 1 : 0));
    t.set_out_of_order(t.out_of_order() + d.score().out_of_order());
    minutes[d.trainee()].push_back(d.score().minutes_to_answer());
    v1::CategorySummary& c = categories[d.score().expected()];
    c.set_category(d.score().expected());
    c.set_drills(c.drills() + 1);
    if (!d.score().correct()) {
      c.set_missed(c.missed() + 1);
      c.add_answered_instead(d.score().answered());
    }
  }
  for (auto& [name, t] : trainees) {
    std::vector<double>& m = minutes[name];
    std::sort(m.begin(), m.end());
    t.set_median_minutes(m.empty() ? 0 : m[m.size() / 2]);
    *response.add_trainees() = t;
  }
  std::vector<v1::CategorySummary> cats;
  for (auto& [_, c] : categories) cats.push_back(c);
  std::stable_sort(cats.begin(), cats.end(), [](const auto& a, const auto& b) {
    return a.missed() * b.drills() > b.missed() * a.drills();  // Most missed share first.
  });
  for (auto& c : cats) *response.add_categories() = std::move(c);
  return response;
}

}  // namespace triage::core
