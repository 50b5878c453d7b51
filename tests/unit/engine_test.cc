#include "rules/engine.h"

#include <atomic>
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/tree.h"
#include "tests/unit/memory_source.h"
#include "tests/unit/test_records.h"

namespace triage::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using triage::testing::AddPoint;
using triage::testing::Change;
using triage::testing::Dependency;
using triage::testing::MemorySource;
using triage::testing::Numeric;

const int64_t kNow = *ParseRfc3339("2026-05-01T03:00:00Z");
const int64_t kOnset = kNow - 50 * kMinuteMs;  // Where the alerted metric steps down.

double Noise(int64_t m) { return 0.004 * std::sin(m * 1.7) + 0.002 * std::cos(m * 0.31); }

// A world where every category has data and nothing implicates any: svc
// depends on dep and src; web consumes svc; other is unrelated.
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = std::make_unique<MemorySource>();
    batch_.Clear();
    incident_.Clear();
    *batch_.add_dependencies() = Dependency("svc", {"dep", "src"});
    *batch_.add_dependencies() = Dependency("web", {"svc"});
    *batch_.add_dependencies() = Dependency("other", {});
    quality_ = triage::testing::Series("quality", {{"service", "svc"}});
    v1::Series web = triage::testing::Series("requests", {{"service", "svc"}, {"source", "web"}});
    v1::Series app = triage::testing::Series("requests", {{"service", "svc"}, {"source", "app"}});
    for (int64_t m = 7 * 24 * 60; m >= 0; --m) {
      AddPoint(&quality_, kNow - m * kMinuteMs, (m <= 50 ? 0.6 : 0.78) + Noise(m));
      AddPoint(&web, kNow - m * kMinuteMs, 100);
      AddPoint(&app, kNow - m * kMinuteMs, 50);
    }
    *batch_.add_series() = web;
    *batch_.add_series() = app;
    for (int64_t h = 30 * 24; h >= 1; --h) {
      int64_t start = kNow - h * kHourMs;
      *batch_.add_histograms() =
          Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
      v1::Histogram* cat = batch_.add_histograms();
      cat->set_service("dep");
      cat->set_feature("locale");
      *cat->mutable_start() = FromMs(start);
      *cat->mutable_end() = FromMs(start + kHourMs);
      (*cat->mutable_categories())["en"] = 50;
      (*cat->mutable_categories())["ja"] = 50;
    }
    for (int64_t h = 8 * 24; h >= 0; --h) AddUpstream(kNow - h * kHourMs, 1000, "fp1");
    v1::EvalSet* e = batch_.add_eval_sets();
    e->set_service("svc");
    e->set_name("golden");
    *e->mutable_time() = FromMs(kNow - kHourMs);
    *e->mutable_refreshed_at() = FromMs(kNow - 5 * kDayMs);
    e->set_catalog_turnover(0.02);
    for (int64_t m = 24 * 60; m >= 0; m -= 10) AddProbe(kNow - m * kMinuteMs, 0.9);

    incident_.set_id("inc");
    AddAlert("svc", "quality", kNow);
    tree_ = *DefaultTree();
  }

  v1::Upstream* AddUpstream(int64_t t, int64_t rows, const std::string& fp) {
    v1::Upstream* u = batch_.add_upstreams();
    u->set_source("src");
    u->set_consumer("svc");
    *u->mutable_time() = FromMs(t);
    u->set_row_count(rows);
    u->set_schema_fingerprint(fp);
    *u->mutable_last_seen() = FromMs(t - 2 * kMinuteMs);
    u->set_freshness_sla_seconds(7200);
    return u;
  }

  void AddProbe(int64_t t, double value) {
    v1::DependencyHealth* d = batch_.add_dependency_health();
    d->set_service("dep");
    d->set_check("recall");
    *d->mutable_time() = FromMs(t);
    d->set_value(value);
    d->set_min(0.85);
  }

  void AddAlert(const std::string& service, const std::string& metric, int64_t fired) {
    v1::Alert* a = incident_.add_alerts();
    a->set_service(service);
    a->set_metric(metric);
    *a->mutable_fired_at() = FromMs(fired);
  }

  v1::TriageReport Walk() {
    *batch_.add_series() = quality_;
    source_->Write(batch_);
    absl::StatusOr<v1::TriageReport> r = Engine(tree_, source_->sources()).Walk(incident_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::TriageReport();
  }

  static const v1::CategoryVerdict& Verdict(const v1::TriageReport& r, const std::string& id) {
    for (const auto& v : r.verdicts()) {
      if (v.category() == id) return v;
    }
    ADD_FAILURE() << "no verdict for " << id;
    return r.verdicts(0);
  }

  static std::vector<std::string> Verdicts(const v1::TriageReport& r) {
    std::vector<std::string> out;
    for (const auto& v : r.verdicts())
      out.push_back(v.category() + "=" + v1::Verdict_Name(v.verdict()));
    return out;
  }

  std::unique_ptr<MemorySource> source_;
  v1::RecordBatch batch_;
  v1::Series quality_;
  v1::Incident incident_;
  v1::Tree tree_;
};

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
  EXPECT_THAT(Verdicts(r),
              ElementsAre("code_deploy=CLEAR", "model_version=CLEAR", "config_change=CLEAR",
                          "prompt_template=CLEAR", "upstream_data=NO_DATA", "feature_drift=NO_DATA",
                          "eval_staleness=NO_DATA", "ui_deploy=CLEAR", "external_traffic=NO_DATA",
                          "managed_service=CLEAR"));
  EXPECT_EQ(r.localized_category(), kRareClass);
  std::vector<std::string> blind;
  for (const auto& b : r.blind_spots()) blind.push_back(b.category());
  EXPECT_THAT(blind,
              ElementsAre("upstream_data", "feature_drift", "eval_staleness", "external_traffic"));
  EXPECT_THAT(r.escalation(),
              HasSubstr("upstream_data, feature_drift, eval_staleness, external_traffic"));
  // No series: onset = now, and the report says so.
  EXPECT_EQ(ToMs(r.onset()), kNow);
  EXPECT_FALSE(r.onsets(0).detected());
  EXPECT_THAT(r.onsets(0).note(), HasSubstr("no series quality"));
}

