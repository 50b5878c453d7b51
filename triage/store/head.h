// Head: the newest points of stored series, in memory, before they go into
// chunks. A write of points to series that all have ids (remote_write's
// steady state) is one record in the head_log column family (in RocksDB's
// WAL before it is acknowledged) and an append here, instead of one chunk
// merge per series; Store::FlushHead moves the head into chunks in bulk and
// deletes the records it covered, and Store::Open reads the records back.
// Readers see the head beside the chunks until a flush has committed.
//
// Thread safety: every method is safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "triage/store/chunk_codec.h"

namespace triage::store {

struct HeadPoint {
  uint64_t id;  // The series id.
  int64_t t;
  double v;
};

// A head_log record: the points of one write. Pure functions.
void EncodeHeadRecord(std::span<const HeadPoint> points, std::string* out);
// DataLoss when `value` is not a whole record.
absl::Status DecodeHeadRecord(std::string_view value, std::vector<HeadPoint>* out);

// `sorted` (samples in time order, as chunks give them) with `newest` (the
// head's, in arrival order) merged in: in time order, the later of equal
// timestamps kept.
void MergeNewest(std::span<const Sample> newest, std::vector<Sample>* sorted);

class Head {
 public:
  // Points in arrival order per series, and the head_log records they came in.
  struct Part {
    absl::flat_hash_map<uint64_t, std::vector<Sample>> series;
    std::vector<uint64_t> records;
    size_t samples = 0;
  };

  // Adds the points of head_log record `record`.
  void Append(uint64_t record, std::span<const HeadPoint> points);
  // Samples in the head, the frozen part included.
  size_t samples() const;
  // Samples of series `id` in [from_ms, to_ms], appended to `out` in arrival
  // order (the frozen part's first).
  void Collect(uint64_t id, int64_t from_ms, int64_t to_ms, std::vector<Sample>* out) const;
  // Starts a flush: what was appended so far becomes the frozen part (still
  // read by Collect) and is returned; appends go on into a new part. Null
  // when a flush is already under way.
  std::shared_ptr<const Part> Freeze();
  // Ends the flush: `flushed` (its chunks committed) leaves the head, or,
  // when the flush failed, goes back in front of what came since.
  void Unfreeze(bool flushed);

 private:
  mutable absl::Mutex mu_;
  Part active_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Part> frozen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace triage::store
