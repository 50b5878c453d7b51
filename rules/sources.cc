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

void RollUp(const v1::Histogram& h, v1::FeatureDay* day) {
  const int64_t start = ToMs(h.start()), end = ToMs(h.end());
  if (h.edges_size() == 0) day->set_categorical(true);
  if (day->edges_size() == 0) *day->mutable_edges() = h.edges();
  if (day->counts_size() < h.counts_size()) day->mutable_counts()->Resize(h.counts_size(), 0);
  double total = day->total();
  for (int i = 0; i < h.counts_size(); ++i) {
    day->set_counts(i, day->counts(i) + h.counts(i));
    total += h.counts(i);
  }
  for (const auto& [k, c] : h.categories()) {
    (*day->mutable_categories())[k] += c;
    total += c;
  }
  day->set_total(total);
  std::vector<std::pair<int64_t, int64_t>> covered = {{start, end}};
  for (int i = 0; i < day->covered_start_ms_size(); ++i) {
    covered.emplace_back(day->covered_start_ms(i), day->covered_end_ms(i));
  }
  std::sort(covered.begin(), covered.end());
  day->clear_covered_start_ms();
  day->clear_covered_end_ms();
  for (const auto& [s, e] : covered) {
    const int n = day->covered_end_ms_size();
    if (n > 0 && s <= day->covered_end_ms(n - 1)) {
      day->set_covered_end_ms(n - 1, std::max(day->covered_end_ms(n - 1), e));
    } else {
      day->add_covered_start_ms(s);
      day->add_covered_end_ms(e);
    }
  }
  const bool first = day->histograms() == 0;
  day->set_min_start_ms(first ? start : std::min(day->min_start_ms(), start));
  day->set_max_end_ms(first ? end : std::max(day->max_end_ms(), end));
  day->set_histograms(day->histograms() + 1);
}

FeatureAccumulator::Entry& FeatureAccumulator::EntryOf(const std::string& service,
                                                       const std::string& feature) {
  Entry& e = features_[{service, feature}];
  if (e.first.feature.empty()) {
    e.first.service = service;
    e.first.feature = feature;
  }
  return e;
}

bool FeatureAccumulator::AddDay(const std::string& service, const std::string& feature,
                                const v1::FeatureDay& day) {
  const int64_t lo = std::min(window_.baseline_from, window_.current_from);
  if (day.histograms() == 0 || day.min_start_ms() >= window_.now || day.max_end_ms() <= lo) {
    return true;  // Every histogram is outside the span.
  }
  const bool none_current =
      day.max_end_ms() <= window_.current_from || day.min_start_ms() >= window_.now;
  const bool all_baseline =
      day.min_start_ms() >= window_.baseline_from && day.max_end_ms() <= window_.baseline_to;
  // (All baseline implies all in the span: start >= baseline_from >= lo.)
  if (!none_current || !all_baseline) return false;
  auto& [f, intervals] = EntryOf(service, feature);
  if (day.categorical()) f.categorical = true;
  if (f.edges.empty()) f.edges.assign(day.edges().begin(), day.edges().end());
  if (f.baseline.size() < static_cast<size_t>(day.counts_size()))
    f.baseline.resize(day.counts_size());
  for (int i = 0; i < day.counts_size(); ++i) f.baseline[i] += day.counts(i);
  for (const auto& [k, c] : day.categories()) f.baseline_cat[k] += c;
  f.baseline_total += day.total();
  for (int i = 0; i < day.covered_start_ms_size(); ++i) {
    intervals.emplace_back(day.covered_start_ms(i), day.covered_end_ms(i));
  }
  return true;
}

void FeatureAccumulator::Add(const v1::Histogram& h) {
  const int64_t start = ToMs(h.start()), end = ToMs(h.end());
  const bool current = start < window_.now && end > window_.current_from;
  const bool baseline = start >= window_.baseline_from && end <= window_.baseline_to;
  // A feature seen anywhere in the span is listed (with nothing current, say).
  if (start >= window_.now || end <= std::min(window_.baseline_from, window_.current_from)) return;
  auto& [f, intervals] = EntryOf(h.service(), h.feature());
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
