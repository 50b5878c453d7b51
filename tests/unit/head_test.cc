// The head (triage/store/head.h): its log records, its merge with chunks,
// and the store's points going through it (appended, read, flushed, read
// back after a reopen).
#include "triage/store/head.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_records.h"
#include "triage/store/store.h"

namespace triage::store {
namespace {

using triage::testing::AddPoint;
using triage::testing::MemStore;

constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z

TEST(HeadTest, RecordsRoundTripEveryValueBitForBit) {
  const std::vector<HeadPoint> points = {
      {1, kT, 0.78},
      {70000, kT - 5000, std::numeric_limits<double>::quiet_NaN()},  // Time going back.
      {3, std::numeric_limits<int64_t>::max(), -std::numeric_limits<double>::infinity()},
      {4, std::numeric_limits<int64_t>::min(), -0.0}};
  std::string record;
  EncodeHeadRecord(points, &record);
  std::vector<HeadPoint> back;
  ASSERT_TRUE(DecodeHeadRecord(record, &back).ok());
  ASSERT_EQ(back.size(), points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(back[i].id, points[i].id);
    EXPECT_EQ(back[i].t, points[i].t);
    EXPECT_EQ(std::bit_cast<uint64_t>(back[i].v), std::bit_cast<uint64_t>(points[i].v));
  }
  back.clear();
  EXPECT_TRUE(absl::IsDataLoss(DecodeHeadRecord(record.substr(0, record.size() - 1), &back)));
  EXPECT_TRUE(absl::IsDataLoss(DecodeHeadRecord(record + "x", &back)));
  EXPECT_TRUE(absl::IsDataLoss(DecodeHeadRecord("\xff\xff\xff\x0f", &back)));
}

TEST(HeadTest, NewestPointsMergeIntoChunksInTimeOrderAndWinEqualTimes) {
  std::vector<Sample> sorted = {{1, 1}, {2, 2}, {3, 3}};
  const std::vector<Sample> newest = {{2, 20}, {4, 40}, {2, 21}, {0, 0}};
  MergeNewest(newest, &sorted);
  ASSERT_EQ(sorted.size(), 5u);
  const std::vector<std::pair<int64_t, double>> want = {{0, 0}, {1, 1}, {2, 21}, {3, 3}, {4, 40}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(sorted[i].t, want[i].first);
    EXPECT_EQ(sorted[i].v, want[i].second);
  }
}

v1::RecordBatch Points(int64_t from, int n, double base) {
  v1::RecordBatch b;
  v1::Series s = triage::testing::Series("latency", {{"service", "svc"}, {"pod", "a"}});
  for (int i = 0; i < n; ++i) AddPoint(&s, from + i * 60000, base + i);
  *b.add_series() = s;
  return b;
}

std::vector<std::pair<int64_t, double>> Read(Store& store) {
  std::vector<std::pair<int64_t, double>> out;
  absl::StatusOr<std::vector<v1::Series>> read = store.ReadSeries("svc", "latency", 0, kT * 2);
  EXPECT_TRUE(read.ok()) << read.status();
  if (!read.ok()) return out;
  for (const v1::Series& s : *read) {
    for (const v1::Point& p : s.points()) out.emplace_back(p.t_ms(), p.value());
  }
  return out;
}

// Written points wait in the head (a later one replacing an earlier one's
// timestamp), survive a reopen (the head_log), read the same once flushed,
// and read beside the chunks afterwards.
TEST(HeadTest, PointsGoThroughTheHeadAndSurviveAReopen) {
  MemStore store;
  ASSERT_TRUE(store->Write(Points(kT, 10, 0)).ok());  // A new series.
  EXPECT_EQ(store->HeadSamples(), 10u);
  ASSERT_TRUE(store->Write(Points(kT + 5 * 60000, 10, 100)).ok());  // Known by now.
  EXPECT_EQ(store->HeadSamples(), 20u);
  std::vector<std::pair<int64_t, double>> want;
  for (int i = 0; i < 5; ++i) want.emplace_back(kT + i * 60000, i);
  for (int i = 0; i < 10; ++i) want.emplace_back(kT + (5 + i) * 60000, 100 + i);
  EXPECT_EQ(Read(*store), want);

  store.Reopen();
  EXPECT_EQ(store->HeadSamples(), 20u);
  EXPECT_EQ(Read(*store), want);
  ASSERT_TRUE(store->FlushHead().ok());
  EXPECT_EQ(store->HeadSamples(), 0u);
  EXPECT_EQ(Read(*store), want);
  store.Reopen();
  EXPECT_EQ(store->HeadSamples(), 0u);
  EXPECT_EQ(Read(*store), want);
  // Later writes (in the head) replace and extend what was flushed.
  ASSERT_TRUE(store->Write(Points(kT + 14 * 60000, 2, -1)).ok());
  EXPECT_EQ(store->HeadSamples(), 2u);
  want.back().second = -1;
  want.emplace_back(kT + 15 * 60000, 0);
  EXPECT_EQ(Read(*store), want);
}

TEST(HeadTest, TheHeadFlushesItselfAtItsLimit) {
  MemStore store(StoreOptions{.head_max_samples = 100});
  ASSERT_TRUE(store->Write(Points(kT, 1, 0)).ok());
  for (int w = 1; w <= 25; ++w) {
    const int first = 1 + (w - 1) * 10;
    ASSERT_TRUE(store->Write(Points(kT + first * 60000, 10, first)).ok());
    EXPECT_LT(store->HeadSamples(), 100u);
  }
  std::vector<std::pair<int64_t, double>> got = Read(*store);
  ASSERT_EQ(got.size(), 251u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, kT + static_cast<int64_t>(i) * 60000);
    EXPECT_EQ(got[i].second, static_cast<double>(i));
  }
  store.Reopen();
  EXPECT_EQ(Read(*store), got);
}

// What remote_write calls: ids by SeriesIdOf, points by AppendPoints.
TEST(HeadTest, AppendPointsByIdOfAStoredSeries) {
  MemStore store;
  v1::RecordBatch b = Points(kT, 1, 0);
  EXPECT_EQ(store->SeriesIdOf(b.series(0)), std::nullopt);
  ASSERT_TRUE(store->Write(b).ok());
  std::optional<uint64_t> id = store->SeriesIdOf(b.series(0));
  ASSERT_TRUE(id.has_value());
  const std::vector<HeadPoint> points = {{*id, kT + 60000, 5}, {*id, kT, 7}};
  std::optional<absl::Status> s = store->AppendPoints(points);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->ok()) << *s;
  const std::vector<std::pair<int64_t, double>> want = {{kT, 7}, {kT + 60000, 5}};
  EXPECT_EQ(Read(*store), want);
  ASSERT_TRUE(store->CompactAll().ok());  // Flushes the head first.
  EXPECT_EQ(store->HeadSamples(), 0u);
  EXPECT_EQ(Read(*store), want);
}

}  // namespace
}  // namespace triage::store
