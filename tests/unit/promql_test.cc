#include "rules/promql.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::rules {
namespace {

using ::testing::HasSubstr;

TEST(PromqlTest, SelectorEscapesTheService) {
  EXPECT_EQ(SelectorOf("reranker", "ndcg_at_10"), "ndcg_at_10{service=\"reranker\"}");
  EXPECT_EQ(SelectorOf("a\"b\\c", "m"), "m{service=\"a\\\"b\\\\c\"}");
}

TEST(PromqlTest, ComparedSideIsTheLeftOfATopLevelComparison) {
  EXPECT_EQ(ComparedSide("ndcg_at_10{service=\"reranker\"} < 0.7"),
            "ndcg_at_10{service=\"reranker\"}");
  EXPECT_EQ(ComparedSide("rate(x_sum[5m]) / rate(x_count[5m]) >= 2"),
            "rate(x_sum[5m]) / rate(x_count[5m])");
  EXPECT_EQ(ComparedSide("up == 0"), "up");
  EXPECT_EQ(ComparedSide("a != bool 1"), "a");
  // Comparisons inside brackets and strings, and matchers, are not the top level.
  EXPECT_EQ(ComparedSide("m{a!=\"x\", b=~\"<y\"}"), "m{a!=\"x\", b=~\"<y\"}");
  EXPECT_EQ(ComparedSide("count(m > 1)"), "count(m > 1)");
  EXPECT_EQ(ComparedSide("  m  "), "m");
  EXPECT_EQ(ComparedSide(""), "");
}

TEST(PromqlTest, QueryOfPrefersTheTreeThenTheAlertThenTheSelector) {
  google::protobuf::Map<std::string, std::string> templates;
  EXPECT_EQ(QueryOf(templates, "s", "m"), "m{service=\"s\"}");
  EXPECT_EQ(QueryOf(templates, "s", "m", "rate(m[5m]) < 1"), "rate(m[5m])");
  templates["m"] = "avg by (service) (m_sum{service=\"$service\"})";
  EXPECT_EQ(QueryOf(templates, "s", "m", "rate(m[5m]) < 1"),
            "avg by (service) (m_sum{service=\"s\"})");
  EXPECT_EQ(QueryOf(templates, "s", "other"), "other{service=\"s\"}");
}

TEST(PromqlTest, TemplatesAreChecked) {
  EXPECT_TRUE(CheckQueryTemplate("rate(m{service=\"$service\"}[5m])").ok());
  EXPECT_THAT(CheckQueryTemplate("rate(m[5m]").message(), HasSubstr("unclosed '('"));
  EXPECT_THAT(CheckQueryTemplate("m{a=\"x\"}]").message(), HasSubstr("column 9"));
  EXPECT_THAT(CheckQueryTemplate("m{a=\"$svc\"}").message(), HasSubstr("only $service"));
  EXPECT_THAT(CheckQueryTemplate("m{a=\"x}").message(), HasSubstr("unterminated"));
  EXPECT_THAT(CheckQueryTemplate(" ").message(), HasSubstr("empty"));
}

}  // namespace
}  // namespace triage::rules
