#include "rules/sources.h"

#include <algorithm>
#include <limits>

#include "proto/model/time.h"

namespace triage::rules {

namespace {

void AddCounts(const v1::Histogram& h, std::vector<double>* bins,
               std::map<std::string, double>* cats, double* total) {
  if (bins->size() < static_cast<size_t>(h.counts_size())) bins->resize(h.counts_size());
  for (int i = 0; i < h.counts_size(); ++i) {
    (*bins)[i] += h.counts(i);
    *total += h.counts(i);
  }
  for (const auto& [k, c] : h.categories()) {
    (*cats)[k] += c;
    *total += c;
  }
}

}  // namespace

int64_t Coverage(std::vector<std::pair<int64_t, int64_t>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  int64_t total = 0;
  int64_t cur_start = 0, cur_end = std::numeric_limits<int64_t>::min();
  for (const auto& [s, e] : intervals) {
    if (s > cur_end) {
      if (cur_end > cur_start) total += cur_end - cur_start;
      cur_start = s;
      cur_end = e;
    } else {
      cur_end = std::max(cur_end, e);
    }
  }
  if (cur_end > cur_start) total += cur_end - cur_start;
  return total;
}

void FeatureAccumulator::Add(const v1::Histogram& h) {
  const int64_t start = ToMs(h.start()), end = ToMs(h.end());
  const bool current = start < window_.now && end > window_.current_from;
  const bool baseline = start >= window_.baseline_from && end <= window_.baseline_to;
  // A feature seen anywhere in the span is listed (with nothing current, say).
  if (start >= window_.now || end <= std::min(window_.baseline_from, window_.current_from)) return;
  auto& [f, intervals] = features_[{h.service(), h.feature()}];
  if (f.feature.empty()) {
    f.service = h.service();
    f.feature = h.feature();
  }
  if (h.edges_size() == 0) f.categorical = true;
  if (f.edges.empty()) f.edges.assign(h.edges().begin(), h.edges().end());
  if (current) AddCounts(h, &f.current, &f.current_cat, &f.current_total);
  if (baseline) {
    AddCounts(h, &f.baseline, &f.baseline_cat, &f.baseline_total);
    intervals.emplace_back(start, end);
  }
}

std::vector<FeatureSums> FeatureAccumulator::Finish() {
  std::vector<FeatureSums> out;
  out.reserve(features_.size());
  for (auto& [key, entry] : features_) {
    entry.first.baseline_covered_ms = Coverage(std::move(entry.second));
    out.push_back(std::move(entry.first));
  }
  features_.clear();
  return out;
}

}  // namespace triage::rules
