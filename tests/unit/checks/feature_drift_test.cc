// The feature_drift check kind (rules/checks/feature_drift.cc), walked in the engine's world
// (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using triage::testing::Numeric;

using FeatureDriftTest = EngineTest;

TEST_F(FeatureDriftTest, FeatureDriftAboveThreshold) {
  *batch_.add_histograms() = Numeric("svc", "f1", kNow - 30 * kMinuteMs, kNow + 30 * kMinuteMs,
                                     {0, 1, 2, 3}, {300, 20, 10});
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "feature_drift");
  const v1::CategoryVerdict& v = Verdict(r, "feature_drift");
  ASSERT_GE(v.drift_size(), 2);
  EXPECT_EQ(v.drift(0).feature(), "f1");
  EXPECT_GT(v.drift(0).kl(), 0.1);
  EXPECT_EQ(v.drift(0).threshold(), 0.1);
  EXPECT_GE(v.drift(0).baseline_hours(), 24);
  // The compared distributions, for the page.
  EXPECT_THAT(v.drift(0).bins(), ElementsAre("[0, 1)", "[1, 2)", "[2, 3)"));
  // Current: the new histogram plus the hourly one of [now-1h, now) that overlaps too.
  EXPECT_NEAR(v.drift(0).current_share(0), 310.0 / 390, 1e-9);
  EXPECT_NEAR(v.drift(0).baseline_share(2), 0.5, 1e-9);
}

TEST_F(FeatureDriftTest, CategoricalDriftOnADependency) {
  v1::Histogram* cat = batch_.add_histograms();
  cat->set_service("dep");
  cat->set_feature("locale");
  *cat->mutable_start() = FromMs(kNow - 10 * kMinuteMs);
  *cat->mutable_end() = FromMs(kNow + 50 * kMinuteMs);
  (*cat->mutable_categories())["en"] = 50;
  (*cat->mutable_categories())["mixed"] = 400;  // A category the baseline never saw.
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "feature_drift");
  EXPECT_EQ(Verdict(r, "feature_drift").drift(0).feature(), "locale");
  EXPECT_THAT(Verdict(r, "feature_drift").drift(0).bins(), ElementsAre("en", "ja", "mixed"));
}

TEST_F(FeatureDriftTest, PerFeatureThresholdFromTheTree) {
  *batch_.add_histograms() = Numeric("svc", "f1", kNow - 30 * kMinuteMs, kNow + 30 * kMinuteMs,
                                     {0, 1, 2, 3}, {300, 20, 10});
  for (v1::Category& c : *tree_.mutable_category()) {
    if (c.has_feature_drift())
      (*c.mutable_feature_drift()->mutable_feature_thresholds())["f1"] = 50;
  }
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(FeatureDriftTest, FeatureDriftWithLessThanADayOfBaselineIsNoData) {
  batch_.clear_histograms();
  for (int64_t h = 47; h >= 1; --h) {  // Baseline [now-47h, now-24h) is 23 hours.
    int64_t start = kNow - h * kHourMs;
    *batch_.add_histograms() =
        Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
  }
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "feature_drift").verdict(), v1::NO_DATA);
  EXPECT_THAT(Verdict(r, "feature_drift").evidence(), HasSubstr("less than 24h of baseline"));
}

TEST_F(FeatureDriftTest, FeatureDriftWithoutCurrentHistogramsIsNoData) {
  batch_.clear_histograms();
  for (int64_t h = 30 * 24; h >= 3; --h) {
    int64_t start = kNow - h * kHourMs;
    *batch_.add_histograms() =
        Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
  }
  EXPECT_EQ(Verdict(Walk(), "feature_drift").verdict(), v1::NO_DATA);
}

}  // namespace
}  // namespace triage::rules
