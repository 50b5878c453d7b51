#include "rules/graph.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

DependencyGraph Sample() {
  DependencyGraph g;
  g.Set("reranker", {"embedding", "catalog"});
  g.Set("embedding", {"feature-store"});
  g.Set("web", {"reranker", "recsys"});
  g.Set("recsys", {"embedding"});
  return g;
}

TEST(GraphTest, DepsAreTransitiveAndIncludeTheService) {
  EXPECT_THAT(Sample().Deps("reranker"),
              ElementsAre("catalog", "embedding", "feature-store", "reranker"));
  EXPECT_THAT(Sample().Deps("unknown"), ElementsAre("unknown"));
}

TEST(GraphTest, ConsumersAreEveryServiceWhoseDepsHoldIt) {
  EXPECT_THAT(Sample().Consumers("embedding"), ElementsAre("recsys", "reranker", "web"));
  EXPECT_THAT(Sample().Consumers("web"), IsEmpty());
}

TEST(GraphTest, FindsCycles) {
  DependencyGraph g = Sample();
  EXPECT_THAT(g.FindCycle(), IsEmpty());
  g.Set("feature-store", {"web"});
  EXPECT_THAT(g.FindCycle(),
              ElementsAre("embedding", "feature-store", "web", "reranker", "embedding"));
  DependencyGraph self;
  self.Set("a", {"a"});
  EXPECT_THAT(self.FindCycle(), ElementsAre("a", "a"));
  // Deps terminates on cyclic input.
  EXPECT_EQ(g.Deps("web").size(), 6u);
}

}  // namespace
}  // namespace triage::rules
