#include "triage/store/chunk_codec.h"

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::store {
namespace {

using ::testing::ElementsAre;

std::vector<Sample> RoundTrip(const std::vector<Sample>& in, size_t* bytes = nullptr) {
  std::string encoded;
  EncodeSegment(in, &encoded);
  if (bytes != nullptr) *bytes = encoded.size();
  std::vector<Sample> out;
  EXPECT_TRUE(DecodeChunk(encoded, &out).ok());
  return out;
}

void ExpectSameBits(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].t, b[i].t) << i;
    EXPECT_EQ(std::bit_cast<uint64_t>(a[i].v), std::bit_cast<uint64_t>(b[i].v)) << i;
  }
}

TEST(ChunkCodecTest, ShortDecimalsOnARegularScrapeTakeAFewBitsAPoint) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.005);
  std::vector<Sample> in;
  for (int i = 0; i < 120; ++i) {
    in.push_back({1'776'740'700'000 + i * 60'000LL, std::round((0.78 + noise(rng)) * 1e5) / 1e5});
  }
  size_t bytes = 0;
  ExpectSameBits(RoundTrip(in, &bytes), in);
  // Timestamps pack at width 0; 5-decimal values within +-0.02 need ~12 bits.
  EXPECT_LT(static_cast<double>(bytes) / 120, 2.0);
}

TEST(ChunkCodecTest, EveryValueComesBackBitForBit) {
  const double nan_marker = std::bit_cast<double>(uint64_t{0x7ff0000000000002});  // Staleness.
  std::vector<Sample> in = {{-5, 0.1},
                            {0, -0.0},
                            {1, std::numeric_limits<double>::infinity()},
                            {7, nan_marker},
                            {8, 1.0 / 3},
                            {9, -1e300},
                            {10, std::numeric_limits<double>::denorm_min()},
                            {1'000'000'000'000, 4.25},
                            {1'000'000'000'001, 4.25}};
  ExpectSameBits(RoundTrip(in), in);
  // One or two points, integers, and integers past 2^53.
  ExpectSameBits(RoundTrip({{3, 12}}), {{3, 12}});
  ExpectSameBits(RoundTrip({{3, 12}, {4, 13}}), {{3, 12}, {4, 13}});
  ExpectSameBits(RoundTrip({{1, 1e17}, {2, -3e18}}), {{1, 1e17}, {2, -3e18}});
}

TEST(ChunkCodecTest, IrregularTimestampsAndRandomValues) {
  std::mt19937_64 rng(11);
  std::vector<Sample> in;
  int64_t t = -86'400'000;
  for (int i = 0; i < 1000; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 100'000);
    in.push_back({t, std::bit_cast<double>(rng() & ~(uint64_t{0x7ff} << 52))});  // Finite.
  }
  ExpectSameBits(RoundTrip(in), in);
}

TEST(ChunkCodecTest, MergeSortsAndTheLaterPieceWinsEqualTimes) {
  std::string a, b, c;
  EncodeSegment(std::vector<Sample>{{10, 1}, {20, 2}, {30, 3}}, &a);
  EncodeSegment(std::vector<Sample>{{20, 22}, {25, 2.5}}, &b);
  EncodeSegment(std::vector<Sample>{{40, 4}}, &c);
  std::vector<std::string_view> pieces = {a, b, c};
  int corrupt = 0;
  std::string merged = MergeChunkPieces(pieces, &corrupt);
  EXPECT_EQ(corrupt, 0);
  std::vector<Sample> out;
  ASSERT_TRUE(DecodeChunk(merged, &out).ok());
  std::vector<std::pair<int64_t, double>> got;
  for (const Sample& s : out) got.emplace_back(s.t, s.v);
  EXPECT_THAT(got,
              ElementsAre(std::pair<int64_t, double>{10, 1}, std::pair<int64_t, double>{20, 22},
                          std::pair<int64_t, double>{25, 2.5}, std::pair<int64_t, double>{30, 3},
                          std::pair<int64_t, double>{40, 4}));
}

TEST(ChunkCodecTest, ValuesOfAnEarlierStoreStillDecodeAndMerge) {
  // [time ^ sign bit][float64 bits], big-endian, as stores wrote them before.
  auto legacy = [](int64_t t, double v) {
    std::string out;
    uint64_t ut = static_cast<uint64_t>(t) ^ (uint64_t{1} << 63);
    uint64_t bits = std::bit_cast<uint64_t>(v);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>(ut >> s));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>(bits >> s));
    return out;
  };
  std::string old = legacy(100, 1.5) + legacy(200, 2.5);
  std::string next;
  EncodeSegment(std::vector<Sample>{{300, 3.5}}, &next);
  std::vector<std::string_view> pieces = {old, next};
  std::vector<Sample> out;
  ASSERT_TRUE(DecodeChunk(MergeChunkPieces(pieces), &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].t, 100);
  EXPECT_EQ(out[2].v, 3.5);
}

TEST(ChunkCodecTest, TruncatedOrGarbledValuesAreDataLossNotACrash) {
  std::string encoded;
  EncodeSegment(std::vector<Sample>{{10, 1.25}, {20, 1.5}, {35, 1.0 / 7}}, &encoded);
  for (size_t cut = 1; cut < encoded.size(); ++cut) {
    std::vector<Sample> out;
    EXPECT_FALSE(DecodeChunk(std::string_view(encoded).substr(0, cut), &out).ok()) << cut;
  }
  std::vector<Sample> out;
  EXPECT_TRUE(absl::IsDataLoss(DecodeChunk(std::string("\xC5\xff\xff\xff\xff\x7f", 6), &out)));
  std::string garbage = "\xC5\x03\x02\x04\x41";
  std::vector<std::string_view> pieces = {garbage};
  int corrupt = 0;
  MergeChunkPieces(pieces, &corrupt);
  EXPECT_EQ(corrupt, 1);
}

}  // namespace
}  // namespace triage::store
