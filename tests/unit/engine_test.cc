#include "rules/engine.h"

#include <atomic>
#include <cmath>

#include "tests/unit/engine_fixture.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using triage::testing::Change;
using triage::testing::Dependency;
using triage::testing::Numeric;

TEST_F(EngineTest, HealthyDataIsClearEverywhereAndEscalatesAsRareClass) {
  v1::TriageReport r = Walk();
  EXPECT_THAT(Verdicts(r),
              ElementsAre("code_deploy=CLEAR", "model_version=CLEAR", "config_change=CLEAR",
                          "prompt_template=CLEAR", "upstream_data=CLEAR", "feature_drift=CLEAR",
                          "eval_staleness=CLEAR", "ui_deploy=CLEAR", "external_traffic=CLEAR",
                          "managed_service=CLEAR"));
  EXPECT_EQ(r.localized_category(), kRareClass);
  EXPECT_THAT(r.blind_spots(), IsEmpty());
  EXPECT_THAT(r.escalation(), HasSubstr("incident-commander"));
  EXPECT_EQ(ToMs(r.onset()), kOnset);
  EXPECT_EQ(ToMs(r.now()), kNow);
  EXPECT_TRUE(r.onsets(0).detected());
  EXPECT_THAT(r.dependencies(), ElementsAre("dep", "src", "svc"));
  for (const auto& v : r.verdicts()) {
    EXPECT_FALSE(v.evidence().empty()) << v.category();
    EXPECT_GE(v.check_ms(), 0) << v.category();
  }
}

TEST_F(EngineTest, NoDataIsNeverClear) {
  batch_.Clear();
  quality_.Clear();
  quality_.set_metric("quality");
  v1::TriageReport r = Walk();
  // An empty change log is no change feed (v1.2, change-feed coverage).
  EXPECT_THAT(Verdicts(r),
              ElementsAre("code_deploy=NO_DATA", "model_version=NO_DATA", "config_change=NO_DATA",
                          "prompt_template=NO_DATA", "upstream_data=NO_DATA",
                          "feature_drift=NO_DATA", "eval_staleness=NO_DATA", "ui_deploy=NO_DATA",
                          "external_traffic=NO_DATA", "managed_service=CLEAR"));
  EXPECT_EQ(r.localized_category(), kRareClass);
  std::vector<std::string> blind;
  for (const auto& b : r.blind_spots()) blind.push_back(b.category());
  EXPECT_THAT(blind, ElementsAre("code_deploy", "model_version", "config_change",
                                 "prompt_template", "upstream_data", "feature_drift",
                                 "eval_staleness", "ui_deploy", "external_traffic"));
  EXPECT_THAT(r.escalation(),
              HasSubstr("upstream_data, feature_drift, eval_staleness, ui_deploy, external_traffic"));
  // No series: onset = now, and the report says so.
  EXPECT_EQ(ToMs(r.onset()), kNow);
  EXPECT_FALSE(r.onsets(0).detected());
  EXPECT_THAT(r.onsets(0).note(), HasSubstr("no series quality"));
}

TEST_F(EngineTest, CheaperHitWinsOverALaterOne) {
  *batch_.add_changes() = Change("c", "config", "svc", kOnset - kHourMs);
  AddProbe(kNow, 0.2);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "config_change");
  EXPECT_EQ(Verdict(r, "managed_service").verdict(), v1::HIT);
}

TEST_F(EngineTest, SharedDependenciesForSeveralAlertedServices) {
  *batch_.add_dependencies() = Dependency("svc2", {"dep"});
  *batch_.add_changes() = Change("m", "model_version", "dep", kOnset - kHourMs, "v1");
  AddAlert("svc2", "accuracy", kNow + 4 * kMinuteMs);
  v1::TriageReport r = Walk();
  EXPECT_EQ(ToMs(r.now()), kNow + 4 * kMinuteMs);
  ASSERT_EQ(r.shared_dependencies_size(), 1);
  EXPECT_EQ(r.shared_dependencies(0).service(), "dep");
  EXPECT_THAT(r.shared_dependencies(0).alerted_services(), ElementsAre("svc", "svc2"));
  EXPECT_THAT(r.services(), ElementsAre("svc", "svc2"));
  EXPECT_EQ(r.localized_category(), "model_version");
  EXPECT_EQ(r.onsets_size(), 2);
  EXPECT_FALSE(r.onsets(1).detected());  // svc2 has no accuracy series.
}

