// Reads: the walk's sources, timed, with every metric read recorded.
#include <algorithm>
#include <chrono>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rules/checks.h"

namespace triage::rules {

absl::StatusOr<std::vector<v1::Series>> Reads::Series(const SeriesQuery& q) {
  v1::MetricQuery log;
  log.set_service(q.service);
  log.set_metric(q.metric);
  log.set_query(q.query);
  log.set_source(sources_.metrics->Name());
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!metrics_failed_.ok()) {
      refused = absl::Status(metrics_failed_.code(),
                             absl::StrCat(metrics_failed_.message(), " (earlier in this walk)"));
    } else if (static_cast<int>(queries_.size()) >= sources_.max_metric_queries) {
      refused = absl::ResourceExhaustedError(absl::StrFormat(
          "metrics source: more than %d reads in one walk", sources_.max_metric_queries));
    }
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<v1::Series>> series =
      refused.ok() ? sources_.metrics->ReadSeries(q) : refused;
  log.set_ms(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (series.ok()) {
    log.set_series(static_cast<int32_t>(series->size()));
  } else {
    log.set_error(std::string(series.status().message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!series.ok() && metrics_failed_.ok()) metrics_failed_ = series.status();
  queries_.push_back(std::move(log));
  return series;
}

std::vector<v1::MetricQuery> Reads::Queries() const {
  std::vector<v1::MetricQuery> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = queries_;
  }
  // Checks read in parallel: in a fixed order, every walk over the same
  // records (every replica's) lists the same queries.
  std::stable_sort(out.begin(), out.end(), [](const v1::MetricQuery& a, const v1::MetricQuery& b) {
    return std::tie(a.service(), a.metric(), a.query(), a.source()) <
           std::tie(b.service(), b.metric(), b.query(), b.source());
  });
  return out;
}

}  // namespace triage::rules
