// Feature roll-ups (triage/store/feature_days.cc): the drift sums read from
// per-day roll-ups equal those of every histogram summed one by one, for any
// window, however the histograms were written; a write after a read changes
// the next read (the cache is invalidated).
#include <random>

#include "gtest/gtest.h"
#include "proto/model/time.h"
#include "rules/sources.h"
#include "tests/unit/test_records.h"
#include "triage/store/store.h"

namespace triage::store {
namespace {

using triage::testing::MemStore;
using triage::testing::Numeric;

constexpr int64_t kH = 3600'000;
constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z, on the hour.

v1::Histogram Categorical(const std::string& feature, int64_t start, int64_t end,
                          std::map<std::string, double> cats) {
  v1::Histogram h = Numeric("svc", feature, start, end, {}, {});
  h.mutable_categories()->insert(cats.begin(), cats.end());
  return h;
}

// Ten days of hourly histograms of two numeric features and a categorical
// one, with a few of other lengths (2 h across midnight, 15 min, a day).
std::vector<v1::Histogram> History(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> count(0, 50);
  std::vector<v1::Histogram> out;
  const int64_t from = kT - 10 * 24 * kH;
  for (int64_t t = from; t < kT + 2 * kH; t += kH) {
    out.push_back(
        Numeric("svc", "a", t, t + kH, {0, 1, 2, 3}, {double(count(rng)), 0, double(count(rng))}));
    out.push_back(Numeric("svc", "b", t, t + kH, {0, 10}, {double(count(rng))}));
    out.push_back(
        Categorical("c", t, t + kH, {{"en", count(rng)}, {count(rng) > 25 ? "fr" : "de", 3}}));
  }
  out.push_back(
      Numeric("svc", "b", kT - 3 * 24 * kH - 1 * kH, kT - 3 * 24 * kH + kH, {0, 10}, {7}));
  out.push_back(Numeric("svc", "b", kT - 30 * 60'000, kT - 15 * 60'000, {0, 10}, {5}));
  out.push_back(Numeric("svc", "a", kT - 5 * 24 * kH - 3 * kH, kT - 4 * 24 * kH - 3 * kH,
                        {0, 1, 2, 3}, {1, 2, 3}));
  return out;
}

// The sums of every histogram of `service`, one by one (what the roll-ups must equal).
std::vector<rules::FeatureSums> Expected(Store& store, const rules::DriftWindow& w) {
  rules::FeatureAccumulator acc(w);
  absl::StatusOr<std::vector<v1::Histogram>> hs =
      store.Histograms("svc", std::min(w.baseline_from, w.current_from), w.now);
  for (const v1::Histogram& h : *hs) acc.Add(h);
  return acc.Finish();
}

void ExpectSame(const std::vector<rules::FeatureSums>& got,
                const std::vector<rules::FeatureSums>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(where + " " + want[i].feature);
    EXPECT_EQ(got[i].feature, want[i].feature);
    EXPECT_EQ(got[i].categorical, want[i].categorical);
    EXPECT_EQ(got[i].edges, want[i].edges);
    EXPECT_EQ(got[i].current, want[i].current);
    EXPECT_EQ(got[i].baseline, want[i].baseline);
    EXPECT_EQ(got[i].current_cat, want[i].current_cat);
    EXPECT_EQ(got[i].baseline_cat, want[i].baseline_cat);
    EXPECT_EQ(got[i].current_total, want[i].current_total);
    EXPECT_EQ(got[i].baseline_total, want[i].baseline_total);
    EXPECT_EQ(got[i].baseline_covered_ms, want[i].baseline_covered_ms);
  }
}

// Windows at and between hours, days, and with edges inside and outside the data.
std::vector<rules::DriftWindow> Windows() {
  std::vector<rules::DriftWindow> out;
  for (int64_t now : {kT, kT - 2 * kH - 7 * 60'000, kT - 3 * kH, kT + kH, kT - 6 * 24 * kH}) {
    out.push_back({.current_from = now - kH,
                   .now = now,
                   .baseline_from = now - 30 * 24 * kH,
                   .baseline_to = now - 24 * kH,
                   .histogram_metric = "",
                   .feature_label = ""});
    out.push_back({.current_from = now - 6 * kH,
                   .now = now,
                   .baseline_from = now - 4 * 24 * kH,
                   .baseline_to = now - 2 * kH,
                   .histogram_metric = "",
                   .feature_label = ""});
  }
  return out;
}

TEST(FeatureDaysTest, RollUpsEqualEveryHistogramSummedThroughWrite) {
  MemStore store;
  std::vector<v1::Histogram> hs = History(1);
  // In several batches, out of order, some histograms twice (the later wins).
  std::shuffle(hs.begin(), hs.end(), std::mt19937(7));
  for (size_t i = 0; i < hs.size(); i += 50) {
    v1::RecordBatch b;
    for (size_t j = i; j < std::min(hs.size(), i + 50); ++j) *b.add_histograms() = hs[j];
    ASSERT_TRUE(store->Write(b).ok());
  }
  std::vector<v1::Histogram> again = History(2);
  v1::RecordBatch b;
  for (size_t j = 0; j < again.size(); j += 7) *b.add_histograms() = again[j];
  ASSERT_TRUE(store->Write(b).ok());
  for (const rules::DriftWindow& w : Windows()) {
    ExpectSame(*store->FeatureDistributions("svc", w), Expected(*store, w), FormatRfc3339(w.now));
  }
}

TEST(FeatureDaysTest, RollUpsEqualEveryHistogramSummedThroughBulk) {
  MemStore store;
  std::vector<v1::Histogram> hs = History(3);
  v1::RecordBatch first;  // Some stored before the bulk, which then replaces a few.
  for (size_t j = 0; j < hs.size(); j += 3) *first.add_histograms() = hs[j];
  ASSERT_TRUE(store->Write(first).ok());
  std::vector<v1::Histogram> again = History(4);
  auto bulk = *store->BeginBulk();
  for (size_t i = 0; i < again.size(); i += 40) {
    v1::RecordBatch b;
    for (size_t j = i; j < std::min(again.size(), i + 40); j += 2) *b.add_histograms() = again[j];
    ASSERT_TRUE(bulk->Add(b).ok());
  }
  ASSERT_TRUE(bulk->Commit().ok());
  for (const rules::DriftWindow& w : Windows()) {
    ExpectSame(*store->FeatureDistributions("svc", w), Expected(*store, w), FormatRfc3339(w.now));
  }
}

TEST(FeatureDaysTest, AWriteAfterAReadChangesTheNextRead) {
  MemStore store;
  const rules::DriftWindow w = Windows()[0];
  v1::RecordBatch b;
  *b.add_histograms() = Numeric("svc", "a", kT - kH, kT, {0, 1, 2}, {1, 1});
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(store->FeatureDistributions("svc", w)->at(0).current_total, 2);
  EXPECT_EQ(store->FeatureDistributions("svc", w)->at(0).current_total, 2) << "cached";
  b.mutable_histograms(0)->set_counts(0, 5);  // The same histogram, replaced.
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(store->FeatureDistributions("svc", w)->at(0).current_total, 6);
  auto bulk = *store->BeginBulk();
  *b.mutable_histograms(0) =
      Numeric("svc", "a", kT - 3 * 24 * kH, kT - 3 * 24 * kH + kH, {0, 1, 2}, {4, 0});
  ASSERT_TRUE(bulk->Add(b).ok());
  EXPECT_EQ(store->FeatureDistributions("svc", w)->at(0).baseline_total, 0) << "not committed";
  ASSERT_TRUE(bulk->Commit().ok());
  EXPECT_EQ(store->FeatureDistributions("svc", w)->at(0).baseline_total, 4);
}

}  // namespace
}  // namespace triage::store
