// The dependency_health check kind (rules/checks/dependency_health.cc), walked in the engine's
// world (tests/unit/engine_fixture.h).
#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::HasSubstr;

using DependencyHealthTest = EngineTest;

TEST_F(DependencyHealthTest, ManagedServiceProbeOutsideItsBand) {
  AddProbe(kNow, 0.43);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "managed_service");
  EXPECT_THAT(Verdict(r, "managed_service").evidence(), HasSubstr("dep/recall = 0.43"));
}

TEST_F(DependencyHealthTest, ManagedServiceUsesTheLatestProbeAtOrBeforeNow) {
  AddProbe(kNow - 5 * kMinuteMs, 0.43);
  AddProbe(kNow - 2 * kMinuteMs, 0.9);  // Recovered.
  AddProbe(kNow + 5 * kMinuteMs, 0.1);  // After now: not seen yet.
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

}  // namespace
}  // namespace triage::rules
