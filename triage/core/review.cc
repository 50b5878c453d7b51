#include "triage/core/review.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "proto/model/time.h"

namespace triage::core {

namespace {

constexpr char kAll[] = "all";
constexpr char kNoOwner[] = "incident-commander";
constexpr char kRareClass[] = "rare_class";

absl::CivilDay DayOf(int64_t ms) {
  return absl::ToCivilDay(absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

int64_t MsOf(absl::CivilDay d) {
  return absl::ToUnixMillis(absl::FromCivil(d, absl::UTCTimeZone()));
}

struct Quarter {
  int year = 0;
  int q = 0;  // 1..4
  int64_t start_ms() const { return MsOf(absl::CivilDay(year, 3 * (q - 1) + 1, 1)); }
  int64_t end_ms() const { return Next().start_ms(); }
  Quarter Next() const { return q == 4 ? Quarter{year + 1, 1} : Quarter{year, q + 1}; }
  Quarter Previous() const { return q == 1 ? Quarter{year - 1, 4} : Quarter{year, q - 1}; }
  std::string Name() const { return absl::StrFormat("%dQ%d", year, q); }
  bool operator<(const Quarter& o) const { return year != o.year ? year < o.year : q < o.q; }
  bool operator==(const Quarter& o) const { return year == o.year && q == o.q; }
};

Quarter QuarterAt(int64_t ms) {
  absl::CivilDay d = DayOf(ms);
  return Quarter{static_cast<int>(d.year()), (d.month() - 1) / 3 + 1};
}

std::optional<Quarter> ParseQuarter(const std::string& s) {
  int year = 0, q = 0;
  if (s.size() != 6 || s[4] != 'Q' || !absl::SimpleAtoi(s.substr(0, 4), &year) ||
      !absl::SimpleAtoi(s.substr(5), &q) || q < 1 || q > 4) {
    return std::nullopt;
  }
  return Quarter{year, q};
}

// "2026-W14": the ISO week of the Monday `monday`.
std::string IsoWeek(absl::CivilDay monday) {
  absl::CivilDay thursday = monday + 3;
  int64_t week = (thursday - absl::CivilDay(thursday.year(), 1, 1)) / 7 + 1;
  return absl::StrFormat("%04d-W%02d", thursday.year(), week);
}

absl::CivilDay MondayOf(absl::CivilDay d) {
  int back =
      (static_cast<int>(absl::GetWeekday(d)) + 7 - static_cast<int>(absl::Weekday::monday)) % 7;
  return d - back;
}

// One incident, reduced to what the review counts.
struct Facts {
  std::string id;
  std::string title;
  std::string team;
  int64_t opened_ms = 0;
  std::optional<double> mttr, to_localize, to_cause;
  std::string cause;      // Recorded root cause ("" none).
  std::string localized;  // "" without a report.
  std::string new_category;
  std::vector<v1::OverdueActionItem> overdue;
};

std::string OwnerOf(const v1::Tree* tree, const std::string& category) {
  if (tree == nullptr) return "";
  for (const v1::Category& c : tree->category()) {
    if (c.id() == category) return c.owner();
  }
  return "";
}

std::optional<double> MinutesTo(const v1::IncidentState& s, std::string_view event,
                                int64_t opened_ms) {
  for (const v1::TimelineEntry& e : s.timeline()) {
    if (e.event() == event) return (ToMs(e.time()) - opened_ms) / 60'000.0;
  }
  return std::nullopt;
}

Facts Reduce(const ReviewIncident& r, const ReviewInput& in) {
  Facts f;
  f.id = r.incident.id();
  f.title = r.incident.title();
  for (const v1::Alert& a : r.incident.alerts()) {
    int64_t t = ToMs(a.fired_at());
    if (f.opened_ms == 0 || t < f.opened_ms) f.opened_ms = t;
  }
  if (r.report) f.localized = r.report->localized_category();
  f.cause = r.incident.expected().category();
  if (r.state) {
    const v1::IncidentState& s = *r.state;
    if (s.has_opened_at()) f.opened_ms = ToMs(s.opened_at());
    if (!s.root_cause().empty()) f.cause = s.root_cause();
    f.new_category = s.new_category();
    // Resolved by its alerts: first startsAt to last endsAt; by hand: opened to resolved.
    if (s.status() == v1::IncidentState::resolved) {
      if (s.minutes_to_resolve() > 0) {
        f.mttr = s.minutes_to_resolve();
      } else if (s.has_resolved_at()) {
        f.mttr = (ToMs(s.resolved_at()) - f.opened_ms) / 60'000.0;
      }
    }
    f.to_localize = MinutesTo(s, "walk_finished", f.opened_ms);
    f.to_cause = MinutesTo(s, "root_cause_recorded", f.opened_ms);
    for (const v1::ActionItem& a : s.action_items()) {
      if (a.status() != v1::ActionItem::open || !a.has_due() || ToMs(a.due()) >= in.now_ms)
        continue;
      v1::OverdueActionItem o;
      o.set_incident_id(f.id);
      o.set_text(a.text());
      o.set_owner(a.owner());
      *o.mutable_due() = a.due();
      o.set_days_overdue((in.now_ms - ToMs(a.due())) / static_cast<double>(kDayMs));
      f.overdue.push_back(std::move(o));
    }
  }
  std::string owner = f.cause != "unknown" ? OwnerOf(in.tree, f.cause) : "";
  if (owner.empty()) owner = OwnerOf(in.tree, f.localized);
  f.team = owner.empty() ? kNoOwner : owner;
  return f;
}

void SetMinutes(const std::vector<double>& values, v1::Minutes* m) {
  m->set_count(static_cast<int32_t>(values.size()));
  if (values.empty()) return;
  m->set_median(Quantile(values, 0.5));
  m->set_p90(Quantile(values, 0.9));
}

void SetChange(const v1::Minutes& before, v1::Minutes* now) {
  if (before.count() == 0 || now->count() == 0) return;
  now->set_median_change(now->median() - before.median());
  now->set_p90_change(now->p90() - before.p90());
}

std::string NewCategoryAnswer(const Facts& f) {
  if (!f.new_category.empty()) return "yes: " + f.new_category;
  if (!f.cause.empty() && f.cause != "unknown" && f.cause != kRareClass) {
    return "no: recorded as " + f.cause;
  }
  return "not answered";
}

// Drills in the quarter against the roster: who walked, who did not, and
// the categories missed most.
void SetDrills(const std::vector<const v1::Drill*>& drills, const std::vector<std::string>& roster,
               v1::DrillCoverage* d) {
  std::set<std::string> walked;
  std::map<std::string, v1::CategorySummary> categories;
  for (const v1::Drill* drill : drills) {
    walked.insert(drill->trainee());
    d->set_drills(d->drills() + 1);
    const v1::DrillScore& s = drill->score();
    if (s.correct()) d->set_correct(d->correct() + 1);
    v1::CategorySummary& c = categories[s.expected()];
    c.set_category(s.expected());
    c.set_drills(c.drills() + 1);
    if (!s.correct()) {
      c.set_missed(c.missed() + 1);
      if (!s.answered().empty()) c.add_answered_instead(s.answered());
    }
  }
  for (const std::string& r : roster) d->add_roster(r);
  for (const std::string& w : walked) d->add_walked(w);
  for (const std::string& r : roster) {
    if (!walked.contains(r)) d->add_missing(r);
  }
  std::vector<const v1::CategorySummary*> missed;
  for (auto& [id, c] : categories) {
    *d->add_categories() = c;
    if (c.missed() > 0) missed.push_back(&c);
  }
  std::stable_sort(missed.begin(), missed.end(),
                   [](auto* a, auto* b) { return a->missed() > b->missed(); });
  for (const v1::CategorySummary* c : missed) d->add_missed_most(c->category());
}

v1::QuarterReview Build(const Quarter& q, const std::string& team, const std::vector<Facts>& facts,
                        const std::vector<const v1::Drill*>& drills,
                        const std::vector<std::string>& roster, int64_t now_ms) {
  v1::QuarterReview out;
  out.set_quarter(q.Name());
  out.set_team(team);
  out.set_incidents(static_cast<int32_t>(facts.size()));
  // Pages per ISO week, over the weeks of the quarter so far.
  const int64_t end = std::min(q.end_ms(), std::max(now_ms, q.start_ms() + 1));
  std::vector<std::pair<int64_t, v1::WeekPages>> weeks;
  for (absl::CivilDay monday = MondayOf(DayOf(q.start_ms())); MsOf(monday) < end; monday += 7) {
    v1::WeekPages w;
    w.set_week(IsoWeek(monday));
    weeks.emplace_back(MsOf(monday), std::move(w));
  }
  std::vector<double> mttr, to_localize, to_cause;
  std::map<std::pair<std::string, std::string>, int32_t> confusion;
  int32_t recorded = 0, correct = 0, unknown = 0;
  for (const Facts& f : facts) {
    for (auto& [start, w] : weeks) {
      if (f.opened_ms >= start && f.opened_ms < start + 7 * kDayMs) w.set_pages(w.pages() + 1);
    }
    if (f.mttr) mttr.push_back(*f.mttr);
    if (f.to_localize) to_localize.push_back(*f.to_localize);
    if (f.to_cause) to_cause.push_back(*f.to_cause);
    if (f.cause == "unknown") ++unknown;
    if (!f.cause.empty() && f.cause != "unknown" && !f.localized.empty()) {
      ++recorded;
      if (f.cause == f.localized) ++correct;
      ++confusion[{f.cause, f.localized}];
    }
    if (f.localized == kRareClass) {
      v1::RareClassIncident* r = out.add_rare_class();
      r->set_incident_id(f.id);
      r->set_title(f.title);
      r->set_root_cause(f.cause);
      r->set_new_category(NewCategoryAnswer(f));
    }
    for (const v1::OverdueActionItem& o : f.overdue) *out.add_overdue_action_items() = o;
  }
  int run = 0;
  for (auto& [start, w] : weeks) {
    w.set_above_threshold(w.pages() > kPagesPerWeekThreshold);
    run = w.above_threshold() ? run + 1 : 0;
    if (w.above_threshold()) out.set_weeks_above_threshold(out.weeks_above_threshold() + 1);
    if (run >= 3) out.set_sustained(true);
    *out.add_weeks() = w;
  }
  out.set_pages_per_week(weeks.empty() ? 0 : facts.size() / static_cast<double>(weeks.size()));
  SetMinutes(mttr, out.mutable_mttr_minutes());
  SetMinutes(to_localize, out.mutable_time_to_localize_minutes());
  SetMinutes(to_cause, out.mutable_time_to_cause_minutes());
  out.set_localization_recorded(recorded);
  out.set_localization_correct(correct);
  if (recorded > 0) out.set_localization_accuracy(correct / static_cast<double>(recorded));
  out.set_unknown_causes(unknown);
  for (const auto& [pair, n] : confusion) {
    v1::ConfusionCell* c = out.add_confusion();
    c->set_recorded(pair.first);
    c->set_localized(pair.second);
    c->set_count(n);
  }
  SetDrills(drills, roster, out.mutable_drills());
  return out;
}

}  // namespace

std::string QuarterOf(int64_t unix_ms) { return QuarterAt(unix_ms).Name(); }

double Quantile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

absl::StatusOr<v1::ReviewResponse> Review(const ReviewInput& in, const v1::ReviewRequest& request) {
  std::optional<Quarter> only;
  if (!request.quarter().empty()) {
    only = ParseQuarter(request.quarter());
    if (!only) {
      return absl::InvalidArgumentError(
          absl::StrFormat("quarter: \"%s\" is not a quarter like 2026Q2", request.quarter()));
    }
  }
  // Facts by quarter; drills by quarter (their wall-clock start).
  std::map<Quarter, std::vector<Facts>> by_quarter;
  std::map<Quarter, std::vector<const v1::Drill*>> drills_by_quarter;
  for (const ReviewIncident& r : in.incidents) {
    Facts f = Reduce(r, in);
    if (f.opened_ms == 0) continue;  // No alert, no time: nothing to place.
    by_quarter[QuarterAt(f.opened_ms)].push_back(std::move(f));
  }
  for (const v1::Drill& d : in.drills) {
    if (d.has_score() && d.has_started_at()) {
      drills_by_quarter[QuarterAt(ToMs(d.started_at()))].push_back(&d);
    }
  }
  std::set<Quarter> quarters;
  for (const auto& [q, f] : by_quarter) quarters.insert(q);
  for (const auto& [q, d] : drills_by_quarter) quarters.insert(q);
  if (only) quarters.insert(*only);
  v1::ReviewResponse out;
  out.set_pages_threshold(kPagesPerWeekThreshold);
  out.set_mttr_target_minutes(kMttrTargetMinutes);
  if (quarters.empty()) return out;
  // Every quarter from the first to the last (empty ones too: trends have gaps).
  std::map<std::pair<std::string, std::string>, v1::QuarterReview> built;  // (team, quarter)
  for (Quarter q = *quarters.begin(); !(*quarters.rbegin() < q); q = q.Next()) {
    const std::vector<Facts>& facts = by_quarter[q];
    const std::vector<const v1::Drill*>& drills = drills_by_quarter[q];
    std::set<std::string> teams;
    for (const Facts& f : facts) teams.insert(f.team);
    for (const v1::Drill* d : drills) {
      std::string owner = OwnerOf(in.tree, d->score().expected());
      teams.insert(owner.empty() ? kNoOwner : owner);
    }
    for (const std::string& team : teams) {
      std::vector<Facts> mine;
      for (const Facts& f : facts) {
        if (f.team == team) mine.push_back(f);
      }
      std::vector<const v1::Drill*> theirs;
      for (const v1::Drill* d : drills) {
        std::string owner = OwnerOf(in.tree, d->score().expected());
        if ((owner.empty() ? kNoOwner : owner) == team) theirs.push_back(d);
      }
      built[{team, q.Name()}] = Build(q, team, mine, theirs, {}, in.now_ms);
    }
    built[{kAll, q.Name()}] = Build(q, kAll, facts, drills, in.roster, in.now_ms);
    for (auto& [key, review] : built) {
      if (key.second != q.Name()) continue;
      auto before = built.find({key.first, q.Previous().Name()});
      if (before == built.end()) continue;
      SetChange(before->second.mttr_minutes(), review.mutable_mttr_minutes());
      SetChange(before->second.time_to_localize_minutes(),
                review.mutable_time_to_localize_minutes());
      SetChange(before->second.time_to_cause_minutes(), review.mutable_time_to_cause_minutes());
    }
  }
  // Oldest quarter first; per quarter the teams by name, then "all".
  std::vector<const v1::QuarterReview*> order;
  for (const auto& [key, review] : built) {
    if (only && review.quarter() != only->Name()) continue;
    if (!request.team().empty() && review.team() != request.team()) continue;
    order.push_back(&review);
  }
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
    if (a->quarter() != b->quarter()) return a->quarter() < b->quarter();
    if ((a->team() == kAll) != (b->team() == kAll)) return b->team() == kAll;
    return a->team() < b->team();
  });
  for (const v1::QuarterReview* r : order) *out.add_quarters() = *r;
  return out;
}

}  // namespace triage::core
