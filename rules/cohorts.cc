#include "rules/cohorts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <span>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rules/stats.h"

namespace triage::rules {

namespace {

constexpr double kMadToSigma = 1.4826;

// Mean of `points` with from <= t < to (to_inclusive: t <= to); NaN when none.
double MeanIn(const std::vector<TimedValue>& points, int64_t from, int64_t to, bool to_inclusive) {
  double sum = 0;
  int n = 0;
  for (const TimedValue& p : points) {
    if (std::isnan(p.v) || p.t < from || p.t > to || (!to_inclusive && p.t == to)) continue;
    sum += p.v;
    ++n;
  }
  return n == 0 ? std::nan("") : sum / n;
}

// Labels other than `service` that take two or more values over `series`.
std::set<std::string> Dimensions(const std::vector<v1::Series>& series) {
  std::map<std::string, std::set<std::string>> values;
  for (const v1::Series& s : series) {
    for (const auto& [k, v] : s.labels()) {
      if (k != "service") values[k].insert(v);
    }
  }
  std::set<std::string> out;
  for (const auto& [k, vs] : values) {
    if (vs.size() >= 2) out.insert(k);
  }
  return out;
}

// Each value's share of the requests carrying `dimension` in the current
// window; empty when no requests series carries it.
std::map<std::string, double> RequestShares(const std::vector<v1::Series>& requests,
                                            const std::string& dimension, const CohortWindows& w) {
  std::map<std::string, double> sums;
  double total = 0;
  bool carried = false;
  for (const v1::Series& s : requests) {
    auto label = s.labels().find(dimension);
    if (label == s.labels().end()) continue;
    carried = true;
    for (const v1::Point& p : s.points()) {
      if (std::isnan(p.value()) || p.t_ms() < w.current_from || p.t_ms() > w.current_to) continue;
      sums[label->second] += p.value();
      total += p.value();
    }
  }
  if (!carried) return {};
  for (auto& [_, v] : sums) v = total > 0 ? v / total : 0;
  if (sums.empty()) sums[""] = 0;  // Carried, but nothing in the window: every weight 0.
  return sums;
}

bool LeftBand(const std::vector<TimedValue>& mean, double current, const CohortWindows& w) {
  std::vector<double> base;
  for (const TimedValue& p : mean) {
    if (!std::isnan(p.v) && p.t >= w.baseline_from && p.t < w.baseline_to) base.push_back(p.v);
  }
  if (base.empty()) return false;
  const double m = Median(base);
  std::vector<double> dev;
  for (double x : base) dev.push_back(std::abs(x - m));
  const double sigma = kMadToSigma * Median(dev);
  return std::abs(current - m) > w.band_sigmas * sigma;
}

// The alerted series' samples (converted once for every dimension).
using Samples = std::vector<std::vector<TimedValue>>;

v1::CohortDimension Dimension(const std::string& d, const std::vector<v1::Series>& alerted,
                              const Samples& samples, const std::vector<v1::Series>& requests,
                              const CohortWindows& w, double* total) {
  v1::CohortDimension out;
  out.set_dimension(d);
  std::map<std::string, std::vector<std::span<const TimedValue>>> by_value;
  for (size_t i = 0; i < alerted.size(); ++i) {
    auto label = alerted[i].labels().find(d);
    if (label != alerted[i].labels().end()) by_value[label->second].emplace_back(samples[i]);
  }
  const std::map<std::string, double> shares = RequestShares(requests, d, w);
  out.set_weights_from_requests(!shares.empty());
  std::vector<v1::CohortValue> values;
  for (const auto& [value, series] : by_value) {
    const std::vector<TimedValue> mean = MeanSamples(series);
    const double baseline = MeanIn(mean, w.baseline_from, w.baseline_to, false);
    const double current = MeanIn(mean, w.current_from, w.current_to, true);
    if (std::isnan(baseline) || std::isnan(current)) continue;  // No data: not a cohort.
    v1::CohortValue v;
    v.set_value(value);
    v.set_baseline(baseline);
    v.set_current(current);
    v.set_delta(current - baseline);
    v.set_left_band(LeftBand(mean, current, w));
    values.push_back(std::move(v));
  }
  for (v1::CohortValue& v : values) {
    if (shares.empty()) {
      v.set_weight(1.0 / static_cast<double>(values.size()));
    } else {
      auto s = shares.find(v.value());
      v.set_weight(s == shares.end() ? 0 : s->second);
    }
  }
  *total = 0;
  double scale = 0;  // A total this small next to the metric's level is rounding: 0.
  for (const v1::CohortValue& v : values) {
    *total += v.weight() * v.delta();
    scale += v.weight() * std::abs(v.baseline());
  }
  if (std::abs(*total) <= 1e-9 * scale) *total = 0;
  for (v1::CohortValue& v : values) {
    v.set_contribution(*total != 0 ? v.weight() * v.delta() / *total : 0);
  }
  std::stable_sort(values.begin(), values.end(), [](const auto& a, const auto& b) {
    return a.contribution() > b.contribution();
  });
  for (v1::CohortValue& v : values) *out.add_values() = std::move(v);
  return out;
}

}  // namespace

CohortAnswer FindCohorts(const std::vector<v1::Series>& alerted,
                         const std::vector<v1::Series>& requests, const CohortWindows& w) {
  CohortAnswer answer;
  const std::set<std::string> dimensions = Dimensions(alerted);
  if (dimensions.empty()) return answer;
  Samples samples(alerted.size());
  for (size_t i = 0; i < alerted.size(); ++i) {
    samples[i].reserve(static_cast<size_t>(alerted[i].points_size()));
    for (const v1::Point& p : alerted[i].points()) samples[i].push_back({p.t_ms(), p.value()});
  }
  for (const std::string& d : dimensions) {
    double total = 0;
    v1::CohortDimension dim = Dimension(d, alerted, samples, requests, w, &total);
    if (dim.values_size() == 0) continue;
    if (total != 0) {
      for (const v1::CohortValue& v : dim.values()) {
        const bool concentrated =
            v.contribution() >= w.min_contribution && v.weight() <= w.max_weight && v.left_band();
        if (concentrated && (!answer.named || v.contribution() > answer.named->contribution())) {
          v1::CohortLocalization l;
          l.set_dimension(d);
          l.set_value(v.value());
          l.set_contribution(v.contribution());
          l.set_weight(v.weight());
          l.set_baseline(v.baseline());
          l.set_current(v.current());
          answer.named = l;
        }
      }
    }
    answer.dimensions.push_back(std::move(dim));
  }
  return answer;
}

std::string DescribeCohorts(const v1::TriageReport& report) {
  if (report.cohorts_size() == 0) return "";
  if (report.has_cohort_localization()) {
    const v1::CohortLocalization& c = report.cohort_localization();
    return absl::StrFormat("%s=%s carries %.0f%% of the drop with %.0f%% of traffic (%.2f -> %.2f)",
                           c.dimension(), c.value(), 100 * c.contribution(), 100 * c.weight(),
                           c.baseline(), c.current());
  }
  std::vector<std::string> dims;
  for (const v1::CohortDimension& d : report.cohorts()) dims.push_back(d.dimension());
  return absl::StrFormat("spread over %s (no cohort carries the drop)", absl::StrJoin(dims, ", "));
}

std::string CohortMismatch(const v1::Expected& expected, const v1::TriageReport& report) {
  if (!expected.has_cohort()) return "";
  auto name = [](const std::string& d, const std::string& v) { return d + "=" + v; };
  const std::string want = expected.cohort().spread()
                               ? "spread"
                               : name(expected.cohort().dimension(), expected.cohort().value());
  const std::string got =
      report.has_cohort_localization()
          ? name(report.cohort_localization().dimension(), report.cohort_localization().value())
          : "spread";
  return want == got ? "" : absl::StrFormat("expected cohort %s, got %s", want, got);
}

}  // namespace triage::rules
