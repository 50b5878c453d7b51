#include "rules/stats.h"

#include <cmath>

#include "gtest/gtest.h"
#include "proto/model/time.h"
#include "rules/kl.h"

namespace triage::rules {
namespace {

// Expected values computed by hand from the definition in triage-tree.md:
// p_i = c_i / total + 1e-4, renormalised; KL = sum p_i ln(p_i / q_i).
TEST(KlTest, MatchesHandComputedValues) {
  // p = (.5, .5), q = (.25, .75): .5 ln 2 + .5 ln(2/3) = 0.143841; smoothing moves it slightly.
  EXPECT_NEAR(SmoothedKl(std::vector<double>{1, 1}, std::vector<double>{1, 3}, 1e-4),
              0.14377439399527608, 1e-12);
  EXPECT_NEAR(SmoothedKl(std::vector<double>{10, 20, 30}, std::vector<double>{10, 20, 30}, 1e-4),
              0.0, 1e-15);
}

TEST(KlTest, EmptyBinsNeverDivideByZero) {
  // An empty current bin contributes ~0; an empty baseline bin is smoothed to 1e-4.
  EXPECT_NEAR(SmoothedKl(std::vector<double>{0, 10}, std::vector<double>{5, 5}, 1e-4),
              0.6921263356928877, 1e-12);
  EXPECT_NEAR(SmoothedKl(std::vector<double>{5, 5}, std::vector<double>{0, 10}, 1e-4),
              3.9121729879306457, 1e-12);
  double kl = SmoothedKl(std::vector<double>{0, 0}, std::vector<double>{1, 0}, 1e-4);
  EXPECT_TRUE(std::isfinite(kl));
}

TEST(KlTest, CategoricalFeaturesTakeTheUnionOfCategories) {
  std::vector<double> p, q;
  UnionCategories({{"a", 3}, {"b", 1}}, {{"b", 2}, {"c", 2}}, &p, &q);
  EXPECT_EQ(p, (std::vector<double>{3, 1, 0}));
  EXPECT_EQ(q, (std::vector<double>{0, 2, 2}));
  EXPECT_NEAR(SmoothedKl(p, q, 1e-4), 6.516873091035797, 1e-12);
}

TEST(KlTest, PsiIsSymmetric) {
  std::vector<double> a{1, 2, 3}, b{3, 2, 1};
  EXPECT_NEAR(SmoothedPsi(a, b, 1e-4), SmoothedPsi(b, a, 1e-4), 1e-12);
  EXPECT_GT(SmoothedPsi(a, b, 1e-4), 0);
}

TEST(MedianTest, OddEvenEmpty) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(Median({})));
}

constexpr int64_t kNow = 1777345200000;
const OnsetParams kParams{7 * kDayMs, 6 * kHourMs, 6 * kHourMs, 4};

// One point a minute over the last 7 days; value(minutes_before_now).
template <typename Fn>
std::vector<v1::Point> Series(Fn value) {
  std::vector<v1::Point> out;
  for (int64_t m = 7 * 24 * 60; m >= 0; --m) {
    v1::Point p;
    p.set_t_ms(kNow - m * kMinuteMs);
    p.set_value(value(m));
    out.push_back(p);
  }
  return out;
}

double Noise(int64_t m) { return 0.005 * std::sin(m * 1.7) + 0.003 * std::cos(m * 0.31); }

TEST(OnsetTest, CleanStepIsPlacedOnItsFirstPoint) {
  auto points = Series([](int64_t m) { return (m <= 50 ? 0.61 : 0.78) + Noise(m); });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_TRUE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow - 50 * kMinuteMs);
  EXPECT_NEAR(o.baseline_median, 0.78, 0.01);
}

TEST(OnsetTest, StepUpIsAlsoADeviation) {
  auto points = Series([](int64_t m) { return (m <= 120 ? 250.0 : 180.0) + 1000 * Noise(m); });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_TRUE(o.detected);
  EXPECT_NEAR(static_cast<double>(o.onset_ms), kNow - 120 * kMinuteMs, 5 * kMinuteMs);
}

TEST(OnsetTest, SlowRampIsPlacedWhereItLeavesTheBand) {
  // Falls linearly from 0.78 to 0.58 over the last 3 hours.
  auto points = Series([](int64_t m) {
    double v = m >= 180 ? 0.78 : 0.78 - 0.2 * (180 - m) / 180.0;
    return v + Noise(m);
  });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_TRUE(o.detected);
  // After the ramp began, and well before now: where the ramp crossed 4 robust sigmas.
  EXPECT_GT(o.onset_ms, kNow - 180 * kMinuteMs);
  EXPECT_LT(o.onset_ms, kNow - 120 * kMinuteMs);
}

TEST(OnsetTest, NoDropMeansOnsetIsNow) {
  auto points = Series([](int64_t m) { return 0.78 + Noise(m); });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_FALSE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow);
  EXPECT_NE(o.note.find("no deviation under way"), std::string::npos) << o.note;
}

TEST(OnsetTest, RecoveredDipIsNotUnderWay) {
  auto points = Series([](int64_t m) { return (m > 100 && m < 200 ? 0.5 : 0.78) + Noise(m); });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_FALSE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow);
}

