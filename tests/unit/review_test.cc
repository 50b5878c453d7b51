// The review's arithmetic (triage/core/review.h) on hand-made incidents:
// quantiles, ISO weeks across a year's end, sustained page volume, teams.
#include "triage/core/review.h"

#include "gtest/gtest.h"
#include "proto/model/time.h"

namespace triage::core {
namespace {

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

ReviewIncident Page(const std::string& id, const char* at, const std::string& localized,
                    double minutes_to_resolve = 0) {
  ReviewIncident r;
  r.incident.set_id(id);
  v1::IncidentState s;
  s.set_id(id);
  *s.mutable_opened_at() = FromMs(T(at));
  if (minutes_to_resolve > 0) {
    s.set_status(v1::IncidentState::resolved);
    s.set_minutes_to_resolve(minutes_to_resolve);
  } else {
    s.set_status(v1::IncidentState::open);
  }
  r.state = s;
  v1::TriageReport report;
  report.set_localized_category(localized);
  r.report = report;
  return r;
}

v1::Tree TwoTeams() {
  v1::Tree tree;
  v1::Category* c = tree.add_category();
  c->set_id("code_deploy");
  c->set_owner("service-owners");
  c = tree.add_category();
  c->set_id("feature_drift");
  c->set_owner("ml-platform");
  return tree;
}

TEST(ReviewTest, QuantilesInterpolateAsNumpy) {
  EXPECT_EQ(Quantile({}, 0.5), 0);
  EXPECT_EQ(Quantile({7}, 0.9), 7);
  EXPECT_DOUBLE_EQ(Quantile({120, 30, 60, 45}, 0.5), 52.5);
  EXPECT_DOUBLE_EQ(Quantile({120, 30, 60, 45}, 0.9), 102);
  EXPECT_DOUBLE_EQ(Quantile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9), 9.1);
}

TEST(ReviewTest, QuartersAreUtc) {
  EXPECT_EQ(QuarterOf(T("2026-03-31T23:59:59Z")), "2026Q1");
  EXPECT_EQ(QuarterOf(T("2026-04-01T00:00:00Z")), "2026Q2");
  EXPECT_EQ(QuarterOf(T("2026-12-31T23:00:00Z")), "2026Q4");
}

TEST(ReviewTest, ThreeWeeksAboveTwoInARowIsSustained) {
  v1::Tree tree = TwoTeams();
  ReviewInput in{.tree = &tree, .now_ms = T("2027-01-15T00:00:00Z")};
  // Three pages in each of three weeks straddling the year's end (ISO
  // 2026-W52, 2026-W53, 2027-W01), then one quiet week.
  int n = 0;
  for (const char* day : {"2026-12-21", "2026-12-28", "2027-01-04"}) {
    for (int h = 0; h < 3; ++h) {
      std::string at = std::string(day) + "T0" + std::to_string(h) + ":00:00Z";
      in.incidents.push_back(Page("p" + std::to_string(n++), at.c_str(), "code_deploy", 30));
    }
  }
  absl::StatusOr<v1::ReviewResponse> r = Review(in, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->quarters_size(), 4);  // Each quarter: service-owners, then all.
  const v1::QuarterReview& q4 = r->quarters(1);
  EXPECT_EQ(q4.quarter(), "2026Q4");
  EXPECT_EQ(q4.team(), "all");
  EXPECT_EQ(q4.incidents(), 6);  // 28 December is still 2026.
  EXPECT_EQ(q4.weeks_above_threshold(), 2);
  EXPECT_FALSE(q4.sustained());  // The third week is in the next quarter.
  const v1::QuarterReview& q1 = r->quarters(3);
  EXPECT_EQ(q1.quarter(), "2027Q1");
  ASSERT_GE(q1.weeks_size(), 2);
  EXPECT_EQ(q1.weeks(0).week(), "2026-W53");  // The ISO week holding 1 January 2027.
  EXPECT_EQ(q1.weeks(1).week(), "2027-W01");
  EXPECT_EQ(q1.weeks(1).pages(), 3);

  // The same nine pages in one quarter's weeks are sustained.
  ReviewInput spring{.tree = &tree, .now_ms = T("2026-07-01T00:00:00Z")};
  n = 0;
  for (const char* day : {"2026-04-06", "2026-04-13", "2026-04-20"}) {
    for (int h = 0; h < 3; ++h) {
      std::string at = std::string(day) + "T0" + std::to_string(h) + ":00:00Z";
      spring.incidents.push_back(Page("s" + std::to_string(n++), at.c_str(), "feature_drift"));
    }
  }
  r = Review(spring, {});
  ASSERT_TRUE(r.ok());
  const v1::QuarterReview& all = r->quarters(r->quarters_size() - 1);
  EXPECT_EQ(all.weeks_above_threshold(), 3);
  EXPECT_TRUE(all.sustained());
  EXPECT_EQ(r->quarters(0).team(), "ml-platform");  // The localized category's owner.
  EXPECT_EQ(all.mttr_minutes().count(), 0);         // None resolved.
}

v1::ReviewRequest Request(const std::string& quarter, const std::string& team) {
  v1::ReviewRequest r;
  r.set_quarter(quarter);
  r.set_team(team);
  return r;
}

TEST(ReviewTest, EmptyQuartersBetweenKeepTheTrendAndBadQuartersAreRefused) {
  v1::Tree tree = TwoTeams();
  ReviewInput in{.tree = &tree, .now_ms = T("2026-12-01T00:00:00Z")};
  in.incidents.push_back(Page("a", "2026-01-10T00:00:00Z", "code_deploy", 90));
  in.incidents.push_back(Page("b", "2026-10-10T00:00:00Z", "code_deploy", 30));
  absl::StatusOr<v1::ReviewResponse> r = Review(in, Request("", "all"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->quarters_size(), 4);
  EXPECT_EQ(r->quarters(1).quarter(), "2026Q2");
  EXPECT_EQ(r->quarters(1).incidents(), 0);
  // Q4's change is against Q3, which had none: no change to show.
  EXPECT_FALSE(r->quarters(3).mttr_minutes().has_median_change());
  EXPECT_FALSE(Review(in, Request("2026Q5", "")).ok());
  EXPECT_FALSE(Review(in, Request("26Q1", "")).ok());
}

}  // namespace
}  // namespace triage::core
