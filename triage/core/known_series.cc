#include "triage/core/known_series.h"

namespace triage::core {

std::optional<std::vector<store::HeadPoint>> KnownSeries::Points(
    std::span<const collectors::WireSeries> series,
    std::span<const collectors::WireSample> samples) const {
  std::vector<store::HeadPoint> points;
  points.reserve(samples.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const collectors::WireSeries& s : series) {
    auto it = ids_.find(absl::string_view(s.labels.data(), s.labels.size()));
    if (it == ids_.end()) return std::nullopt;
    for (size_t i = s.first_sample; i < s.first_sample + s.count; ++i) {
      points.push_back({it->second, samples[i].t, samples[i].v});
    }
  }
  return points;
}

void KnownSeries::Learn(std::string_view labels, uint64_t id) {
  absl::MutexLock lock(&mu_);
  if (ids_.size() >= max_entries_) ids_.clear();
  ids_.insert_or_assign(std::string(labels), id);
}

size_t KnownSeries::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return ids_.size();
}

}  // namespace triage::core
