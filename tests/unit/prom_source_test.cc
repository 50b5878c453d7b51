#include "triage/sources/prom_source.h"

#include <cmath>

#include "collectors/alertmanager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::sources {
namespace {

using ::testing::HasSubstr;

TEST(PromSourceTest, StepKeepsEverySeriesUnderTheEnginesPointLimit) {
  const int64_t day = 24 * 3600 * 1000LL;
  EXPECT_EQ(StepFor(0, 3600 * 1000, 60'000, 11'000), 60'000);
  EXPECT_EQ(StepFor(0, 7 * day, 60'000, 11'000), 60'000);  // 10,081 points.
  int64_t step = StepFor(0, 30 * day, 60'000, 11'000);
  EXPECT_EQ(step % 1000, 0);
  EXPECT_LE(30 * day / step + 1, 11'000);
  EXPECT_GT(30 * day / (step - 1000) + 1, 11'000) << "no coarser than it must be";
  EXPECT_EQ(StepFor(0, 1000, 1, 11'000), 1000) << "whole seconds at least";
}

TEST(PromSourceTest, ReadsMatrixVectorAndScalarAnswers) {
  absl::StatusOr<std::vector<PromSample>> m = ParsePromAnswer(
      200,
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"m","service":"s"},"values":[[1700000000,"1.5"],[1700000060.5,"NaN"]]}]}})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].labels.at("service"), "s");
  EXPECT_EQ((*m)[0].points[0], (std::pair<int64_t, double>{1700000000000, 1.5}));
  EXPECT_EQ((*m)[0].points[1].first, 1700000060500);
  EXPECT_TRUE(std::isnan((*m)[0].points[1].second));
  absl::StatusOr<std::vector<PromSample>> v = ParsePromAnswer(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"le":"+Inf"},"value":[1,"+Inf"]}]}})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(std::isinf((*v)[0].points[0].second));
  absl::StatusOr<std::vector<PromSample>> s = ParsePromAnswer(
      200, R"({"status":"success","data":{"resultType":"scalar","result":[2,"3"]}})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)[0].points[0].second, 3);
}

TEST(PromSourceTest, TheEnginesErrorsAreSaidAsItSaidThem) {
  absl::StatusOr<std::vector<PromSample>> e = ParsePromAnswer(
      400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"})");
  EXPECT_THAT(e.status().message(), HasSubstr("HTTP 400: bad_data: 1:5: parse error"));
  EXPECT_THAT(ParsePromAnswer(502, "<html>Bad Gateway</html>").status().message(),
              HasSubstr("HTTP 502: not a query API answer"));
  EXPECT_THAT(ParsePromAnswer(200, R"({"status":"success","data":{}})").status().message(),
              HasSubstr("no data.result"));
  EXPECT_THAT(ParsePromAnswer(200, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                                   R"({"metric":{},"values":[["x","1"]]}]}})")
                  .status()
                  .message(),
              HasSubstr("bad point"));
}

TEST(PromSourceTest, GeneratorUrlGivesTheExpressionThatFired) {
  EXPECT_EQ(
      collectors::GeneratorExpr(
          "http://prom:9090/graph?g0.expr=rate%28x_total%7Bservice%3D%22a%22%7D%5B5m%5D%29+%3E+5"
          "&g0.tab=1"),
      "rate(x_total{service=\"a\"}[5m]) > 5");
  EXPECT_EQ(collectors::GeneratorExpr("http://prom/graph?g0.tab=1&g0.expr=up+%3D%3D+0#x"),
            "up == 0");
  EXPECT_EQ(collectors::GeneratorExpr("http://prom/graph"), "");
  EXPECT_EQ(collectors::GeneratorExpr("http://prom/graph?g1.expr=up"), "");
  EXPECT_EQ(collectors::GeneratorExpr("http://prom/graph?g0.expr=%zz"), "%zz");
}

}  // namespace
}  // namespace triage::sources
