#include "triage/store/keys.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace triage::store {
namespace {

// Byte order of encoded keys must equal the order of the values they encode.
template <typename T, typename Less>
void ExpectOrderPreserved(std::vector<T> values, Less less) {
  std::sort(values.begin(), values.end(), less);
  for (size_t i = 1; i < values.size(); ++i) {
    EXPECT_LT(values[i - 1].Encode(), values[i].Encode()) << "at " << i;
  }
}

TEST(KeysTest, TimesOrderAcrossSignAndMagnitude) {
  std::vector<int64_t> times = {INT64_MIN / 2, -86400000,     -1,           0, 1, 255,
                                256,           1777345200000, INT64_MAX / 2};
  for (size_t i = 1; i < times.size(); ++i) {
    std::string a, b;
    PutTime(&a, times[i - 1]);
    PutTime(&b, times[i]);
    EXPECT_LT(a, b);
    std::string_view in = b;
    int64_t back;
    ASSERT_TRUE(GetTime(&in, &back));
    EXPECT_EQ(back, times[i]);
  }
}

TEST(KeysTest, ChangeKeyRoundTripAndOrder) {
  ChangeKey k{1777345200000, "chg-8812"};
  std::optional<ChangeKey> back = ChangeKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time_ms, k.time_ms);
  EXPECT_EQ(back->id, k.id);
  ExpectOrderPreserved<ChangeKey>(
      {{5, "b"}, {5, "a"}, {-3, "z"}, {1777345200000, "x"}, {1777345200001, "a"}},
      [](const ChangeKey& a, const ChangeKey& b) {
        return std::tie(a.time_ms, a.id) < std::tie(b.time_ms, b.id);
      });
}

TEST(KeysTest, SeriesIndexKeyRoundTripAndPrefix) {
  SeriesIndexKey k{"reranker", "requests", {{"service", "reranker"}, {"source", "web"}}};
  std::optional<SeriesIndexKey> back = SeriesIndexKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->service, "reranker");
  EXPECT_EQ(back->metric, "requests");
  EXPECT_EQ(back->labels, k.labels);
  std::string prefix = SeriesIndexKey::Prefix("reranker", "requests");
  EXPECT_EQ(k.Encode().rfind(prefix, 0), 0u);
  // A longer service or metric name never matches a shorter one's prefix.
  SeriesIndexKey other{"reranker2", "requests", {}};
  EXPECT_NE(other.Encode().rfind(prefix, 0), 0u);
  SeriesIndexKey other_metric{"reranker", "requests_total", {}};
  EXPECT_NE(other_metric.Encode().rfind(prefix, 0), 0u);
}

TEST(KeysTest, ChunkKeyRoundTripAndOrder) {
  ChunkKey k{42, 1777345200000};
  std::optional<ChunkKey> back = ChunkKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->series_id, 42u);
  EXPECT_EQ(back->block_start_ms, 1777345200000);
  EXPECT_FALSE(ChunkKey::Decode("short"));
  ExpectOrderPreserved<ChunkKey>({{1, 7200000}, {1, 0}, {2, -7200000}, {256, 0}, {1, -7200000}},
                                 [](const ChunkKey& a, const ChunkKey& b) {
                                   return std::tie(a.series_id, a.block_start_ms) <
                                          std::tie(b.series_id, b.block_start_ms);
                                 });
}

TEST(KeysTest, HistogramKeyRoundTripAndOrder) {
  HistogramKey k{"reranker", "query_length", 1000, 3601000};
  std::optional<HistogramKey> back = HistogramKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->service, k.service);
  EXPECT_EQ(back->feature, k.feature);
  EXPECT_EQ(back->start_ms, k.start_ms);
  EXPECT_EQ(back->end_ms, k.end_ms);
  ExpectOrderPreserved<HistogramKey>(
      {{"s", "f", 7200000, 10800000}, {"s", "f", 0, 3600000}, {"s", "f", 3600000, 7200000}},
      [](const HistogramKey& a, const HistogramKey& b) { return a.start_ms < b.start_ms; });
  EXPECT_EQ(k.Encode().rfind(HistogramKey::Prefix("reranker"), 0), 0u);
}

TEST(KeysTest, PairTimeKeyRoundTripAndOrder) {
  PairTimeKey k{"reranker", "catalog-items", 1777345200000};
  std::optional<PairTimeKey> back = PairTimeKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first, k.first);
  EXPECT_EQ(back->second, k.second);
  EXPECT_EQ(back->time_ms, k.time_ms);
  ExpectOrderPreserved<PairTimeKey>(
      {{"c", "s", 3}, {"c", "s", 1}, {"c", "s", -1}},
      [](const PairTimeKey& a, const PairTimeKey& b) { return a.time_ms < b.time_ms; });
  EXPECT_FALSE(PairTimeKey::Decode(k.Encode() + "x"));
}

TEST(KeysTest, EvalSetKeyRoundTripAndOrder) {
  EvalSetKey k{"reranker", 1777345200000, "golden-v3"};
  std::optional<EvalSetKey> back = EvalSetKey::Decode(k.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->service, k.service);
  EXPECT_EQ(back->time_ms, k.time_ms);
  EXPECT_EQ(back->name, k.name);
  ExpectOrderPreserved<EvalSetKey>(
      {{"s", 9, "a"}, {"s", 2, "z"}, {"s", 2, "a"}}, [](const EvalSetKey& a, const EvalSetKey& b) {
        return std::tie(a.time_ms, a.name) < std::tie(b.time_ms, b.name);
      });
}

}  // namespace
}  // namespace triage::store
