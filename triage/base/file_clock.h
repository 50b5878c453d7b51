// FileClock (tests only: triaged --fake-clock-file FILE): "now" is the time
// written in a file (Unix milliseconds or RFC 3339), read at every call, so
// a test steps the daemon's clock through a scripted quarter. While the file
// is missing or unreadable it is the system clock. Thread-safe.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "proto/model/time.h"
#include "triage/base/clock.h"

namespace triage {

class FileClock : public Clock {
 public:
  explicit FileClock(std::string path) : path_(std::move(path)) {}

  int64_t NowMs() const override {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string s(absl::StripAsciiWhitespace(text.str()));
    int64_t ms = 0;
    if (absl::SimpleAtoi(s, &ms)) return ms;
    if (absl::StatusOr<int64_t> t = ParseRfc3339(s); t.ok()) return *t;
    return system_.NowMs();
  }

 private:
  const std::string path_;
  SystemClock system_;
};

}  // namespace triage
