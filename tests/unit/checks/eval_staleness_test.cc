// The eval_staleness check kind (rules/checks/eval_staleness.cc), walked in the engine's world
// (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using EvalStalenessTest = EngineTest;

TEST_F(EvalStalenessTest, EvalStalenessNeedsBothAgeAndTurnover) {
  struct Case {
    int64_t age;
    double turnover;
    v1::Verdict verdict;
  } cases[] = {{40 * kDayMs, 0.2, v1::HIT},
               {40 * kDayMs, 0.05, v1::CLEAR},
               {5 * kDayMs, 0.2, v1::CLEAR},
               {28 * kDayMs, 0.2, v1::CLEAR},  // Not more than 28 days.
               {28 * kDayMs + 1, 0.2, v1::HIT}};
  for (const Case& c : cases) {
    SetUp();
    v1::EvalSet* e = batch_.add_eval_sets();
    e->set_service("svc");
    e->set_name("golden");
    *e->mutable_time() = FromMs(kNow - 10 * kMinuteMs);  // The latest wins.
    *e->mutable_refreshed_at() = FromMs(kNow - c.age);
    e->set_catalog_turnover(c.turnover);
    EXPECT_EQ(Verdict(Walk(), "eval_staleness").verdict(), c.verdict) << c.age << " " << c.turnover;
  }
}

}  // namespace
}  // namespace triage::rules