TEST_F(EngineTest, TheTreeIsData) {
  absl::StatusOr<v1::Tree> tree = ParseTree("t", R"(
    category { id: "drift_first" cost_minutes: 1 mitigation: "m" owner: "o"
               feature_drift { threshold: 0.0001 } }
    category { id: "deploys" cost_minutes: 1 mitigation: "m" change_log { kinds: "code_deploy" } })");
  ASSERT_TRUE(tree.ok()) << tree.status();
  tree_ = *tree;
  *batch_.add_changes() = Change("c", "code_deploy", "svc", kOnset - kHourMs);
  *batch_.add_histograms() = Numeric("svc", "f1", kNow - 30 * kMinuteMs, kNow + 30 * kMinuteMs,
                                     {0, 1, 2, 3}, {12, 20, 30});
  v1::TriageReport r = Walk();
  EXPECT_THAT(Verdicts(r), ElementsAre("drift_first=HIT", "deploys=HIT"));
  EXPECT_EQ(r.localized_category(), "drift_first");
  EXPECT_EQ(r.owner(), "o");
}

TEST_F(EngineTest, LearnedOrderIsUsedAndReported) {
  tree_.set_ordering(v1::Tree::LEARNED);
  RootCauseHistory history{{{"managed_service", 20}}, 20};
  *batch_.add_series() = quality_;
  source_->Write(batch_);
  absl::StatusOr<v1::TriageReport> r = Engine(tree_, source_->sources(), &history).Walk(incident_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ordering(), "learned");
  EXPECT_EQ(r->verdicts(0).category(), "managed_service");
  EXPECT_EQ(r->history_incidents(), 20);
  EXPECT_LT(r->expected_minutes(), r->expected_minutes_cost_order());
  absl::StatusOr<v1::TriageReport> plain =
      Engine(*DefaultTree(), source_->sources()).Walk(incident_);
  EXPECT_EQ(plain->ordering(), "cost");
  EXPECT_EQ(plain->verdicts(0).category(), "code_deploy");
}

// A metrics engine that does not answer.
class DownMetrics : public MetricSource {
 public:
  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const SeriesQuery& q) const override {
    ++reads;
    last_query = q.query;
    return absl::UnavailableError("metrics source: connection refused");
  }
  std::string Name() const override { return "http://engine:9090"; }
  mutable std::atomic<int> reads{0};
  mutable std::string last_query;
};

TEST_F(EngineTest, MetricsSourceDownIsNoDataWithTheReasonNeverClear) {
  *batch_.add_changes() = Change("c", "code_deploy", "svc", kOnset - 5 * kMinuteMs);
  *batch_.add_series() = quality_;
  source_->Write(batch_);
  DownMetrics down;
  Sources sources = source_->sources();
  sources.metrics = &down;
  absl::StatusOr<v1::TriageReport> r = Engine(tree_, sources).Walk(incident_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(down.reads, 1) << "one failed read; the rest of the walk does not wait again";
  for (const v1::CategoryVerdict& v : r->verdicts()) {
    if (v.category() == "feature_drift" || v.category() == "eval_staleness") continue;
    EXPECT_EQ(v.verdict(), v1::NO_DATA) << v.category();
    EXPECT_THAT(v.evidence(), HasSubstr("metrics source: connection refused")) << v.category();
  }
  EXPECT_EQ(r->localized_category(), "rare_class");
  EXPECT_FALSE(r->onsets(0).detected());
  EXPECT_THAT(r->onsets(0).note(), HasSubstr("connection refused"));
  ASSERT_GE(r->queries_size(), 1);
  EXPECT_EQ(r->queries(0).source(), "http://engine:9090");
  EXPECT_EQ(r->queries(0).query(), "quality{service=\"svc\"}");
  EXPECT_THAT(r->queries(0).error(), HasSubstr("connection refused"));
}

TEST_F(EngineTest, TheTreesQueryThenTheAlertsExpressionDrawTheMetric) {
  incident_.mutable_alerts(0)->set_expr("avg(quality{service=\"svc\"}) < 0.7");
  DownMetrics down;
  *batch_.add_series() = quality_;
  source_->Write(batch_);
  Sources sources = source_->sources();
  sources.metrics = &down;
  (void)Engine(tree_, sources).Walk(incident_);
  EXPECT_EQ(down.last_query, "avg(quality{service=\"svc\"})");
  (*tree_.mutable_settings()->mutable_metric_queries())["quality"] =
      "avg by (service) (quality_sum{service=\"$service\"})";
  absl::StatusOr<v1::TriageReport> r = Engine(tree_, sources).Walk(incident_);
  EXPECT_EQ(down.last_query, "avg by (service) (quality_sum{service=\"svc\"})");
  EXPECT_EQ(r->onsets(0).query(), down.last_query);
}

TEST_F(EngineTest, EveryMetricReadIsListedOnTheReport) {
  v1::TriageReport r = Walk();
  ASSERT_GE(r.queries_size(), 2);  // The onset and the traffic mix.
  EXPECT_EQ(r.queries(0).source(), "embedded");
  EXPECT_EQ(r.queries(0).query(), "quality{service=\"svc\"}");
  EXPECT_EQ(r.queries(0).series(), 1);
  EXPECT_TRUE(r.queries(0).error().empty());
}

}  // namespace
}  // namespace triage::rules
