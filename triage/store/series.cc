// Series: points in chunks of kChunkMs per series, written with RocksDB
// Merge (no read on the write path) and read back in time order.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/write_batch.h"
#include "triage/store/chunk_codec.h"
#include "triage/store/head.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

int64_t BlockStart(int64_t t_ms) {
  int64_t q = t_ms / kChunkMs;
  if (t_ms % kChunkMs < 0) --q;
  return q * kChunkMs;
}

namespace {

// Series chunks are written with Merge: each operand is a segment of new
// points of the chunk (chunk_codec.h), merged into one segment in time
// order. Writes never read. A piece that does not decode fails the merge:
// RocksDB reports the key as corrupt rather than dropping points.
class ChunkMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> pieces;
    pieces.reserve(in.operand_list.size() + 1);
    if (in.existing_value != nullptr) {
      pieces.emplace_back(in.existing_value->data(), in.existing_value->size());
    }
    for (const rocksdb::Slice& op : in.operand_list) pieces.emplace_back(op.data(), op.size());
    int corrupt = 0;
    out->new_value = MergeChunkPieces(pieces, &corrupt);
    return corrupt == 0;
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger*) const override {
    std::vector<std::string_view> pieces;
    for (const rocksdb::Slice& op : operands) pieces.emplace_back(op.data(), op.size());
    int corrupt = 0;
    *new_value = MergeChunkPieces(pieces, &corrupt);
    return corrupt == 0;
  }
  const char* Name() const override { return "triage.ChunkMerge"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewChunkMergeOperator() {
  return std::make_shared<ChunkMergeOperator>();
}

namespace {

// The series index key of `series` (its labels in name order).
std::string SeriesKeyOf(const v1::Series& series) {
  std::vector<std::pair<std::string_view, std::string_view>> labels(series.labels().begin(),
                                                                    series.labels().end());
  std::sort(labels.begin(), labels.end());
  auto svc = series.labels().find("service");
  return EncodeSeriesIndexKey(svc != series.labels().end() ? svc->second : "", series.metric(),
                              labels);
}

}  // namespace

absl::StatusOr<uint64_t> Store::SeriesId(const v1::Series& series, rocksdb::WriteBatch* wb,
                                         SeriesIds* ids) {
  std::string k = SeriesKeyOf(series);
  auto svc = series.labels().find("service");
  if (auto it = series_ids_.find(k); it != series_ids_.end()) return it->second;
  uint64_t id = 0;
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kSeriesIndex), k, &v);
  if (s.ok()) {
    std::string_view in = v;
    if (!GetU64(&in, &id)) return absl::DataLossError("store: bad series index entry");
  } else if (s.IsNotFound()) {
    const uint64_t stored = series_count_ + ids->pending + ids->new_keys.size();
    if (options_.max_series > 0 && stored >= options_.max_series) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "series limit: %d series are stored, the limit is %d (--max-series); %s{%s} is new",
          stored, options_.max_series, series.metric(),
          svc != series.labels().end() ? "service=\"" + svc->second + "\"" : ""));
    }
    id = (ids->next)++;
    v1::Series meta;
    meta.set_metric(series.metric());
    *meta.mutable_labels() = series.labels();
    std::string encoded;
    if (absl::Status e = Encode(meta, &encoded); !e.ok()) return e;
    std::string value;
    PutU64(&value, id);
    value.append(encoded);
    wb->Put(cf(kSeriesIndex), k, value);
  } else {
    return ToAbsl(s, "read series index");
  }
  ids->new_keys.push_back(k);
  series_ids_.emplace(std::move(k), id);
  return id;
}

// Resolves series ids, then hands the points to the head, or (a Bulk)
// merges them into chunks (no read).
absl::Status Store::WriteSeries(const v1::RecordBatch& batch, SeriesIds* ids,
                                rocksdb::WriteBatch* wb, std::vector<HeadPoint>* head_points) {
  std::vector<uint64_t> resolved;
  resolved.reserve(static_cast<size_t>(batch.series_size()));
  for (const v1::Series& series : batch.series()) {
    absl::StatusOr<uint64_t> id = SeriesId(series, wb, ids);
    if (!id.ok()) return id.status();
    resolved.push_back(*id);
  }
  if (head_points == nullptr) {
    MergePoints(batch, resolved, wb);
    return absl::OkStatus();
  }
  for (int i = 0; i < batch.series_size(); ++i) {
    for (const v1::Point& p : batch.series(i).points()) {
      head_points->push_back({resolved[static_cast<size_t>(i)], p.t_ms(), p.value()});
    }
  }
  return absl::OkStatus();
}

