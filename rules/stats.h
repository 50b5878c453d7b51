// The numeric kernels of the checks: smoothed KL divergence (and PSI) between
// histograms, medians, and onset detection on a metric series. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "triage/v1/records.pb.h"

namespace triage::rules {

// KL(P || Q) = sum p_i ln(p_i / q_i) with natural log, where p_i is
// counts_p[i] / total_p + smoothing, renormalised (likewise q). Both spans
// must have the same length (else 0). A zero total smooths to the uniform
// distribution. SmoothedKlRows (rules/kl.h) does many at once.
double SmoothedKl(std::span<const double> counts_p, std::span<const double> counts_q,
                  double smoothing);
// Population stability index, sum (p_i - q_i) ln(p_i / q_i), same smoothing.
double SmoothedPsi(std::span<const double> counts_p, std::span<const double> counts_q,
                   double smoothing);

// Aligns two categorical count maps on the union of their categories
// (sorted), filling absent categories with 0.
void UnionCategories(const std::map<std::string, double>& p, const std::map<std::string, double>& q,
                     std::vector<double>* p_out, std::vector<double>* q_out);

double Median(std::vector<double> values);  // NaN when empty.

// One sample of a series.
struct TimedValue {
  int64_t t;
  double v;
};

// Several series of one (service, metric) as one: the mean at each
// timestamp, in time order. NaN samples (staleness markers) are gaps. Each
// series must be in time order.
std::vector<TimedValue> MeanSamples(const std::vector<std::span<const TimedValue>>& series);
std::vector<v1::Point> MeanSeries(const std::vector<v1::Series>& series);  // The same.

struct OnsetParams {
  int64_t baseline_start_ms;  // Baseline is [now - baseline_start, now - baseline_end).
  int64_t baseline_end_ms;
  int64_t search_ms;   // The onset is searched in [now - search, now].
  double band_sigmas;  // Normal band: baseline median +- band_sigmas robust sigmas.
};

struct Onset {
  int64_t onset_ms = 0;  // now when nothing was detected.
  bool detected = false;
  std::string note;  // Why nothing was detected, or where the deviation started.
  double baseline_median = 0;
  double current_median = 0;
};

// The start of the deviation from the baseline band that is still under way
// at `now`. Uses a centred rolling median of 5 points, so a clean step is
// placed on its first point and isolated outliers do not count.
Onset DetectOnset(std::span<const v1::Point> points, int64_t now_ms, const OnsetParams& params);

}  // namespace triage::rules