TEST_F(EngineTest, ChangeLogCategoriesHitOnCandidateChanges) {
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

TEST_F(EngineTest, PrimeSuspectIsTheNewestCandidateWithARollbackHint) {
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

TEST_F(EngineTest, CandidateWindowEdges) {
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

TEST_F(EngineTest, ChangesOutsideDepsDoNotCount) {
  *batch_.add_changes() = Change("c1", "code_deploy", "other", kOnset - kHourMs);
  *batch_.add_changes() = Change("c2", "code_deploy", "web", kOnset - kHourMs);  // A consumer.
  *batch_.add_changes() = Change("c3", "ui_deploy", "other", kOnset - kHourMs);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), kRareClass);
}

TEST_F(EngineTest, CheaperHitWinsOverALaterOne) {
  *batch_.add_changes() = Change("c", "config", "svc", kOnset - kHourMs);
  AddProbe(kNow, 0.2);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "config_change");
  EXPECT_EQ(Verdict(r, "managed_service").verdict(), v1::HIT);
}

TEST_F(EngineTest, UpstreamRowsBelowSeventyPercentOfTheMedian) {
  AddUpstream(kNow, 690, "fp1");
  EXPECT_EQ(Walk().localized_category(), "upstream_data");
}

TEST_F(EngineTest, UpstreamRowsAtSeventyPercentAreClear) {
  AddUpstream(kNow, 700, "fp1");
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(EngineTest, UpstreamSchemaSwitchInsideTheWindow) {
  AddUpstream(kNow - 30 * kMinuteMs, 1000, "fp2");
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "upstream_data");
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("schema switched fp1 -> fp2"));
}

TEST_F(EngineTest, UpstreamSchemaSwitchBeforeTheWindowIsClear) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 0; --h) {
    AddUpstream(kNow - h * kHourMs, 1000, h > 30 ? "fp0" : "fp1");
  }
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(EngineTest, UpstreamFreshnessBreach) {
  v1::Upstream* u = AddUpstream(kNow, 1000, "fp1");
  *u->mutable_last_seen() = FromMs(kNow - 3 * kHourMs);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "upstream_data");
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("freshness SLA"));
}

TEST_F(EngineTest, UpstreamReportsOlderThanADayAreNoData) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 25; --h)
    AddUpstream(kNow - h * kHourMs, 1000, "fp1")->clear_last_seen();
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::NO_DATA);
  ASSERT_EQ(r.blind_spots_size(), 1);
  EXPECT_EQ(r.blind_spots(0).category(), "upstream_data");
}

TEST_F(EngineTest, UpstreamThatStoppedReportingBreachesFreshness) {
  batch_.clear_upstreams();
  for (int64_t h = 8 * 24; h >= 25; --h) AddUpstream(kNow - h * kHourMs, 1000, "fp1");
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "upstream_data").verdict(), v1::HIT);
  EXPECT_THAT(Verdict(r, "upstream_data").evidence(), HasSubstr("freshness SLA"));
}

