// The change_log check kind (rules/checks/change_log.cc), walked in the engine's world
// (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using triage::testing::Change;

using ChangeLogTest = EngineTest;

TEST_F(ChangeLogTest, ChangeLogCategoriesHitOnCandidateChanges) {
  struct Case {
    std::string kind, service, category;
  } cases[] = {
      {"code_deploy", "svc", "code_deploy"},      {"model_version", "dep", "model_version"},
      {"config", "*", "config_change"},           {"prompt_template", "src", "prompt_template"},
      {"feature_schema", "src", "upstream_data"}, {"ui_deploy", "web", "ui_deploy"},
      {"campaign", "*", "external_traffic"},      {"managed_service", "dep", "managed_service"},
      {"infra", "dep", "managed_service"}};
  for (const Case& c : cases) {
    SetUp();
    *batch_.add_changes() = Change("chg-" + c.kind, c.kind, c.service, kOnset - kHourMs, "v1");
    v1::TriageReport r = Walk();
    EXPECT_EQ(r.localized_category(), c.category) << c.kind;
    EXPECT_THAT(Verdict(r, c.category).change_ids(), ElementsAre("chg-" + c.kind)) << c.kind;
    ASSERT_GE(r.suspect_changes_size(), 1) << c.kind;
    EXPECT_TRUE(r.suspect_changes(0).prime());
    EXPECT_EQ(r.suspect_changes(0).minutes_before_onset(), 60);
  }
}

TEST_F(ChangeLogTest, PrimeSuspectIsTheNewestCandidateWithARollbackHint) {
  *batch_.add_changes() = Change("old", "code_deploy", "svc", kOnset - 5 * kHourMs, "v0");
  *batch_.add_changes() = Change("new", "code_deploy", "dep", kOnset - kHourMs, "v1");
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "code_deploy");
  ASSERT_EQ(r.suspect_changes_size(), 2);
  EXPECT_EQ(r.suspect_changes(0).change().id(), "new");
  EXPECT_TRUE(r.suspect_changes(0).prime());
  EXPECT_EQ(r.suspect_changes(0).rollback_hint(), "roll dep back to v1 (from v2)");
  EXPECT_FALSE(r.suspect_changes(1).prime());
  EXPECT_EQ(r.mitigation(), Verdict(r, "code_deploy").mitigation());
}

TEST_F(ChangeLogTest, CandidateWindowEdges) {
  struct Case {
    int64_t t;
    bool candidate;
  } cases[] = {{kOnset - kDayMs, true},
               {kOnset - kDayMs - 1, false},
               {kOnset + 5 * kMinuteMs, true},
               {kOnset + 5 * kMinuteMs + 1, false}};
  for (const Case& c : cases) {
    SetUp();
    *batch_.add_changes() = Change("edge", "code_deploy", "svc", c.t);
    v1::TriageReport r = Walk();
    EXPECT_EQ(Verdict(r, "code_deploy").verdict(), c.candidate ? v1::HIT : v1::CLEAR)
        << (c.t - kOnset);
    bool after = c.t > kOnset + 5 * kMinuteMs;
    EXPECT_EQ(r.after_onset_changes_size(), after ? 1 : 0) << (c.t - kOnset);
  }
}

TEST_F(ChangeLogTest, ChangesOutsideDepsDoNotCount) {
  *batch_.add_changes() = Change("c1", "code_deploy", "other", kOnset - kHourMs);
  *batch_.add_changes() = Change("c2", "code_deploy", "web", kOnset - kHourMs);  // A consumer.
  *batch_.add_changes() = Change("c3", "ui_deploy", "other", kOnset - kHourMs);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), kRareClass);
}

TEST_F(ChangeLogTest, UiDeployOnAConsumerHits) {
  *batch_.add_changes() = Change("ui", "ui_deploy", "web", kOnset - 10 * kMinuteMs);
  EXPECT_EQ(Walk().localized_category(), "ui_deploy");
}

}  // namespace
}  // namespace triage::rules
