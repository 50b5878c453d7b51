#include "rules/tree.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(TreeTest, DefaultTreeIsValidAndWalksInSpecOrder) {
  EXPECT_THAT(CheckTreeText("default", DefaultTreeText()), IsEmpty());
  absl::StatusOr<v1::Tree> tree = DefaultTree();
  ASSERT_TRUE(tree.ok()) << tree.status();
  std::vector<int> numbers;
  for (const v1::Category* c : CostOrder(*tree)) numbers.push_back(c->number());
  EXPECT_THAT(numbers, ElementsAre(1, 2, 3, 8, 4, 5, 6, 7, 9, 10));
  for (const v1::Category& c : tree->category()) {
    EXPECT_FALSE(c.owner().empty()) << c.id();
    EXPECT_FALSE(c.mitigation().empty()) << c.id();
  }
}

TEST(TreeTest, DefaultsFillWhatTheFileLeavesOut) {
  absl::StatusOr<v1::Tree> tree = ParseTree("t", R"(
    category { id: "drift" cost_minutes: 1 mitigation: "m" feature_drift {} })");
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->settings().candidate_before(), "24h");
  EXPECT_EQ(tree->settings().candidate_after(), "5m");
  EXPECT_EQ(tree->category(0).feature_drift().threshold(), 0.1);
  EXPECT_EQ(tree->category(0).feature_drift().baseline_start(), "30d");
  EXPECT_EQ(tree->category(0).feature_drift().smoothing(), 1e-4);
}

TEST(TreeTest, UnknownCheckKindHasItsLine) {
  std::vector<std::string> p = CheckTreeText("t.textproto", R"(name: "x"
category {
  id: "a"
  cost_minutes: 2
  mitigation: "m"
  kl_drift { threshold: 0.2 }
})");
  EXPECT_THAT(p, ElementsAre(HasSubstr("t.textproto:6:12: unknown check kind or category field "
                                       "\"kl_drift\"")));
}

TEST(TreeTest, MetricQueriesAndHistogramFeaturesAreChecked) {
  std::vector<std::string> p = CheckTreeText(
      "t.textproto", R"pb(settings {
                            metric_queries { key: "ndcg" value: "avg(ndcg{service=\"$service\"})" }
                            metric_queries { key: "bad" value: "rate(x[5m]" }
                            metric_queries { key: "var" value: "x{a=\"$svc\"}" }
                          }
                          category {
                            id: "a"
                            cost_minutes: 2
                            mitigation: "m"
                            feature_drift { threshold: 0.2 histogram_metric: "feature_value" }
                          })pb");
  EXPECT_THAT(p, ElementsAre(HasSubstr("metric_queries[\"bad\"]: unclosed '('"),
                             HasSubstr("metric_queries[\"var\"]: column 6: only $service"),
                             HasSubstr("histogram_metric and feature_label go together")));
}

TEST(TreeTest, UnknownParameterHasItsLine) {
  std::vector<std::string> p = CheckTreeText("t.textproto", R"(category {
  id: "a"
  cost_minutes: 2
  mitigation: "m"
  feature_drift {
    threshold: 0.2
    treshold: 0.3
  }
})");
  EXPECT_THAT(p, ElementsAre(HasSubstr("t.textproto:7:13: unknown parameter \"treshold\" for check "
                                       "kind feature_drift")));
}

TEST(TreeTest, DuplicateIdMissingCostMitigationAndCheck) {
  std::vector<std::string> p = CheckTreeText("t.textproto", R"(category {
  id: "a"
  cost_minutes: 2
  mitigation: "m"
  change_log { kinds: "config" }
}
category {
  id: "a"
  change_log { kinds: "code_deploy" }
}
category {
  id: "b"
  cost_minutes: 3
  mitigation: "m"
})");
  EXPECT_THAT(p, ElementsAre("t.textproto:8: duplicate id a (first at line 2)",
                             "t.textproto:7: category a: missing cost_minutes",
                             "t.textproto:7: category a: missing mitigation",
                             HasSubstr("t.textproto:11: category b: missing check kind")));
}

