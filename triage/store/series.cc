// Series: points in chunks of kChunkMs per series, written with RocksDB
// Merge (no read on the write path) and read back in time order.
#include <bit>

#include "absl/strings/str_format.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/write_batch.h"
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

// Merges encoded chunks (each sorted by time), a later piece winning on equal
// timestamps. Appends, the common case, are a plain concatenation.
std::string MergeChunks(const std::vector<std::string_view>& pieces) {
  auto first_time = [](std::string_view v) {
    int64_t t = 0;
    GetTime(&v, &t);
    return t;
  };
  auto last_time = [](std::string_view v) {
    v.remove_prefix(v.size() - 16);
    int64_t t = 0;
    GetTime(&v, &t);
    return t;
  };
  bool ordered = true;
  size_t total = 0;
  std::string_view prev;
  for (std::string_view p : pieces) {
    total += p.size();
    if (p.size() < 16) continue;
    if (!prev.empty() && first_time(p) <= last_time(prev)) ordered = false;
    prev = p;
  }
  std::string out;
  out.reserve(total);
  if (ordered) {
    for (std::string_view p : pieces) out.append(p.substr(0, p.size() / 16 * 16));
    return out;
  }
  struct Entry {
    int64_t t;
    uint64_t bits;
  };
  std::vector<Entry> entries;
  entries.reserve(total / 16);
  for (std::string_view p : pieces) {
    while (p.size() >= 16) {
      Entry e;
      GetTime(&p, &e.t);
      GetU64(&p, &e.bits);
      entries.push_back(e);
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.t < b.t; });
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].t == entries[i].t) continue;  // Later wins.
    PutTime(&out, entries[i].t);
    PutU64(&out, entries[i].bits);
  }
  return out;
}

// Series chunks are written with Merge: each operand holds new points of the
// chunk, merged in order with MergeChunks. Writes never read.
class ChunkMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<std::string_view> pieces;
    pieces.reserve(in.operand_list.size() + 1);
    if (in.existing_value != nullptr) {
      pieces.emplace_back(in.existing_value->data(), in.existing_value->size());
    }
    for (const rocksdb::Slice& op : in.operand_list) pieces.emplace_back(op.data(), op.size());
    out->new_value = MergeChunks(pieces);
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger*) const override {
    std::vector<std::string_view> pieces;
    for (const rocksdb::Slice& op : operands) pieces.emplace_back(op.data(), op.size());
    *new_value = MergeChunks(pieces);
    return true;
  }
  const char* Name() const override { return "triage.ChunkMerge"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewChunkMergeOperator() {
  return std::make_shared<ChunkMergeOperator>();
}

absl::StatusOr<uint64_t> Store::SeriesId(const v1::Series& series, rocksdb::WriteBatch* wb,
                                         SeriesIds* ids) {
  std::vector<std::pair<std::string_view, std::string_view>> labels(series.labels().begin(),
                                                                    series.labels().end());
  std::sort(labels.begin(), labels.end());
  auto svc = series.labels().find("service");
  std::string k = EncodeSeriesIndexKey(svc != series.labels().end() ? svc->second : "",
                                       series.metric(), labels);
  if (auto it = series_ids_.find(k); it != series_ids_.end()) return it->second;
  uint64_t id = 0;
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kSeriesIndex), k, &v);
  if (s.ok()) {
    std::string_view in = v;
    if (!GetU64(&in, &id)) return absl::DataLossError("store: bad series index entry");
  } else if (s.IsNotFound()) {
    if (options_.max_series > 0 && ids->next - 1 >= options_.max_series) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "series limit: %d series are stored, the limit is %d (--max-series); %s{%s} is new",
          ids->next - 1, options_.max_series, series.metric(),
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

// Resolves series ids, then merges points into chunks (no read).
absl::Status Store::WriteSeries(const v1::RecordBatch& batch, SeriesIds* ids,
                                rocksdb::WriteBatch* wb) {
  struct Sample {
    uint64_t id;
    int64_t t;
    double v;
  };
  std::vector<Sample> samples;
  for (const v1::Series& series : batch.series()) {
    absl::StatusOr<uint64_t> id = SeriesId(series, wb, ids);
    if (!id.ok()) return id.status();
    for (const v1::Point& p : series.points()) samples.push_back({*id, p.t_ms(), p.value()});
  }
  // Sorted by (series, time); of equal timestamps the last written wins.
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.id < b.id || (a.id == b.id && a.t < b.t);
  });
  std::string chunk;
  for (size_t i = 0; i < samples.size();) {
    const uint64_t id = samples[i].id;
    const int64_t block = BlockStart(samples[i].t);
    chunk.clear();
    for (; i < samples.size() && samples[i].id == id && BlockStart(samples[i].t) == block; ++i) {
      if (i + 1 < samples.size() && samples[i + 1].id == id && samples[i + 1].t == samples[i].t) {
        continue;  // A later value for the same timestamp follows.
      }
      PutTime(&chunk, samples[i].t);
      PutU64(&chunk, std::bit_cast<uint64_t>(samples[i].v));
    }
    wb->Merge(cf(kSeriesChunks), ChunkKey{id, block}.Encode(), chunk);
  }
  if (ids->next != next_series_id_) {
    std::string v;
    PutU64(&v, ids->next);
    wb->Put(cf(kDefault), kNextSeriesIdKey, v);
  }

  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Series>> Store::ReadSeries(const std::string& service,
                                                          const std::string& metric,
                                                          int64_t from_ms, int64_t to_ms) const {
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
  std::vector<v1::Series> out;
  for (auto& [id, series] : found) {
    if (to_ms >= from_ms) {
      // Chunks come back merged and sorted, and blocks are in time order, so
      // points append in order without a map.
      std::string lower = ChunkKey{id, BlockStart(from_ms)}.Encode();
      std::string upper = ChunkKey{id, BlockStart(to_ms) + kChunkMs}.Encode();
      s = Scan(kSeriesChunks, lower, upper, [&](std::string_view, std::string_view v) {
        while (v.size() >= 16) {
          int64_t t;
          uint64_t bits;
          GetTime(&v, &t);
          GetU64(&v, &bits);
          if (t < from_ms || t > to_ms) continue;
          v1::Point* p = series.add_points();
          p->set_t_ms(t);
          p->set_value(std::bit_cast<double>(bits));
        }
        return absl::OkStatus();
      });
      if (!s.ok()) return s;
    }
    out.push_back(std::move(series));
  }
  return out;
}

}  // namespace triage::store
