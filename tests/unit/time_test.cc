#include "proto/model/time.h"

#include "gtest/gtest.h"

namespace triage {
namespace {

TEST(TimeTest, ParsesAndFormatsRfc3339) {
  absl::StatusOr<int64_t> t = ParseRfc3339("2026-04-28T03:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1777345200000);
  EXPECT_EQ(FormatRfc3339(*t), "2026-04-28T03:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2026-04-28T05:00:00+02:00"), *t);
  EXPECT_EQ(*ParseRfc3339("2026-04-28T03:00:00.250Z"), *t + 250);
  EXPECT_EQ(FormatRfc3339(*t + 250), "2026-04-28T03:00:00.250Z");
}

TEST(TimeTest, RejectsNonRfc3339) {
  for (const char* bad : {"2026-04-28", "2026-04-28 03:00:00Z", "yesterday", "2026-13-01T00:00:00Z",
                          "2026-04-28T03:00:00", ""}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("5m"), 5 * kMinuteMs);
  EXPECT_EQ(*ParseDurationMs("24h"), kDayMs);
  EXPECT_EQ(*ParseDurationMs("30d"), 30 * kDayMs);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 90 * kMinuteMs);
  EXPECT_EQ(*ParseDurationMs("2w"), 14 * kDayMs);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  for (const char* bad : {"", "5", "m", "5x", "-5m", "1.5h"})
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  EXPECT_EQ(FormatDuration(kDayMs), "1d");
  EXPECT_EQ(FormatDuration(90 * kMinuteMs), "90m");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
}

TEST(TimeTest, TimestampRoundTrip) {
  for (int64_t ms : {int64_t{0}, int64_t{1777345200123}, int64_t{-1}, int64_t{-1001}}) {
    EXPECT_EQ(ToMs(FromMs(ms)), ms);
  }
}

}  // namespace
}  // namespace triage
