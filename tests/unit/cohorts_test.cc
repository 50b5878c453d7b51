#include "rules/cohorts.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/model/time.h"
#include "tests/unit/test_records.h"

namespace triage::rules {
namespace {

using ::testing::HasSubstr;
using triage::testing::AddPoint;

const int64_t kNow = 30 * kDayMs;
const CohortWindows kWindows{.baseline_from = kNow - 7 * kDayMs,
                             .baseline_to = kNow - 6 * kHourMs,
                             .current_from = kNow - 30 * kMinuteMs,
                             .current_to = kNow,
                             .band_sigmas = 4};

// A series of `metric` for service s with `labels`: `before` over the
// baseline (with a little noise), `after` over the last 30 minutes.
v1::Series Cohort(std::map<std::string, std::string> labels, double before, double after,
                  double noise = 0.005, const std::string& metric = "quality") {
  labels["service"] = "s";
  v1::Series s = triage::testing::Series(metric, labels);
  for (int64_t m = 7 * 24 * 60; m >= 0; m -= 5) {
    double wobble = noise * std::sin(static_cast<double>(m) * 0.7);
    AddPoint(&s, kNow - m * kMinuteMs, (m <= 30 ? after : before) + wobble);
  }
  return s;
}

v1::Series Requests(std::map<std::string, std::string> labels, double per_point) {
  return Cohort(std::move(labels), per_point, per_point, 0, "requests");
}

TEST(CohortsTest, WeightsFromRequestsNameTheSmallValueCarryingTheDrop) {
  std::vector<v1::Series> alerted = {Cohort({{"locale", "en"}}, 0.8, 0.8),
                                     Cohort({{"locale", "ja"}}, 0.8, 0.4)};
  std::vector<v1::Series> requests = {Requests({{"locale", "en"}}, 88),
                                      Requests({{"locale", "ja"}}, 12)};
  CohortAnswer a = FindCohorts(alerted, requests, kWindows);
  ASSERT_EQ(a.dimensions.size(), 1u);
  const v1::CohortDimension& d = a.dimensions[0];
  EXPECT_TRUE(d.weights_from_requests());
  ASSERT_EQ(d.values_size(), 2);
  EXPECT_EQ(d.values(0).value(), "ja");
  EXPECT_NEAR(d.values(0).weight(), 0.12, 1e-9);
  EXPECT_NEAR(d.values(0).delta(), -0.4, 0.01);
  EXPECT_NEAR(d.values(0).contribution(), 1.0, 0.02);
  EXPECT_TRUE(d.values(0).left_band());
  EXPECT_FALSE(d.values(1).left_band());
  ASSERT_TRUE(a.named.has_value());
  EXPECT_EQ(a.named->dimension(), "locale");
  EXPECT_EQ(a.named->value(), "ja");
}

TEST(CohortsTest, EqualWeightsWithoutRequestsCarryingTheDimension) {
  std::vector<v1::Series> alerted;
  for (int shard = 0; shard < 8; ++shard) {
    alerted.push_back(Cohort({{"shard", std::to_string(shard)}}, 0.9, shard == 3 ? 0.4 : 0.9));
  }
  CohortAnswer a = FindCohorts(alerted, {Requests({{"source", "web"}}, 10)}, kWindows);
  ASSERT_EQ(a.dimensions.size(), 1u);
  EXPECT_FALSE(a.dimensions[0].weights_from_requests());
  EXPECT_NEAR(a.dimensions[0].values(0).weight(), 1.0 / 8, 1e-9);
  ASSERT_TRUE(a.named.has_value());
  EXPECT_EQ(a.named->value(), "3");
}

TEST(CohortsTest, WeightsChangeTheAnswer) {
  // ja drops most, but carries 70% of the traffic: not a small cohort.
  std::vector<v1::Series> alerted = {Cohort({{"locale", "en"}}, 0.8, 0.8),
                                     Cohort({{"locale", "ja"}}, 0.8, 0.4)};
  CohortAnswer a = FindCohorts(
      alerted, {Requests({{"locale", "en"}}, 30), Requests({{"locale", "ja"}}, 70)}, kWindows);
  EXPECT_NEAR(a.dimensions[0].values(0).weight(), 0.7, 1e-9);
  EXPECT_FALSE(a.named.has_value());
}

TEST(CohortsTest, ASpreadDropAndAZeroTotalNameNoCohort) {
  CohortAnswer spread =
      FindCohorts({Cohort({{"locale", "en"}}, 0.8, 0.5), Cohort({{"locale", "ja"}}, 0.8, 0.5),
                   Cohort({{"locale", "de"}}, 0.8, 0.5)},
                  {}, kWindows);
  EXPECT_FALSE(spread.named.has_value());
  EXPECT_NEAR(spread.dimensions[0].values(0).contribution(), 1.0 / 3, 1e-6);
  CohortAnswer zero = FindCohorts(
      {Cohort({{"locale", "en"}}, 0.8, 0.8, 0), Cohort({{"locale", "ja"}}, 0.8, 0.8, 0)}, {},
      kWindows);
  ASSERT_EQ(zero.dimensions.size(), 1u);
  EXPECT_EQ(zero.dimensions[0].values(0).contribution(), 0);
  EXPECT_FALSE(zero.named.has_value());
}

TEST(CohortsTest, AValueMissingFromTheCurrentWindowAndASeriesWithoutTheDimension) {
  v1::Series gone = triage::testing::Series("quality", {{"service", "s"}, {"locale", "fr"}});
  AddPoint(&gone, kNow - 2 * kDayMs, 0.8);  // Baseline only.
  v1::Series bare = Cohort({}, 0.1, 0.1);   // No locale: no part in it.
  CohortAnswer a = FindCohorts(
      {Cohort({{"locale", "en"}}, 0.8, 0.8), Cohort({{"locale", "ja"}}, 0.8, 0.4), gone, bare}, {},
      kWindows);
  ASSERT_EQ(a.dimensions.size(), 1u);
  ASSERT_EQ(a.dimensions[0].values_size(), 2);  // fr has no current: not a cohort.
  EXPECT_NEAR(a.dimensions[0].values(0).weight(), 0.5, 1e-9);
  EXPECT_NEAR(a.dimensions[0].values(0).baseline(), 0.8, 0.01) << "bare's 0.1 is not in ja";
}

TEST(CohortsTest, ACohortTooNoisyToLeaveItsBandIsNotNamed) {
  std::vector<v1::Series> alerted;
  for (int shard = 0; shard < 4; ++shard) {
    alerted.push_back(Cohort({{"shard", std::to_string(shard)}}, 0.9, shard == 1 ? 0.75 : 0.9,
                             shard == 1 ? 0.3 : 0.001));
  }
  CohortAnswer a = FindCohorts(alerted, {}, kWindows);
  EXPECT_EQ(a.dimensions[0].values(0).value(), "1");
  EXPECT_GE(a.dimensions[0].values(0).contribution(), 0.6);
  EXPECT_FALSE(a.dimensions[0].values(0).left_band());
  EXPECT_FALSE(a.named.has_value());
}

TEST(CohortsTest, OfTwoConcentratedDimensionsTheLargerContributionIsNamed) {
  // surface=app carries everything; locale=ja most of it (en on app dips too).
  std::vector<v1::Series> alerted = {
      Cohort({{"locale", "en"}, {"surface", "web"}}, 0.8, 0.8),
      Cohort({{"locale", "en"}, {"surface", "app"}}, 0.8, 0.7),
      Cohort({{"locale", "ja"}, {"surface", "web"}}, 0.8, 0.8),
      Cohort({{"locale", "ja"}, {"surface", "app"}}, 0.8, 0.2),
  };
  CohortAnswer a =
      FindCohorts(alerted,
                  {Requests({{"locale", "en"}}, 70), Requests({{"locale", "ja"}}, 30),
                   Requests({{"surface", "web"}}, 60), Requests({{"surface", "app"}}, 40)},
                  kWindows);
  ASSERT_EQ(a.dimensions.size(), 2u);
  EXPECT_EQ(a.dimensions[0].dimension(), "locale");
  EXPECT_EQ(a.dimensions[1].dimension(), "surface");
  ASSERT_TRUE(a.named.has_value());
  EXPECT_EQ(a.named->dimension(), "surface");
  EXPECT_EQ(a.named->value(), "app");
  EXPECT_NEAR(a.named->contribution(), 1.0, 0.01);
}

TEST(CohortsTest, TheReplayLineAndTheRegressCheck) {
  v1::TriageReport r;
  EXPECT_EQ(DescribeCohorts(r), "");
  v1::Expected e;
  EXPECT_EQ(CohortMismatch(e, r), "") << "not stated";
  r.add_cohorts()->set_dimension("locale");
  EXPECT_EQ(DescribeCohorts(r), "spread over locale (no cohort carries the drop)");
  e.mutable_cohort()->set_spread(true);
  EXPECT_EQ(CohortMismatch(e, r), "");
  v1::CohortLocalization* l = r.mutable_cohort_localization();
  l->set_dimension("locale");
  l->set_value("ja");
  l->set_contribution(1);
  l->set_weight(0.12);
  l->set_baseline(0.76);
  l->set_current(0.42);
  EXPECT_EQ(DescribeCohorts(r),
            "locale=ja carries 100% of the drop with 12% of traffic (0.76 -> 0.42)");
  EXPECT_EQ(CohortMismatch(e, r), "expected cohort spread, got locale=ja");
  e.mutable_cohort()->set_spread(false);
  e.mutable_cohort()->set_dimension("locale");
  e.mutable_cohort()->set_value("ja");
  EXPECT_EQ(CohortMismatch(e, r), "");
}

}  // namespace
}  // namespace triage::rules