TEST(TreeTest, HypothesesAreCheckedLikeCategoriesWithTheirLines) {
  const std::string head = R"(category {
  id: "a"
  cost_minutes: 2
  mitigation: "m"
  change_log { kinds: "config" }
)";
  std::vector<std::string> p = CheckTreeText("t.textproto", head + R"(  hypothesis {
    id: "h"
    cost_minutes: 1
    mitigation: "m"
    change_log { kinds: "model_version" window_before: "7d" exclude_alerted: true }
  }
  hypothesis {
    id: "h"
    cost_minutes: 2
    mitigation: "m"
  }
})");
  EXPECT_THAT(p, ElementsAre("t.textproto:13: duplicate id h (first at line 7)",
                             HasSubstr("t.textproto:12: category a: hypothesis h: missing check kind")));
  p = CheckTreeText("t.textproto", head + R"(  hypothesis {
    id: "h"
    cost_minutes: 1
    mitigation: "m"
    change_log { kinds: "model_version" }
    dependency_health { }
  }
})");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("t.textproto:11:"));
  EXPECT_THAT(p[0], HasSubstr("oneof"));
  p = CheckTreeText("t.textproto", head + R"(  hypothesis {
    id: "h"
    cost_minutes: 1
    mitigation: "m"
    kl_drift { }
  }
})");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("t.textproto:10:"));
  p = CheckTreeText("t.textproto", head + R"(  hypothesis {
    id: "h"
    cost_minutes: 1
    mitigation: "m"
    change_log { kinds: "nope" window_before: "7 days" }
  }
})");
  EXPECT_THAT(p, ElementsAre(HasSubstr("t.textproto:10: window_before"),
                             HasSubstr("t.textproto:10: category a: hypothesis h: unknown change kind \"nope\"")));
}

TEST(TreeTest, BadDurationsKindsAndThresholds) {
  std::vector<std::string> p = CheckTreeText("t.textproto", R"(settings {
  candidate_before: "a day"
}
category {
  id: "a"
  cost_minutes: 2
  mitigation: "m"
  change_log { kinds: "deploy" }
}
category {
  id: "b"
  cost_minutes: -1
  mitigation: "m"
  feature_drift {
    current_window: "1 hour"
    threshold: -0.5
  }
})");
  EXPECT_THAT(p,
              ElementsAre(HasSubstr("t.textproto:2: candidate_before: \"a day\" is not a duration"),
                          HasSubstr("t.textproto:8: category a: unknown change kind \"deploy\""),
                          "t.textproto:12: category b: cost_minutes must be > 0, got -1",
                          HasSubstr("t.textproto:15: current_window: \"1 hour\""),
                          "t.textproto:14: category b: threshold must be >= 0"));
}

TEST(TreeTest, SyntaxErrorsAndParseTreeStatus) {
  EXPECT_THAT(CheckTreeText("t", "category { id: "), ElementsAre(HasSubstr("t:1:")));
  absl::StatusOr<v1::Tree> t = ParseTree("t", "category { id: \"rare_class\" }");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("reserved"));
  EXPECT_TRUE(absl::IsNotFound(LoadTreeFile("/nonexistent/tree").status()));
}

TEST(TreeTest, LearnedOrderRanksByShareOfPastRootCausesOverCost) {
  absl::StatusOr<v1::Tree> tree = ParseTree("t", R"(
    ordering: LEARNED
    category { id: "a" cost_minutes: 2 mitigation: "m" change_log { kinds: "config" } }
    category { id: "b" cost_minutes: 2 mitigation: "m" change_log { kinds: "code_deploy" } }
    category { id: "c" cost_minutes: 6 mitigation: "m" feature_drift {} })");
  ASSERT_TRUE(tree.ok()) << tree.status();
  RootCauseHistory history{{{"a", 1}, {"b", 1}, {"c", 8}}, 10};
  WalkOrder w = OrderFor(*tree, history);
  // p = (n + 1) / (10 + 3): a 2/13, b 2/13, c 9/13; p/c: a .077, b .077, c .115.
  std::vector<std::string> ids;
  for (const v1::Category* c : w.order) ids.push_back(c->id());
  EXPECT_THAT(ids, ElementsAre("c", "a", "b"));
  EXPECT_EQ(w.name, "learned");
  // Learned: c at 6 (9/13), a at 8 (2/13), b at 10 (2/13) = 90/13.
  EXPECT_NEAR(w.expected_minutes, 90.0 / 13, 1e-9);
  // Cost order: a at 2, b at 4, c at 10 = (4 + 8 + 90) / 13.
  EXPECT_NEAR(w.expected_minutes_cost, 102.0 / 13, 1e-9);
  // Without history every p_i is equal and the learned order is the cost order.
  WalkOrder none = OrderFor(*tree, {});
  EXPECT_EQ(none.order[0]->id(), "a");
  EXPECT_EQ(none.order[2]->id(), "c");
}

}  // namespace
}  // namespace triage::rules
