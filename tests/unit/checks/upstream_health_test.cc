// The upstream_health check kind (rules/checks/upstream_health.cc), walked in the engine's world
// (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::HasSubstr;

using UpstreamHealthTest = EngineTest;

TEST_F(UpstreamHealthTest, UpstreamRowsBelowSeventyPercentOfTheMedian) {
  AddUpstream(kNow, 690, "fp1");
  EXPECT_EQ(Walk().localized_category(), "upstream_data");
}

TEST_F(UpstreamHealthTest, UpstreamRowsAtSeventyPercentAreClear) {
  AddUpstream(kNow, 700, "fp1");
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(UpstreamHealthTest, UpstreamSchemaSwitchInsideTheWindow) {
  AddUpstream(kNow - 30 * kMinuteMs, 1000, "fp2");
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "upstream_data");
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("schema switched fp1 -> fp2"));
}

TEST_F(UpstreamHealthTest, UpstreamSchemaSwitchBeforeTheWindowIsClear) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 0; --h) {
    AddUpstream(kNow - h * kHourMs, 1000, h > 30 ? "fp0" : "fp1");
  }
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(UpstreamHealthTest, UpstreamFreshnessBreach) {
  v1::Upstream* u = AddUpstream(kNow, 1000, "fp1");
  *u->mutable_last_seen() = FromMs(kNow - 3 * kHourMs);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "upstream_data");
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("freshness SLA"));
}

TEST_F(UpstreamHealthTest, UpstreamReportsOlderThanADayAreNoData) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 25; --h)
    AddUpstream(kNow - h * kHourMs, 1000, "fp1")->clear_last_seen();
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::NO_DATA);
  ASSERT_EQ(r.blind_spots_size(), 1);
  EXPECT_EQ(r.blind_spots(0).category(), "upstream_data");
}

TEST_F(UpstreamHealthTest, UpstreamThatStoppedReportingBreachesFreshness) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 25; --h) AddUpstream(kNow - h * kHourMs, 1000, "fp1");
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::HIT);
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("freshness SLA"));
}

}  // namespace
}  // namespace triage::rules
