// KnownSeries: remote_write's series ids by the bytes of their labels as the
// sender encodes them, so that a series seen before costs a hash lookup
// instead of a protobuf parse, the validator and the store's index key. Only
// ids of series a request stored after the whole validator passed it are
// learned. At most `max_entries` (past it the map starts over; the series
// are learned again by the slow path).
//
// Thread safety: every method is safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collectors/remote_write.h"
#include "triage/store/head.h"

namespace triage::core {

class KnownSeries {
 public:
  explicit KnownSeries(size_t max_entries) : max_entries_(max_entries) {}

  // The points of `series` (samples in `samples`) with their ids, when every
  // series is known; nullopt otherwise.
  std::optional<std::vector<store::HeadPoint>> Points(
      std::span<const collectors::WireSeries> series,
      std::span<const collectors::WireSample> samples) const;
  void Learn(std::string_view labels, uint64_t id);
  size_t size() const;

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace triage::core