std::optional<uint64_t> Store::SeriesIdOf(const v1::Series& series) {
  std::string key = SeriesKeyOf(series);
  absl::ReaderMutexLock lock(&write_mu_);
  auto it = series_ids_.find(key);
  if (it == series_ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<absl::Status> Store::WriteKnownSeries(const v1::RecordBatch& batch) {
  std::vector<HeadPoint> points;
  {
    absl::ReaderMutexLock lock(&write_mu_);
    for (const v1::Series& series : batch.series()) {
      auto it = series_ids_.find(SeriesKeyOf(series));
      if (it == series_ids_.end()) return std::nullopt;
      for (const v1::Point& p : series.points())
        points.push_back({it->second, p.t_ms(), p.value()});
    }
  }
  return AppendPoints(points);
}

void Store::MergePoints(const v1::RecordBatch& batch, const std::vector<uint64_t>& ids,
                        rocksdb::WriteBatch* wb) const {
  std::vector<HeadPoint> points;
  for (int i = 0; i < batch.series_size(); ++i) {
    for (const v1::Point& p : batch.series(i).points()) {
      points.push_back({ids[static_cast<size_t>(i)], p.t_ms(), p.value()});
    }
  }
  // By series, then time; of equal timestamps the last written wins.
  std::stable_sort(points.begin(), points.end(),
                   [](const HeadPoint& a, const HeadPoint& b) { return a.id < b.id; });
  std::vector<Sample> samples;
  for (size_t i = 0; i < points.size();) {
    const uint64_t id = points[i].id;
    samples.clear();
    for (; i < points.size() && points[i].id == id; ++i)
      samples.push_back({points[i].t, points[i].v});
    MergeSamples(id, &samples, wb);
  }
}

void Store::MergeSamples(uint64_t id, std::vector<Sample>* samples, rocksdb::WriteBatch* wb) const {
  std::stable_sort(samples->begin(), samples->end(),
                   [](const Sample& a, const Sample& b) { return a.t < b.t; });
  std::vector<Sample> run;
  std::string segment;
  const std::vector<Sample>& s = *samples;
  for (size_t i = 0; i < s.size();) {
    const int64_t block = BlockStart(s[i].t);
    run.clear();
    for (; i < s.size() && BlockStart(s[i].t) == block; ++i) {
      if (i + 1 < s.size() && s[i + 1].t == s[i].t) continue;  // A later value follows.
      run.push_back(s[i]);
    }
    segment.clear();
    EncodeSegment(run, &segment);
    wb->Merge(cf(kSeriesChunks), ChunkKey{id, block}.Encode(), segment);
  }
}

absl::StatusOr<std::vector<v1::Series>> Store::ReadSeries(const std::string& service,
                                                          const std::string& metric,
                                                          int64_t from_ms, int64_t to_ms) const {
  absl::StatusOr<std::vector<SampleSeries>> read = ReadSamples(service, metric, from_ms, to_ms);
  if (!read.ok()) return read.status();
  std::vector<v1::Series> out;
  out.reserve(read->size());
  for (SampleSeries& s : *read) {
    s.meta.mutable_points()->Reserve(static_cast<int>(s.samples.size()));
    for (const Sample& x : s.samples) {
      v1::Point* p = s.meta.add_points();
      p->set_t_ms(x.t);
      p->set_value(x.v);
    }
    out.push_back(std::move(s.meta));
  }
  return out;
}

absl::StatusOr<std::vector<Store::SampleSeries>> Store::ReadSamples(const std::string& service,
                                                                    const std::string& metric,
                                                                    int64_t from_ms,
                                                                    int64_t to_ms) const {
  std::vector<std::pair<uint64_t, v1::Series>> found;
  std::string prefix = SeriesIndexKey::Prefix(service, metric);
  absl::Status s =
      Scan(kSeriesIndex, prefix, PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
        uint64_t id;
        if (!GetU64(&v, &id)) return absl::DataLossError("bad series index");
        v1::Series meta;
        if (!meta.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          return absl::DataLossError("bad series index");
        }
        found.emplace_back(id, std::move(meta));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  std::vector<SampleSeries> out;
  for (auto& [id, series] : found) {
    SampleSeries read{.meta = std::move(series), .samples = {}};
    // The head before the chunks: a flush committing in between shows its
    // points twice (once each), never not at all.
    std::vector<Sample> newest;
    if (to_ms >= from_ms) head_.Collect(id, from_ms, to_ms, &newest);
    if (to_ms >= from_ms) {
      // Chunks come back merged and sorted, and blocks are in time order, so
      // samples append in order; only the first and last block hold any
      // outside [from_ms, to_ms].
      std::string lower = ChunkKey{id, BlockStart(from_ms)}.Encode();
      std::string upper = ChunkKey{id, BlockStart(to_ms) + kChunkMs}.Encode();
      s = Scan(kSeriesChunks, lower, upper, [&](std::string_view, std::string_view v) {
        const size_t before = read.samples.size();
        if (absl::Status d = DecodeChunk(v, &read.samples); !d.ok()) return d;
        auto first = read.samples.begin() + static_cast<std::ptrdiff_t>(before);
        auto in = std::remove_if(first, read.samples.end(),
                                 [&](const Sample& x) { return x.t < from_ms || x.t > to_ms; });
        read.samples.erase(in, read.samples.end());
        return absl::OkStatus();
      });
      if (!s.ok()) return s;
    }
    if (!newest.empty()) MergeNewest(newest, &read.samples);
    out.push_back(std::move(read));
  }
  return out;
}

}  // namespace triage::store
