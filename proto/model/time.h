// Time values as the project passes them around: Unix milliseconds (int64),
// with conversions to and from RFC 3339 strings, protobuf Timestamps and
// duration strings such as "5m", "24h", "7d". Pure functions; thread-safe.
//
//   absl::StatusOr<int64_t> t = ParseRfc3339("2026-04-28T03:00:00Z");
//   absl::StatusOr<int64_t> d = ParseDurationMs("24h");  // 86'400'000
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/timestamp.pb.h"

namespace triage {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

// Parses an RFC 3339 date-time ("2026-04-28T03:00:00Z", "...T03:00:00.5+02:00").
absl::StatusOr<int64_t> ParseRfc3339(std::string_view text);

// Formats as "2026-04-28T03:00:00Z" (milliseconds only when non-zero).
std::string FormatRfc3339(int64_t unix_ms);

// Parses a non-negative duration: a sequence of <number><unit> with units
// ms, s, m, h, d (24h), w (7d), e.g. "90s", "1h30m", "30d".
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// The shortest exact spelling of a duration ("24h", "5m", "30d").
std::string FormatDuration(int64_t ms);

int64_t ToMs(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp FromMs(int64_t unix_ms);

// Milliseconds elapsed on the steady clock since `start` (for the timings
// a report carries: walk_ms, check_ms, write_ms).
inline double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace triage
