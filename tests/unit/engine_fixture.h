// The world the engine's tests and each check kind's tests walk (rules/
// engine.h, rules/checks/): every category has data and nothing implicates
// any, so a test adds the one thing it is about and walks.
#pragma once

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/engine.h"
#include "rules/tree.h"
#include "tests/unit/memory_source.h"
#include "tests/unit/test_records.h"

namespace triage::rules {

inline const int64_t kNow = *ParseRfc3339("2026-05-01T03:00:00Z");
inline const int64_t kOnset = kNow - 50 * kMinuteMs;  // Where the alerted metric steps down.

inline double Noise(int64_t m) { return 0.004 * std::sin(m * 1.7) + 0.002 * std::cos(m * 0.31); }

// A world where every category has data and nothing implicates any: svc
// depends on dep and src; web consumes svc; other is unrelated.
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = std::make_unique<triage::testing::MemorySource>();
    batch_.Clear();
    incident_.Clear();
    *batch_.add_dependencies() = triage::testing::Dependency("svc", {"dep", "src"});
    *batch_.add_dependencies() = triage::testing::Dependency("web", {"svc"});
    *batch_.add_dependencies() = triage::testing::Dependency("other", {});
    quality_ = triage::testing::Series("quality", {{"service", "svc"}});
    v1::Series web = triage::testing::Series("requests", {{"service", "svc"}, {"source", "web"}});
    v1::Series app = triage::testing::Series("requests", {{"service", "svc"}, {"source", "app"}});
    for (int64_t m = 7 * 24 * 60; m >= 0; --m) {
      triage::testing::AddPoint(&quality_, kNow - m * kMinuteMs, (m <= 50 ? 0.6 : 0.78) + Noise(m));
      triage::testing::AddPoint(&web, kNow - m * kMinuteMs, 100);
      triage::testing::AddPoint(&app, kNow - m * kMinuteMs, 50);
    }
    *batch_.add_series() = web;
    *batch_.add_series() = app;
    for (int64_t h = 30 * 24; h >= 1; --h) {
      int64_t start = kNow - h * kHourMs;
      *batch_.add_histograms() =
          triage::testing::Numeric("svc", "f1", start, start + kHourMs, {0, 1, 2, 3}, {10, 20, 30});
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
    // Every change feed is connected: a change of each kind 20 days ago.
    for (const char* kind : {"code_deploy", "model_version", "config", "prompt_template",
                             "ui_deploy"}) {
      *batch_.add_changes() =
          triage::testing::Change(std::string("feed-") + kind, kind, "svc", kNow - 20 * kDayMs);
    }

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

  std::unique_ptr<triage::testing::MemorySource> source_;
  v1::RecordBatch batch_;
  v1::Series quality_;
  v1::Incident incident_;
  v1::Tree tree_;
};

}  // namespace triage::rules
