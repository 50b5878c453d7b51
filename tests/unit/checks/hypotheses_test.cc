// Hypotheses, one level down (rules/hypotheses.cc), and change-feed coverage
// (rules/checks/change_log.cc), at their edges, walked in the engine's world
// (tests/unit/engine_fixture.h) with feature_drift made HIT.
#include "rules/hypotheses.h"
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using triage::testing::Change;

class HypothesesTest : public EngineTest {
 protected:
  // Moves f1's last hour far from its baseline: feature_drift is HIT.
  void Drift() {
    const int64_t start = kNow - kHourMs;
    *batch_.add_histograms() =
        triage::testing::Numeric("svc", "f1", start, kNow, {0, 1, 2, 3}, {300, 2, 1});
  }
  static std::vector<std::string> Hypotheses(const v1::TriageReport& r) {
    std::vector<std::string> out;
    for (const v1::HypothesisVerdict& h : Verdict(r, "feature_drift").hypotheses()) {
      out.push_back(h.id() + "=" + v1::Verdict_Name(h.verdict()));
    }
    return out;
  }
};

TEST_F(HypothesesTest, WalkedCheapestFirstOnlyUnderAHitCategory) {
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "feature_drift").verdict(), v1::CLEAR);
  EXPECT_EQ(Verdict(r, "feature_drift").hypotheses_size(), 0);
  EXPECT_FALSE(r.has_root_cause()) << "rare_class has none";
  SetUp();
  Drift();
  r = Walk();
  ASSERT_EQ(r.localized_category(), "feature_drift");
  EXPECT_THAT(Hypotheses(r), ElementsAre("upstream_model_rotated=CLEAR", "retrieval_shift=CLEAR",
                                         "upstream_corruption=CLEAR"));
  EXPECT_TRUE(r.root_cause().exhausted());
  EXPECT_EQ(r.root_cause().hypothesis(), "");
  EXPECT_EQ(r.root_cause().owner(), "ml-platform");
}

TEST_F(HypothesesTest, UpstreamModelRotatedLeavesTheAlertedServiceOutAndReachesSevenDays) {
  struct Case {
    std::string service;
    int64_t t;
    bool hit;
  } cases[] = {{"dep", kOnset - 7 * kDayMs, true},
               {"dep", kOnset - 7 * kDayMs - 1, false},
               {"dep", kOnset + 5 * kMinuteMs, true},
               {"dep", kOnset + 5 * kMinuteMs + 1, false},
               {"svc", kOnset - kDayMs * 3, false},  // The alerted service itself.
               {"*", kOnset - kDayMs * 3, true}};
  for (const Case& c : cases) {
    SetUp();
    Drift();
    *batch_.add_changes() = Change("rot", "model_version", c.service, c.t);
    v1::TriageReport r = Walk();
    if (c.service != "dep" && c.service != "*") {
      // A model_version change on svc within the candidate window would make
      // model_version HIT first; this one is 3 days old.
      EXPECT_EQ(Verdict(r, "model_version").verdict(), v1::CLEAR);
    }
    ASSERT_EQ(r.localized_category(), c.t >= kOnset - kDayMs && c.t <= kOnset + 5 * kMinuteMs
                                          ? "model_version"
                                          : "feature_drift")
        << c.service << " " << (c.t - kOnset);
    if (r.localized_category() != "feature_drift") continue;
    EXPECT_EQ(Hypotheses(r)[0], std::string("upstream_model_rotated=") + (c.hit ? "HIT" : "CLEAR"))
        << c.service << " " << (c.t - kOnset);
    if (c.hit) {
      EXPECT_EQ(r.root_cause().hypothesis(), "upstream_model_rotated");
    }
  }
}

