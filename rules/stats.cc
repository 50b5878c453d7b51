#include "rules/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_format.h"
#include "proto/model/time.h"
#include "rules/kl.h"

namespace triage::rules {

namespace {

std::vector<double> Smooth(std::span<const double> counts, double smoothing) {
  double total = 0;
  for (double c : counts) total += c;
  std::vector<double> p(counts.size());
  double sum = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    p[i] = (total > 0 ? counts[i] / total : 0) + smoothing;
    sum += p[i];
  }
  if (sum <= 0) {
    std::fill(p.begin(), p.end(), counts.empty() ? 0 : 1.0 / counts.size());
    return p;
  }
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

double SmoothedKl(std::span<const double> counts_p, std::span<const double> counts_q,
                  double smoothing) {
  if (counts_p.size() != counts_q.size() || counts_p.empty()) return 0;
  double kl = 0;
  SmoothedKlRows(counts_p.data(), counts_q.data(), 1, counts_p.size(), smoothing, &kl);
  return kl;
}

double SmoothedPsi(std::span<const double> counts_p, std::span<const double> counts_q,
                   double smoothing) {
  std::vector<double> p = Smooth(counts_p, smoothing);
  std::vector<double> q = Smooth(counts_q, smoothing);
  double psi = 0;
  for (size_t i = 0; i < p.size() && i < q.size(); ++i) {
    if (p[i] > 0 && q[i] > 0) psi += (p[i] - q[i]) * std::log(p[i] / q[i]);
  }
  return psi;
}

void UnionCategories(const std::map<std::string, double>& p, const std::map<std::string, double>& q,
                     std::vector<double>* p_out, std::vector<double>* q_out) {
  std::map<std::string, std::pair<double, double>> all;
  for (const auto& [k, v] : p) all[k].first += v;
  for (const auto& [k, v] : q) all[k].second += v;
  p_out->clear();
  q_out->clear();
  for (const auto& [k, v] : all) {
    p_out->push_back(v.first);
    q_out->push_back(v.second);
  }
}

double Median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  double hi = values[mid];
  if (values.size() % 2 == 1) return hi;
  double lo = *std::max_element(values.begin(), values.begin() + mid);
  return (lo + hi) / 2;
}

std::vector<TimedValue> MeanSamples(const std::vector<std::span<const TimedValue>>& series) {
  std::vector<TimedValue> all;
  size_t n = 0;
  for (std::span<const TimedValue> s : series) n += s.size();
  all.reserve(n);
  for (std::span<const TimedValue> s : series) {
    for (const TimedValue& x : s) {
      if (!std::isnan(x.v)) all.push_back(x);
    }
  }
  // One series is in time order already; several are merged by a sort.
  if (series.size() > 1) {
    std::stable_sort(all.begin(), all.end(),
                     [](const TimedValue& a, const TimedValue& b) { return a.t < b.t; });
  }
  size_t w = 0;
  for (size_t i = 0; i < all.size();) {
    double sum = 0;
    int count = 0;
    const int64_t t = all[i].t;
    for (; i < all.size() && all[i].t == t; ++i, ++count) sum += all[i].v;
    all[w++] = TimedValue{t, sum / count};
  }
  all.resize(w);
  return all;
}

std::vector<v1::Point> MeanSeries(const std::vector<v1::Series>& series) {
  std::vector<std::vector<TimedValue>> samples(series.size());
  std::vector<std::span<const TimedValue>> spans;
  for (size_t i = 0; i < series.size(); ++i) {
    samples[i].reserve(static_cast<size_t>(series[i].points_size()));
    for (const v1::Point& p : series[i].points()) samples[i].push_back({p.t_ms(), p.value()});
    spans.emplace_back(samples[i]);
  }
  std::vector<v1::Point> points;
  for (const TimedValue& x : MeanSamples(spans)) {
    v1::Point p;
    p.set_t_ms(x.t);
    p.set_value(x.v);
    points.push_back(std::move(p));
  }
  return points;
}

Onset DetectOnset(std::span<const v1::Point> points, int64_t now_ms, const OnsetParams& params) {
  constexpr size_t kMinBaseline = 10;
  constexpr size_t kHalfWindow = 2;  // Rolling median over 2 * 2 + 1 points.
  constexpr int kMaxGap = 2;         // In-band smoothed points tolerated inside a deviation.
  Onset out;
  out.onset_ms = now_ms;
  std::vector<double> baseline;
  std::vector<const v1::Point*> recent;
  for (const v1::Point& p : points) {
    if (std::isnan(p.value())) continue;  // Staleness markers.
    if (p.t_ms() >= now_ms - params.baseline_start_ms &&
        p.t_ms() < now_ms - params.baseline_end_ms) {
      baseline.push_back(p.value());
    }
    if (p.t_ms() >= now_ms - params.search_ms && p.t_ms() <= now_ms) recent.push_back(&p);
  }
  std::sort(recent.begin(), recent.end(),
            [](const v1::Point* a, const v1::Point* b) { return a->t_ms() < b->t_ms(); });
  if (baseline.size() < kMinBaseline) {
    out.note =
        absl::StrFormat("baseline [now-%s, now-%s) has %d points (need %d); onset = now",
                        FormatDuration(params.baseline_start_ms),
                        FormatDuration(params.baseline_end_ms), baseline.size(), kMinBaseline);
    return out;
  }
  if (recent.size() < 2 * kHalfWindow + 1) {
    out.note = absl::StrFormat("%d points in [now-%s, now]; onset = now", recent.size(),
                               FormatDuration(params.search_ms));
    return out;
  }
  double median = Median(baseline);
  std::vector<double> dev;
  dev.reserve(baseline.size());
  for (double v : baseline) dev.push_back(std::fabs(v - median));
  double sigma = 1.4826 * Median(dev);
  sigma = std::max(sigma, 1e-9 + 1e-6 * std::fabs(median));
  out.baseline_median = median;

  std::vector<double> z(recent.size());
  std::vector<double> smoothed(recent.size());
  for (size_t i = 0; i < recent.size(); ++i) {
    size_t lo = i >= kHalfWindow ? i - kHalfWindow : 0;
    size_t hi = std::min(recent.size() - 1, i + kHalfWindow);
    std::vector<double> w;
    for (size_t j = lo; j <= hi; ++j) w.push_back(recent[j]->value());
    smoothed[i] = Median(std::move(w));
    z[i] = (smoothed[i] - median) / sigma;
  }
  size_t last = recent.size() - 1;
  out.current_median = smoothed[last];
  double k = params.band_sigmas;
  if (std::fabs(z[last]) <= k) {
    out.note = absl::StrFormat(
        "no deviation under way: at now the metric is %.4g, inside baseline %.4g +- %.3g; onset = "
        "now",
        smoothed[last], median, k * sigma);
    return out;
  }
  double sign = z[last] > 0 ? 1 : -1;
  size_t start = last;
  int gap = 0;
  for (size_t i = last; i-- > 0;) {
    if (sign * z[i] > k) {
      start = i;
      gap = 0;
    } else if (++gap > kMaxGap) {
      break;
    }
  }
  out.detected = true;
  out.onset_ms = recent[start]->t_ms();
  out.note =
      absl::StrFormat("left baseline %.4g +- %.3g at %s (now %.4g)%s", median, k * sigma,
                      FormatRfc3339(out.onset_ms), smoothed[last],
                      start == 0 ? "; the deviation began at or before the search window" : "");
  return out;
}

}  // namespace triage::rules
