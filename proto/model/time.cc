#include "proto/model/time.h"

#include <cctype>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace triage {

absl::StatusOr<int64_t> ParseRfc3339(std::string_view text) {
  // absl accepts lower-case 't'/'z' and missing offsets in some formats; RFC
  // 3339 as used here needs the 'T' separator and an explicit offset.
  if (text.size() < 20 || text[10] != 'T') {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not an RFC 3339 time like 2026-04-28T03:00:00Z", text));
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not an RFC 3339 time like 2026-04-28T03:00:00Z", text));
  }
  return absl::ToUnixMillis(t);
}

std::string FormatRfc3339(int64_t unix_ms) {
  absl::Time t = absl::FromUnixMillis(unix_ms);
  const char* fmt = (unix_ms % 1000 == 0) ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%E3SZ";
  return absl::FormatTime(fmt, t, absl::UTCTimeZone());
}

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not a duration like 90s, 5m, 24h or 7d", text));
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > (int64_t{1} << 40)) return bad();
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) return bad();
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = kMinuteMs;
          break;
        case 'h':
          unit = kHourMs;
          break;
        case 'd':
          unit = kDayMs;
          break;
        case 'w':
          unit = 7 * kDayMs;
          break;
        default:
          return bad();
      }
      ++i;
    } else {
      return bad();
    }
    total += n * unit;
  }
  return total;
}

std::string FormatDuration(int64_t ms) {
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{kDayMs, "d"}, {kHourMs, "h"}, {kMinuteMs, "m"}, {1000, "s"}};
  if (ms == 0) return "0s";
  for (const Unit& u : kUnits) {
    if (ms % u.ms == 0) return absl::StrFormat("%d%s", ms / u.ms, u.name);
  }
  return absl::StrFormat("%dms", ms);
}

int64_t ToMs(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

google::protobuf::Timestamp FromMs(int64_t unix_ms) {
  google::protobuf::Timestamp ts;
  int64_t s = unix_ms / 1000;
  int64_t rem = unix_ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --s;
  }
  ts.set_seconds(s);
  ts.set_nanos(static_cast<int32_t>(rem * 1'000'000));
  return ts;
}

}  // namespace triage