TEST_F(EngineTest, FeatureDriftAboveThreshold) {
  *batch_.add_histograms() = Numeric("svc", "f1", kNow - 30 * kMinuteMs, kNow + 30 * kMinuteMs,
                                     {0, 1, 2, 3}, {300, 20, 10});
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "feature_drift");
  const v1::CategoryVerdict& v = Verdict(r, "feature_drift");
  ASSERT_GE(v.drift_size(), 2);
  EXPECT_EQ(v.drift(0).feature(), "f1");
  EXPECT_GT(v.drift(0).kl(), 0.1);
  EXPECT_EQ(v.drift(0).threshold(), 0.1);
  EXPECT_GE(v.drift(0).baseline_hours(), 24);
  // The compared distributions, for the page.
  EXPECT_THAT(v.drift(0).bins(), ElementsAre("[0, 1)", "[1, 2)", "[2, 3)"));
  // Current: the new histogram plus the hourly one of [now-1h, now) that overlaps too.
  EXPECT_NEAR(v.drift(0).current_share(0), 310.0 / 390, 1e-9);
  EXPECT_NEAR(v.drift(0).baseline_share(2), 0.5, 1e-9);
}

TEST_F(EngineTest, CategoricalDriftOnADependency) {
  v1::Histogram* cat = batch_.add_histograms();
  cat->set_service("dep");
  cat->set_feature("locale");
  *cat->mutable_start() = FromMs(kNow - 10 * kMinuteMs);
  *cat->mutable_end() = FromMs(kNow + 50 * kMinuteMs);
  (*cat->mutable_categories())["en"] = 50;
  (*cat->mutable_categories())["mixed"] = 400;  // A category the baseline never saw.
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "feature_drift");
  EXPECT_EQ(Verdict(r, "feature_drift").drift(0).feature(), "locale");
  EXPECT_THAT(Verdict(r, "feature_drift").drift(0).bins(), ElementsAre("en", "ja", "mixed"));
}

TEST_F(EngineTest, PerFeatureThresholdFromTheTree) {
  *batch_.add_histograms() = Numeric("svc", "f1", kNow - 30 * kMinuteMs, kNow + 30 * kMinuteMs,
                                     {0, 1, 2, 3}, {300, 20, 10});
  for (v1::Category& c : *tree_.mutable_category()) {
    if (c.has_feature_drift())
      (*c.mutable_feature_drift()->mutable_feature_thresholds())["f1"] = 50;
  }
  EXPECT_EQ(Walk().localized_category(), kRareClass);
}

TEST_F(EngineTest, FeatureDriftWithLessThanADayOfBaselineIsNoData) {
  batch_.clear_histograms();
  for (int64_t h = 47; h >= 1; --h) {  // Baseline [now-47h, now-24h) is 23 hours.
    int64_t start = kNow - h * kHourMs;
    *batch_.add_histograms() =
        Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
  }
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "feature_drift").verdict(), v1::NO_DATA);
  EXPECT_THAT(Verdict(r, "feature_drift").evidence(), HasSubstr("less than 24h of baseline"));
}

TEST_F(EngineTest, FeatureDriftWithoutCurrentHistogramsIsNoData) {
  batch_.clear_histograms();
  for (int64_t h = 30 * 24; h >= 3; --h) {
    int64_t start = kNow - h * kHourMs;
    *batch_.add_histograms() =
        Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
  }
  EXPECT_EQ(Verdict(Walk(), "feature_drift").verdict(), v1::NO_DATA);
}

TEST_F(EngineTest, EvalStalenessNeedsBothAgeAndTurnover) {
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

TEST_F(EngineTest, UiDeployOnAConsumerHits) {
  *batch_.add_changes() = Change("ui", "ui_deploy", "web", kOnset - 10 * kMinuteMs);
  EXPECT_EQ(Walk().localized_category(), "ui_deploy");
}

TEST_F(EngineTest, TrafficMixShift) {
  v1::Series social =
      triage::testing::Series("requests", {{"service", "svc"}, {"source", "social"}});
  for (int64_t m = 7 * 24 * 60; m >= 0; --m)
    AddPoint(&social, kNow - m * kMinuteMs, m <= 60 ? 400 : 5);
  *batch_.add_series() = social;
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "external_traffic");
  EXPECT_GT(Verdict(r, "external_traffic").drift(0).kl(), 0.1);
}

TEST_F(EngineTest, TrafficWithoutRequestsOrCampaignsIsNoData) {
  batch_.clear_series();
  v1::TriageReport r = Walk();
  EXPECT_EQ(Verdict(r, "external_traffic").verdict(), v1::NO_DATA);
}

TEST_F(EngineTest, ManagedServiceProbeOutsideItsBand) {
  AddProbe(kNow, 0.43);
  v1::TriageReport r = Walk();
  EXPECT_EQ(r.localized_category(), "managed_service");
  EXPECT_THAT(Verdict(r, "managed_service").evidence(), HasSubstr("dep/recall = 0.43"));
}

TEST_F(EngineTest, ManagedServiceUsesTheLatestProbeAtOrBeforeNow) {
  AddProbe(kNow - 5 * kMinuteMs, 0.43);
  AddProbe(kNow - 2 * kMinuteMs, 0.9);  // Recovered.
  AddProbe(kNow + 5 * kMinuteMs, 0.1);  // After now: not seen yet.
  EXPECT_EQ(Walk().localized_category(), kRareClass);
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