TEST(OnsetTest, IsolatedOutliersDoNotCount) {
  auto points = Series([](int64_t m) {
    if (m == 30 || m == 200) return 0.1;
    return (m <= 10 ? 0.6 : 0.78) + Noise(m);
  });
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_TRUE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow - 10 * kMinuteMs);
}

TEST(OnsetTest, MissingBaselineMeansOnsetIsNow) {
  std::vector<v1::Point> recent;
  for (int m = 0; m < 60; ++m) {
    v1::Point p;
    p.set_t_ms(kNow - m * kMinuteMs);
    p.set_value(0.5);
    recent.push_back(p);
  }
  Onset o = DetectOnset(recent, kNow, kParams);
  EXPECT_FALSE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow);
  EXPECT_NE(o.note.find("baseline"), std::string::npos);
}

TEST(OnsetTest, PointsAfterNowAreIgnored) {
  auto points = Series([](int64_t m) { return (m <= 50 ? 0.61 : 0.78) + Noise(m); });
  for (int m = 1; m <= 30; ++m) {  // Recovery after now must not hide the drop.
    v1::Point p;
    p.set_t_ms(kNow + m * kMinuteMs);
    p.set_value(0.78);
    points.push_back(p);
  }
  Onset o = DetectOnset(points, kNow, kParams);
  EXPECT_TRUE(o.detected);
  EXPECT_EQ(o.onset_ms, kNow - 50 * kMinuteMs);
}

}  // namespace
}  // namespace triage::rules

TEST(KlTest, VectorLogIsWithinTwoUlpsOfStdLog) {
  for (double x : {1e-300, 1e-12, 1e-4, 0.5, 0.7071067811865476, 0.70710678, 1.0, 1.0000001,
                   1.4142135623730951, 2.0, 3.0, 1e4, 1e300}) {
    EXPECT_NEAR(triage::rules::VectorLog(x), std::log(x),
                2 * std::abs(std::log(x)) * 2.3e-16 + 1e-300)
        << x;
  }
  for (double x = 1e-6; x < 1e6; x *= 1.0137) {
    ASSERT_NEAR(triage::rules::VectorLog(x), std::log(x),
                4.5e-16 * std::max(1.0, std::abs(std::log(x))))
        << x;
  }
}

TEST(KlTest, RowsAgreeWithOneAtATime) {
  // Three features of four bins; the third has no counts at all.
  std::vector<double> p = {1, 2, 3, 4, 0, 10, 0, 5, 0, 0, 0, 0};
  std::vector<double> q = {4, 3, 2, 1, 5, 5, 5, 5, 1, 1, 1, 1};
  std::vector<double> out(3);
  triage::rules::SmoothedKlRows(p.data(), q.data(), 3, 4, 1e-4, out.data());
  for (int r = 0; r < 3; ++r) {
    std::span<const double> pr(p.data() + 4 * r, 4), qr(q.data() + 4 * r, 4);
    double expected = 0, ps = 0, qs = 0;
    double pt = 0, qt = 0;
    for (int i = 0; i < 4; ++i) pt += pr[i], qt += qr[i];
    std::vector<double> a(4), b(4);
    for (int i = 0; i < 4; ++i) {
      a[i] = (pt > 0 ? pr[i] / pt : 0) + 1e-4, ps += a[i];
      b[i] = (qt > 0 ? qr[i] / qt : 0) + 1e-4, qs += b[i];
    }
    for (int i = 0; i < 4; ++i) expected += a[i] / ps * std::log((a[i] / ps) / (b[i] / qs));
    EXPECT_NEAR(out[r], expected, 1e-14) << r;
  }
  // Without smoothing, empty bins of P add nothing and never divide by zero.
  triage::rules::SmoothedKlRows(p.data() + 4, q.data() + 4, 1, 4, 0, out.data());
  EXPECT_NEAR(out[0], 2.0 / 3 * std::log((2.0 / 3) / 0.25) + 1.0 / 3 * std::log((1.0 / 3) / 0.25),
              1e-14);
}

// Many rows, as the drift check sends them: every vector path (eight at a
// time and the tail) agrees with a long double computation.
TEST(KlTest, ManyRowsAgreeWithALongDoubleReference) {
  const size_t rows = 101, bins = 13;
  std::vector<double> p(rows * bins), q(rows * bins), out(rows);
  uint64_t x = 88172645463325252ull;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return static_cast<double>(x % 5000);
  };
  for (size_t i = 0; i < p.size(); ++i) p[i] = next(), q[i] = next();
  triage::rules::SmoothedKlRows(p.data(), q.data(), rows, bins, 1e-4, out.data());
  for (size_t r = 0; r < rows; ++r) {
    long double pt = 0, qt = 0, kl = 0;
    for (size_t i = 0; i < bins; ++i) pt += p[r * bins + i], qt += q[r * bins + i];
    const long double pn = 1 + bins * 1e-4L, qn = 1 + bins * 1e-4L;
    for (size_t i = 0; i < bins; ++i) {
      const long double a = (p[r * bins + i] / pt + 1e-4L) / pn;
      const long double b = (q[r * bins + i] / qt + 1e-4L) / qn;
      kl += a * std::log(a / b);
    }
    EXPECT_NEAR(out[r], static_cast<double>(kl), 1e-15 * std::max(1.0, std::abs(out[r]))) << r;
  }
}
