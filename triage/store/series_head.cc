// The store's side of the head (head.h): points of known series as one
// head_log record per write, flushed into chunks in bulk, read back at Open.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

std::optional<absl::Status> Store::AppendPoints(std::span<const HeadPoint> points) {
  {
    absl::ReaderMutexLock lock(&write_mu_);
    // After a failure or a short disk, the locked path decides when writes resume.
    if (write_failed_ || !writable_) return std::nullopt;
  }
  // Flushes failing (the disk): the head grows no further; the locked path
  // answers with the reason.
  if (HeadFull()) return std::nullopt;
  if (options_.min_free_bytes > 0) {  // Short of space: the locked path says so.
    absl::StatusOr<uint64_t> free = FreeBytes();
    if (free.ok() && *free < options_.min_free_bytes + points.size() * 24) return std::nullopt;
  }
  rocksdb::WriteBatch wb;
  const uint64_t record = PutHeadRecord(points, &wb);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  absl::Status s = ToAbsl(db_->Write(wo, &wb), "write points");
  if (!s.ok()) {
    absl::MutexLock lock(&write_mu_);
    return AfterWrite(s);
  }
  head_.Append(record, points);
  FlushHeadIfFull();
  return s;
}

uint64_t Store::PutHeadRecord(std::span<const HeadPoint> points, rocksdb::WriteBatch* wb) {
  std::string value;
  EncodeHeadRecord(points, &value);
  const uint64_t record = next_head_record_.fetch_add(1);
  std::string key;
  PutU64(&key, record);
  wb->Put(cf(kHeadLog), key, value);
  return record;
}

void Store::FlushHeadIfFull() {
  if (options_.head_max_samples == 0 || head_.samples() < options_.head_max_samples) return;
  if (!flush_mu_.TryLock()) return;  // A flush is under way.
  // The points are in the WAL and the head: a flush that fails now is
  // retried by a later write, and the head log keeps them meanwhile.
  FlushHeadHoldingFlushLock().IgnoreError();
  flush_mu_.Unlock();
}

absl::Status Store::FlushHead() {
  absl::MutexLock flush(&flush_mu_);
  return FlushHeadHoldingFlushLock();
}

absl::Status Store::FlushHeadHoldingFlushLock() { return FlushHeadWith(/*write_mu_held=*/false); }

absl::Status Store::FlushHeadLocked() { return FlushHeadWith(/*write_mu_held=*/true); }

absl::Status Store::FlushHeadWith(bool write_mu_held) {
  std::shared_ptr<const Head::Part> part = head_.Freeze();
  if (part == nullptr) return absl::OkStatus();
  rocksdb::WriteBatch wb;
  BuildHeadFlush(*part, &wb);  // Without write_mu_ unless held: writers go on meanwhile.
  absl::Status s = FlushFits(wb);
  if (s.ok() && write_mu_held) {
    s = Commit(&wb, "flush head");
  } else if (s.ok()) {
    absl::MutexLock lock(&write_mu_);
    s = Commit(&wb, "flush head");
  }
  head_.Unfreeze(s.ok());
  return s;
}

// A flush is no client's write: short of space it waits (the head keeps its
// points) without marking the store unwritable, as a refused write would.
absl::Status Store::FlushFits(const rocksdb::WriteBatch& wb) const {
  if (options_.min_free_bytes == 0) return absl::OkStatus();
  absl::StatusOr<uint64_t> free = FreeBytes();
  if (free.ok() && *free < options_.min_free_bytes + wb.GetDataSize()) {
    return absl::UnavailableError("store: no room to flush the head above the reserve yet");
  }
  return absl::OkStatus();
}

// The part's points as chunk merges, and the deletion of its head_log records.
void Store::BuildHeadFlush(const Head::Part& part, rocksdb::WriteBatch* wb) const {
  std::vector<uint64_t> ids;
  ids.reserve(part.series.size());
  for (const auto& [id, samples] : part.series) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::vector<Sample> samples;
  for (uint64_t id : ids) {
    const std::vector<Sample>& in = part.series.at(id);
    samples.assign(in.begin(), in.end());
    MergeSamples(id, &samples, wb);
  }
  std::string key;
  for (uint64_t record : part.records) {
    key.clear();
    PutU64(&key, record);
    wb->Delete(cf(kHeadLog), key);
  }
}

absl::Status Store::LoadHead() {
  std::vector<HeadPoint> points;
  uint64_t last = 0;
  absl::Status s = Scan(kHeadLog, "", "", [&](std::string_view k, std::string_view v) {
    uint64_t seq = 0;
    if (!GetU64(&k, &seq)) return absl::DataLossError("store: head_log: malformed key");
    points.clear();
    if (absl::Status d = DecodeHeadRecord(v, &points); !d.ok()) return d;
    head_.Append(seq, points);
    last = std::max(last, seq);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  next_head_record_ = last + 1;
  return absl::OkStatus();
}

}  // namespace triage::store