TEST_F(HypothesesTest, RetrievalShiftIsNoDataWithoutAProbeInADay) {
  Drift();
  batch_.mutable_dependency_health()->rbegin()->set_value(0.43);  // The newest probe, at now.
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.root_cause().hypothesis(), "retrieval_shift");
  EXPECT_THAT(r.root_cause().evidence(), HasSubstr("dep/recall = 0.43 outside [0.85, +inf]"));
  SetUp();
  Drift();
  batch_.clear_dependency_health();
  AddProbe(kNow - kDayMs - kMinuteMs, 0.9);  // The newest probe: a day and a minute old.
  r = Walk();
  EXPECT_EQ(Hypotheses(r)[1], "retrieval_shift=NO_DATA");
  EXPECT_TRUE(r.root_cause().exhausted());
  bool named = false;
  for (const v1::BlindSpot& b : r.blind_spots()) named |= b.category() == "feature_drift/retrieval_shift";
  EXPECT_TRUE(named) << "an exhausted category names its NO_DATA hypotheses";
}

TEST_F(HypothesesTest, UpstreamCorruptionSeesASchemaSwitchSevenDaysBack) {
  Drift();
  // The fixture's hourly reports switch fingerprint 6 days before onset.
  for (v1::Upstream& u : *batch_.mutable_upstreams()) {
    if (ToMs(u.time()) >= kOnset - 6 * kDayMs) u.set_schema_fingerprint("fp2");
  }
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::CLEAR) << "24h for the category";
  EXPECT_EQ(r.root_cause().hypothesis(), "upstream_corruption");
}

TEST_F(HypothesesTest, ExpectedHypothesisIsCheckedAgainstTheRootCause) {
  Drift();
  v1::TriageReport r = Walk();
  v1::Expected e;
  e.mutable_hypothesis()->set_exhausted(true);
  EXPECT_EQ(ExpectedMismatch(e, r), "");
  e.mutable_hypothesis()->set_exhausted(false);
  e.mutable_hypothesis()->set_id("retrieval_shift");
  EXPECT_EQ(ExpectedMismatch(e, r), "expected hypothesis retrieval_shift, got null (exhausted)");
}

using ChangeFeedTest = EngineTest;

TEST_F(ChangeFeedTest, NoChangeOfAKindInThirtyDaysIsNoDataNotClear) {
  batch_.clear_changes();
  v1::TriageReport r = Walk();
  for (const char* c : {"code_deploy", "model_version", "config_change", "prompt_template",
                        "ui_deploy"}) {
    EXPECT_EQ(Verdict(r, c).verdict(), v1::NO_DATA) << c;
  }
  EXPECT_THAT(Verdict(r, "model_version").evidence(),
              HasSubstr("no model_version change recorded for dep, src, svc in 30d: is a change "
                        "feed connected?"));
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::CLEAR) << "other evidence decides it";
  EXPECT_EQ(Verdict(r, "managed_service").verdict(), v1::CLEAR);
}

TEST_F(ChangeFeedTest, EdgesOfTheFeedWindow) {
  struct Case {
    std::string service;
    int64_t t;
    bool alive;
  } cases[] = {{"svc", kNow - 30 * kDayMs, true},
               {"svc", kNow - 30 * kDayMs - kMinuteMs, false},  // 30 days and one minute.
               {"svc", kOnset + 10 * kMinuteMs, true},  // After the onset: the feed is alive.
               {"*", kNow - 10 * kDayMs, true},          // "*" counts for every service.
               {"other", kNow - 10 * kDayMs, false}};    // Not in scope.
  for (const Case& c : cases) {
    SetUp();
    batch_.clear_changes();
    *batch_.add_changes() = Change("one", "code_deploy", c.service, c.t);
    v1::TriageReport r = Walk();
    EXPECT_EQ(Verdict(r, "code_deploy").verdict(), c.alive ? v1::CLEAR : v1::NO_DATA)
        << c.service << " " << (kNow - c.t) / kMinuteMs << " min before now";
  }
}

TEST_F(ChangeFeedTest, ZeroSecondsTurnsTheRuleOff) {
  batch_.clear_changes();
  tree_.mutable_settings()->set_change_feed_window("0s");
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "code_deploy").verdict(), v1::CLEAR);
}

}  // namespace
}  // namespace triage::rules
