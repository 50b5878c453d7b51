// The traffic_mix check kind (rules/checks/traffic_mix.cc), walked in the engine's world
// (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using triage::testing::AddPoint;

using TrafficMixTest = EngineTest;

TEST_F(TrafficMixTest, TrafficMixShift) {
  v1::Series social =
      triage::testing::Series("requests", {{"service", "svc"}, {"source", "social"}});
  for (int64_t m = 7 * 24 * 60; m >= 0; --m)
    AddPoint(&social, kNow - m * kMinuteMs, m <= 60 ? 400 : 5);
  *batch_.add_series() = social;
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "external_traffic");
  EXPECT_GT(Verdict(r, "external_traffic").drift(0).kl(), 0.1);
}

TEST_F(TrafficMixTest, TrafficWithoutRequestsOrCampaignsIsNoData) {
  batch_.clear_series();
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "external_traffic").verdict(), v1::NO_DATA);
}

}  // namespace
}  // namespace triage::rules
