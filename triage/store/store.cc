#include "triage/store/store.h"

#include <sys/statvfs.h>

#include <bit>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/validate.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/write_batch.h"
#include "proto/model/time.h"
#include "triage/store/keys.h"

namespace triage::store {

// Column families in append-only order: a new kind goes at the end.
enum Store::Cf : int {
  kDefault,
  kChanges,
  kChangeIds,
  kSeriesIndex,
  kSeriesChunks,
  kHistograms,
  kFeatureEdges,
  kUpstream,
  kEvalSets,
  kDependencyHealth,
  kDependencies,
  kIncidents,
  kReports,
  kIncidentStates,
  kDeliveries,
  kDrills,
  kNumCf,
};

namespace {

constexpr const char* kCfNames[] = {
    "default",       "changes",           "change_ids",    "series_index",
    "series_chunks", "histograms",        "feature_edges", "upstream",
    "eval_sets",     "dependency_health", "dependencies",  "incidents",
    "reports",       "incident_states",   "deliveries",    "drills",
};

constexpr char kNextSeriesIdKey[] = "next_series_id";
constexpr char kInsufficientStorage[] = "triage.v1/insufficient_storage";

// Serializes `m`, refusing what could not be read back (proto3 strings must
// be UTF-8; a value that fails to parse would break every later read).
absl::Status Encode(const google::protobuf::Message& m, std::string* out) {
  out->clear();
  if (!m.SerializeToString(out)) {
    return absl::InvalidArgumentError("store: cannot serialize " + m.GetTypeName());
  }
  std::unique_ptr<google::protobuf::Message> back(m.New());
  if (!back->ParseFromString(*out)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "store: refusing to store a %s that could not be read back (a string is not valid UTF-8)",
        m.GetTypeName()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StatvfsFree(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrFormat("statvfs %s: %s", path, std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

absl::Status ToAbsl(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrFormat("store: %s: %s", what, s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

int64_t BlockStart(int64_t t_ms) {
  int64_t q = t_ms / kChunkMs;
  if (t_ms % kChunkMs < 0) --q;
  return q * kChunkMs;
}

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

// Drops records older than the retention cutoff during compaction. `time_of`
// reads a record's time from its key (nullopt keeps the record).
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  using TimeOf = std::optional<int64_t> (*)(std::string_view key);
  RetentionFilter(const Clock* clock, int64_t retention_ms, TimeOf time_of, const char* name)
      : clock_(clock), retention_ms_(retention_ms), time_of_(time_of), name_(name) {}

  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    return Expired(key);
  }
  // Series chunks are written as merge operands; those expire the same way.
  bool FilterMergeOperand(int, const rocksdb::Slice& key, const rocksdb::Slice&) const override {
    return Expired(key);
  }
  bool Expired(const rocksdb::Slice& key) const {
    std::optional<int64_t> t = time_of_(std::string_view(key.data(), key.size()));
    return t.has_value() && *t < clock_->NowMs() - retention_ms_;
  }
  const char* Name() const override { return name_; }

 private:
  const Clock* clock_;
  int64_t retention_ms_;
  TimeOf time_of_;
  const char* name_;
};

std::optional<int64_t> ChangeTime(std::string_view key) {
  std::optional<ChangeKey> k = ChangeKey::Decode(key);
  return k ? std::optional<int64_t>(k->time_ms) : std::nullopt;
}
std::optional<int64_t> ChunkEnd(std::string_view key) {
  std::optional<ChunkKey> k = ChunkKey::Decode(key);
  return k ? std::optional<int64_t>(k->block_start_ms + kChunkMs) : std::nullopt;
}
std::optional<int64_t> HistogramEnd(std::string_view key) {
  std::optional<HistogramKey> k = HistogramKey::Decode(key);
  return k ? std::optional<int64_t>(k->end_ms) : std::nullopt;
}
std::optional<int64_t> PairTime(std::string_view key) {
  std::optional<PairTimeKey> k = PairTimeKey::Decode(key);
  return k ? std::optional<int64_t>(k->time_ms) : std::nullopt;
}
std::optional<int64_t> EvalSetTime(std::string_view key) {
  std::optional<EvalSetKey> k = EvalSetKey::Decode(key);
  return k ? std::optional<int64_t>(k->time_ms) : std::nullopt;
}

const SystemClock kSystemClock;

bool SameEdges(const v1::Histogram& a, const v1::Histogram& b) {
  if (a.edges_size() != b.edges_size()) return false;
  for (int i = 0; i < a.edges_size(); ++i) {
    if (a.edges(i) != b.edges(i)) return false;
  }
  return true;
}

}  // namespace

bool IsInsufficientStorage(const absl::Status& status) {
  return status.GetPayload(kInsufficientStorage).has_value();
}

Store::Store(std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters,
             StoreOptions options)
    : options_(std::move(options)), filters_(std::move(filters)) {}

Store::~Store() {
  if (db_ == nullptr) return;  // Open failed: nothing to close.
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
}

absl::Status Store::BeforeWrite(uint64_t bytes) {
  if (options_.min_free_bytes > 0) {
    absl::StatusOr<uint64_t> free = FreeBytes();
    if (free.ok() && *free < options_.min_free_bytes + bytes) {
      std::string why = absl::StrFormat(
          "store: %d bytes free on the store's disk, below the reserve of %d "
          "(--min-free-disk-bytes); writes resume when space is freed",
          *free, options_.min_free_bytes);
      {
        absl::MutexLock lock(&writable_mu_);
        unwritable_reason_ = why;
      }
      writable_ = false;
      absl::Status s = absl::UnavailableError(why);
      s.SetPayload(kInsufficientStorage, absl::Cord("1"));
      return s;
    }
  }
  if (write_failed_) {
    // A write failed inside RocksDB (a background error puts it in read-only
    // mode); space is back, so leave that mode. Busy: RocksDB is recovering
    // by itself; the client retries.
    rocksdb::Status r = db_->Resume();
    if (!r.ok()) {
      return absl::UnavailableError(
          absl::StrFormat("store: recovering from a failed write (%s); retry", r.ToString()));
    }
    write_failed_ = false;
  }
  writable_ = true;
  return absl::OkStatus();
}

absl::Status Store::AfterWrite(absl::Status s) {
  if (!s.ok()) {
    write_failed_ = true;
    absl::MutexLock lock(&writable_mu_);
    unwritable_reason_ = std::string(s.message());
    writable_ = false;
  }
  return s;
}

absl::Status Store::Commit(rocksdb::WriteBatch* wb, std::string_view what) {
  if (absl::Status s = BeforeWrite(wb->GetDataSize()); !s.ok()) return s;
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return AfterWrite(ToAbsl(db_->Write(wo, wb), what));
}

absl::Status Store::Writable() const {
  if (options_.min_free_bytes > 0) {
    absl::StatusOr<uint64_t> free = FreeBytes();
    if (free.ok() && *free < options_.min_free_bytes) {
      return absl::UnavailableError(absl::StrFormat(
          "%d bytes free on the store's disk, below the reserve of %d", *free,
          options_.min_free_bytes));
    }
  }
  if (writable_) return absl::OkStatus();
  absl::MutexLock lock(&writable_mu_);
  return absl::UnavailableError(unwritable_reason_);
}

uint64_t Store::SeriesCount() const { return series_count_.load(); }

absl::StatusOr<uint64_t> Store::FreeBytes() const {
  return options_.free_bytes ? options_.free_bytes() : StatvfsFree(options_.path);
}

rocksdb::ColumnFamilyHandle* Store::cf(Cf c) const { return handles_[c]; }

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.allow_concurrent_memtable_write = false;  // Needed by the hash memtable.
  if (options.max_wal_bytes > 0) db_options.max_total_wal_size = options.max_wal_bytes;
  if (options.env != nullptr) db_options.env = options.env;
  // Memtables take at most this much memory (and so a flush writes at most
  // this much); with a free-space reserve they take half of it, so a flush
  // always fits in the reserve, and compactions start only when their
  // output fits too (the SstFileManager checks).
  db_options.db_write_buffer_size = 64 << 20;
  if (options.min_free_bytes > 0) {
    db_options.db_write_buffer_size =
        std::max<uint64_t>(1 << 20, std::min<uint64_t>(64 << 20, options.min_free_bytes / 2));
    db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(db_options.env));
    db_options.sst_file_manager->SetCompactionBufferSize(options.min_free_bytes / 2);
  }

  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters(kNumCf);
  if (options.retention_ms > 0) {
    const Clock* clock = options.clock != nullptr ? options.clock : &kSystemClock;
    auto add = [&](Cf c, RetentionFilter::TimeOf time_of) {
      filters[c] = std::make_unique<RetentionFilter>(clock, options.retention_ms, time_of,
                                                     "triage.Retention");
    };
    add(kChanges, ChangeTime);
    add(kSeriesChunks, ChunkEnd);
    add(kHistograms, HistogramEnd);
    add(kUpstream, PairTime);
    add(kDependencyHealth, PairTime);
    add(kEvalSets, EvalSetTime);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int c = 0; c < kNumCf; ++c) {
    rocksdb::ColumnFamilyOptions cf_options;
    if (c == kSeriesChunks) {
      cf_options.merge_operator = std::make_shared<ChunkMergeOperator>();
      // Every read of chunks stays inside one series (the 8-byte id prefix),
      // so the memtable hashes by series: an append is a short skip list
      // insert instead of one into a list of every sample in the memtable.
      cf_options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
      cf_options.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(1 << 16));
      cf_options.write_buffer_size = 8 << 20;
    }
    if (filters[c] != nullptr) {
      cf_options.compaction_filter = filters[c].get();
      cf_options.periodic_compaction_seconds = 24 * 60 * 60;  // Old files get filtered too.
    }
    descriptors.emplace_back(kCfNames[c], cf_options);
  }
  auto store = std::unique_ptr<Store>(new Store(std::move(filters), options));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, descriptors, &store->handles_, &raw);
  if (!s.ok()) {
    std::string why = s.ToString();
    if (why.find("/LOCK") != std::string::npos || why.find("lock hold") != std::string::npos) {
      return absl::UnavailableError(absl::StrFormat(
          "store %s is in use by another process (its LOCK is held: is another triaged "
          "running on this data dir?)",
          options.path));
    }
    return absl::UnavailableError(absl::StrFormat("cannot open store %s: %s", options.path, why));
  }
  store->db_.reset(raw);
  std::string next;
  s = store->db_->Get(rocksdb::ReadOptions(), store->cf(kDefault), kNextSeriesIdKey, &next);
  if (s.ok()) {
    std::string_view in = next;
    uint64_t id = 1;
    if (!GetU64(&in, &id)) return absl::DataLossError("store: bad next_series_id");
    absl::MutexLock lock(&store->write_mu_);
    store->next_series_id_ = id;
    store->series_count_ = id - 1;
  } else if (!s.IsNotFound()) {
    return ToAbsl(s, "read next_series_id");
  }
  return store;
}

absl::Status Store::CompactAll() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    absl::Status s = ToAbsl(db_->CompactRange(o, h, nullptr, nullptr), "compact");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Store::SeriesId(const v1::Series& series, rocksdb::WriteBatch* wb,
                                         uint64_t* next_id, std::vector<std::string>* new_keys) {
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
    if (options_.max_series > 0 && *next_id - 1 >= options_.max_series) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "series limit: %d series are stored, the limit is %d (--max-series); %s{%s} is new",
          *next_id - 1, options_.max_series, series.metric(),
          svc != series.labels().end() ? "service=\"" + svc->second + "\"" : ""));
    }
    id = (*next_id)++;
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
  new_keys->push_back(k);
  series_ids_.emplace(std::move(k), id);
  return id;
}

absl::Status Store::Write(const v1::RecordBatch& batch) {
  absl::MutexLock lock(&write_mu_);
  rocksdb::WriteBatch wb;
  rocksdb::ReadOptions ro;

  if (batch.dependencies_size() > 0) {
    absl::StatusOr<rules::DependencyGraph> graph = Dependencies();
    if (!graph.ok()) return graph.status();
    for (const v1::Dependency& d : batch.dependencies()) {
      graph->Set(d.service(), {d.depends_on().begin(), d.depends_on().end()});
    }
    std::vector<std::string> cycle = graph->FindCycle();
    if (!cycle.empty()) {
      return collectors::InvalidField(
          "dependencies", absl::StrFormat("dependency cycle: %s", absl::StrJoin(cycle, " -> ")));
    }
    for (const v1::Dependency& d : batch.dependencies()) {
      if (absl::Status e = Put(&wb, kDependencies, NameKey(d.service()), d); !e.ok()) return e;
    }
  }

  // Changes: the last event of a repeated id wins, in the batch and the store.
  std::map<std::string, const v1::Change*> changes;
  for (const v1::Change& c : batch.changes()) changes[c.id()] = &c;
  for (const auto& [id, c] : changes) {
    std::string old_time;
    rocksdb::Status s = db_->Get(ro, cf(kChangeIds), id, &old_time);
    if (s.ok()) {
      std::string_view in = old_time;
      int64_t t;
      if (GetTime(&in, &t)) wb.Delete(cf(kChanges), ChangeKey{t, id}.Encode());
    } else if (!s.IsNotFound()) {
      return ToAbsl(s, "read change id");
    }
    int64_t t = ToMs(c->time());
    std::string time_bytes;
    PutTime(&time_bytes, t);
    wb.Put(cf(kChangeIds), id, time_bytes);
    if (absl::Status e = Put(&wb, kChanges, ChangeKey{t, id}.Encode(), *c); !e.ok()) return e;
  }

  // Series: resolve ids, then merge points into chunks (no read).
  uint64_t next_id = next_series_id_;
  // Ids allocated by this batch leave the cache again unless the batch commits.
  std::vector<std::string> new_keys;
  bool committed = false;
  absl::Cleanup forget_new_ids = [&] {
    if (committed) return;
    for (const std::string& k : new_keys) series_ids_.erase(k);
  };
  struct Sample {
    uint64_t id;
    int64_t t;
    double v;
  };
  std::vector<Sample> samples;
  for (const v1::Series& series : batch.series()) {
    absl::StatusOr<uint64_t> id = SeriesId(series, &wb, &next_id, &new_keys);
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
    wb.Merge(cf(kSeriesChunks), ChunkKey{id, block}.Encode(), chunk);
  }
  if (next_id != next_series_id_) {
    std::string v;
    PutU64(&v, next_id);
    wb.Put(cf(kDefault), kNextSeriesIdKey, v);
  }

  // Histograms: every numeric histogram of a feature shares its edges.
  std::map<std::string, const v1::Histogram*> edges_in_batch;
  for (int i = 0; i < batch.histograms_size(); ++i) {
    const v1::Histogram& h = batch.histograms(i);
    std::string fk = NameKey(h.service(), h.feature());
    const v1::Histogram* registered = nullptr;
    v1::Histogram stored;
    if (auto it = edges_in_batch.find(fk); it != edges_in_batch.end()) {
      registered = it->second;
    } else {
      absl::Status s = GetMessage(kFeatureEdges, fk, &stored);
      if (s.ok()) {
        registered = &stored;
      } else if (!absl::IsNotFound(s)) {
        return s;
      }
    }
    if (registered != nullptr && !SameEdges(*registered, h)) {
      return collectors::InvalidField(
          absl::StrFormat("histograms[%d].edges", i),
          absl::StrFormat("feature %s of service %s has %d registered edges [%s]; this "
                          "histogram has %d [%s]",
                          h.feature(), h.service(), registered->edges_size(),
                          absl::StrJoin(registered->edges(), ","), h.edges_size(),
                          absl::StrJoin(h.edges(), ",")));
    }
    if (registered == nullptr) {
      v1::Histogram edges_only;
      edges_only.set_service(h.service());
      edges_only.set_feature(h.feature());
      *edges_only.mutable_edges() = h.edges();
      if (absl::Status e = Put(&wb, kFeatureEdges, fk, edges_only); !e.ok()) return e;
      edges_in_batch[fk] = &h;
    }
    if (absl::Status e = Put(&wb, kHistograms,
                             HistogramKey{h.service(), h.feature(), ToMs(h.start()), ToMs(h.end())}
                                 .Encode(),
                             h);
        !e.ok()) {
      return e;
    }
  }

  for (const v1::Upstream& u : batch.upstreams()) {
    absl::Status e =
        Put(&wb, kUpstream, PairTimeKey{u.consumer(), u.source(), ToMs(u.time())}.Encode(), u);
    if (!e.ok()) return e;
  }
  for (const v1::EvalSet& e : batch.eval_sets()) {
    absl::Status st = Put(&wb, kEvalSets, EvalSetKey{e.service(), ToMs(e.time()), e.name()}.Encode(), e);
    if (!st.ok()) return st;
  }
  for (const v1::DependencyHealth& d : batch.dependency_health()) {
    absl::Status e = Put(&wb, kDependencyHealth,
                         PairTimeKey{d.service(), d.check(), ToMs(d.time())}.Encode(), d);
    if (!e.ok()) return e;
  }

  absl::Status s = Commit(&wb, "write batch");
  if (s.ok()) {
    next_series_id_ = next_id;
    series_count_ = next_id - 1;
    committed = true;
  }
  return s;
}

absl::Status Store::Put(rocksdb::WriteBatch* wb, Cf c, std::string_view key,
                        const google::protobuf::Message& m) {
  std::string value;
  if (absl::Status s = Encode(m, &value); !s.ok()) return s;
  wb->Put(cf(c), rocksdb::Slice(key.data(), key.size()), value);
  return absl::OkStatus();
}

absl::Status Store::PutMessage(Cf c, const std::string& key, const google::protobuf::Message& m) {
  rocksdb::WriteBatch wb;
  if (absl::Status s = Put(&wb, c, key, m); !s.ok()) return s;
  absl::MutexLock lock(&write_mu_);
  return Commit(&wb, kCfNames[c]);
}

absl::Status Store::GetMessage(Cf c, const std::string& key, google::protobuf::Message* m) const {
  std::string v;
  absl::Status s = ToAbsl(db_->Get(rocksdb::ReadOptions(), cf(c), key, &v), kCfNames[c]);
  if (!s.ok()) return s;
  if (!m->ParseFromString(v)) {
    return absl::DataLossError(absl::StrFormat("store: %s: undecodable value", kCfNames[c]));
  }
  return absl::OkStatus();
}

template <typename Fn>
absl::Status Store::Scan(Cf c, const std::string& lower, const std::string& upper, Fn fn) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(c)));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    absl::Status s = fn(std::string_view(it->key().data(), it->key().size()),
                        std::string_view(it->value().data(), it->value().size()));
    if (!s.ok()) return s;
  }
  return ToAbsl(it->status(), std::string("scan ") + kCfNames[c]);
}

namespace {

// The first key after every key that starts with `prefix`.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // Empty: no upper bound.
}

template <typename M>
absl::Status ParseInto(std::string_view v, std::vector<M>* out) {
  M m;
  if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError("store: undecodable " + m.GetTypeName());
  }
  out->push_back(std::move(m));
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::PutIncidentRecords(const v1::Incident* incident, const v1::IncidentState* state,
                                       const v1::TriageReport* report) {
  rocksdb::WriteBatch wb;
  absl::Status s;
  if (incident != nullptr) s.Update(Put(&wb, kIncidents, incident->id(), *incident));
  if (state != nullptr) s.Update(Put(&wb, kIncidentStates, state->id(), *state));
  if (report != nullptr) s.Update(Put(&wb, kReports, report->incident_id(), *report));
  if (!s.ok()) return s;
  absl::MutexLock lock(&write_mu_);
  return Commit(&wb, "write incident");
}

absl::StatusOr<v1::IncidentState> Store::GetIncidentState(const std::string& id) const {
  v1::IncidentState m;
  absl::Status s = GetMessage(kIncidentStates, id, &m);
  if (absl::IsNotFound(s)) return absl::NotFoundError("no alert state for incident " + id);
  if (!s.ok()) return s;
  return m;
}

absl::StatusOr<std::vector<v1::IncidentState>> Store::ListIncidentStates() const {
  std::vector<v1::IncidentState> out;
  absl::Status s = Scan(kIncidentStates, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<uint64_t> Store::EnqueueDelivery(v1::Delivery delivery, size_t max_queued,
                                                std::vector<v1::Delivery>* dropped) {
  absl::MutexLock lock(&write_mu_);
  if (!deliveries_loaded_) {
    std::string last;
    absl::Status s = Scan(kDeliveries, "", "", [&](std::string_view k, std::string_view) {
      std::string_view in = k;
      uint64_t seq;
      if (GetU64(&in, &seq)) {
        next_delivery_seq_ = std::max(next_delivery_seq_, seq + 1);
        ++queued_deliveries_;
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    deliveries_loaded_ = true;
  }
  rocksdb::WriteBatch wb;
  // Bounded: the oldest deliveries make room.
  if (queued_deliveries_ >= max_queued) {
    size_t to_drop = queued_deliveries_ - max_queued + 1;
    absl::Status s = Scan(kDeliveries, "", "", [&](std::string_view k, std::string_view v) {
      if (to_drop == 0) return absl::OkStatus();
      v1::Delivery d;
      if (d.ParseFromArray(v.data(), static_cast<int>(v.size())) && dropped != nullptr) {
        dropped->push_back(d);
      }
      wb.Delete(cf(kDeliveries), std::string(k));
      --to_drop;
      --queued_deliveries_;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  delivery.set_seq(next_delivery_seq_);
  std::string key;
  PutU64(&key, delivery.seq());
  if (absl::Status e = Put(&wb, kDeliveries, key, delivery); !e.ok()) return e;
  absl::Status s = Commit(&wb, "enqueue delivery");
  if (!s.ok()) return s;
  ++next_delivery_seq_;
  ++queued_deliveries_;
  return delivery.seq();
}

absl::StatusOr<std::vector<v1::Delivery>> Store::Deliveries() const {
  std::vector<v1::Delivery> out;
  absl::Status s = Scan(kDeliveries, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::Status Store::UpdateDelivery(const v1::Delivery& delivery) {
  std::string key;
  PutU64(&key, delivery.seq());
  return PutMessage(kDeliveries, key, delivery);
}

absl::Status Store::DeleteDelivery(uint64_t seq) {
  std::string key;
  PutU64(&key, seq);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  absl::MutexLock lock(&write_mu_);
  // Deletes are taken even below the free-space reserve: they free space.
  absl::Status s = AfterWrite(ToAbsl(db_->Delete(wo, cf(kDeliveries), key), "delete delivery"));
  if (s.ok() && queued_deliveries_ > 0) --queued_deliveries_;
  return s;
}

absl::Status Store::PutDrill(const v1::Drill& drill) {
  return PutMessage(kDrills, drill.id(), drill);
}

absl::StatusOr<v1::Drill> Store::GetDrill(const std::string& id) const {
  v1::Drill m;
  absl::Status s = GetMessage(kDrills, id, &m);
  if (absl::IsNotFound(s)) return absl::NotFoundError("no drill " + id);
  if (!s.ok()) return s;
  return m;
}

absl::Status Store::DeleteDrill(const std::string& id) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  absl::MutexLock lock(&write_mu_);
  return AfterWrite(ToAbsl(db_->Delete(wo, cf(kDrills), id), "delete drill"));
}

absl::StatusOr<std::vector<v1::Drill>> Store::ListDrills() const {
  std::vector<v1::Drill> out;
  absl::Status s = Scan(kDrills, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Store::Features() const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = Scan(kFeatureEdges, "", "", [&](std::string_view k, std::string_view) {
    std::string service, feature;
    if (GetName(&k, &service) && GetName(&k, &feature)) out.emplace_back(service, feature);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status Store::PutIncident(const v1::Incident& incident) {
  return PutMessage(kIncidents, incident.id(), incident);
}

absl::StatusOr<v1::Incident> Store::GetIncident(const std::string& id) const {
  v1::Incident m;
  absl::Status s = GetMessage(kIncidents, id, &m);
  if (absl::IsNotFound(s)) return absl::NotFoundError("no incident " + id);
  if (!s.ok()) return s;
  return m;
}

absl::StatusOr<std::vector<v1::Incident>> Store::ListIncidents() const {
  std::vector<v1::Incident> out;
  absl::Status s = Scan(kIncidents, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::Status Store::ScanIncidents(const std::string& after_id,
                                  const std::function<bool(v1::Incident)>& fn) const {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kIncidents)));
  for (after_id.empty() ? it->SeekToFirst() : it->Seek(after_id + std::string(1, '\0'));
       it->Valid(); it->Next()) {
    v1::Incident m;
    if (!m.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("store: undecodable triage.v1.Incident " + it->key().ToString());
    }
    if (!fn(std::move(m))) break;
  }
  return ToAbsl(it->status(), "scan incidents");
}

absl::Status Store::PutReport(const v1::TriageReport& report) {
  return PutMessage(kReports, report.incident_id(), report);
}

absl::StatusOr<v1::TriageReport> Store::GetReport(const std::string& incident_id) const {
  v1::TriageReport m;
  absl::Status s = GetMessage(kReports, incident_id, &m);
  if (absl::IsNotFound(s)) return absl::NotFoundError("no report for incident " + incident_id);
  if (!s.ok()) return s;
  return m;
}

absl::StatusOr<rules::DependencyGraph> Store::Dependencies() const {
  std::vector<v1::Dependency> deps;
  absl::Status s = Scan(kDependencies, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &deps); });
  if (!s.ok()) return s;
  rules::DependencyGraph g;
  for (const v1::Dependency& d : deps) {
    g.Set(d.service(), {d.depends_on().begin(), d.depends_on().end()});
  }
  return g;
}

absl::StatusOr<std::vector<v1::Change>> Store::ChangesBetween(int64_t from_ms,
                                                              int64_t to_ms) const {
  std::vector<v1::Change> out;
  if (to_ms < from_ms) return out;
  std::string lower, upper;
  PutTime(&lower, from_ms);
  PutTime(&upper, to_ms + 1);
  absl::Status s = Scan(kChanges, lower, upper,
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<v1::Change> Store::GetChange(const std::string& id) const {
  std::string t;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cf(kChangeIds), id, &t);
  if (rs.IsNotFound()) return absl::NotFoundError("no change " + id);
  if (!rs.ok()) return ToAbsl(rs, "read change id");
  std::string_view in = t;
  int64_t time_ms;
  if (!GetTime(&in, &time_ms)) return absl::DataLossError("store: bad change id entry");
  v1::Change c;
  absl::Status s = GetMessage(kChanges, ChangeKey{time_ms, id}.Encode(), &c);
  if (!s.ok()) return s;
  return c;
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

absl::StatusOr<std::vector<v1::Histogram>> Store::Histograms(const std::string& service,
                                                             int64_t from_ms, int64_t to_ms) const {
  std::vector<v1::Histogram> out;
  std::string prefix = HistogramKey::Prefix(service);
  absl::Status s =
      Scan(kHistograms, prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
        std::optional<HistogramKey> key = HistogramKey::Decode(k);
        if (!key) return absl::DataLossError("store: bad histogram key");
        if (key->start_ms >= to_ms || key->end_ms <= from_ms) {
          return absl::OkStatus();
        }
        return ParseInto(v, &out);
      });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<rules::FeatureSums>> Store::FeatureDistributions(
    const std::string& service, const rules::DriftWindow& window) const {
  absl::StatusOr<std::vector<v1::Histogram>> hs =
      Histograms(service, std::min(window.baseline_from, window.current_from), window.now);
  if (!hs.ok()) return hs.status();
  rules::FeatureAccumulator sums(window);
  for (const v1::Histogram& h : *hs) sums.Add(h);
  return sums.Finish();
}

namespace {

// Scans [first][second][time] keys under `first`, keeping from_ms <= time <= to_ms.
template <typename M, typename ScanFn>
absl::StatusOr<std::vector<M>> ScanPairTime(ScanFn scan, const std::string& first, int64_t from_ms,
                                            int64_t to_ms) {
  std::vector<M> out;
  std::string prefix = PairTimeKey::Prefix(first);
  absl::Status s = scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    std::optional<PairTimeKey> key = PairTimeKey::Decode(k);
    if (!key) return absl::DataLossError("store: bad key");
    if (key->time_ms < from_ms || key->time_ms > to_ms) return absl::OkStatus();
    return ParseInto(v, &out);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Upstream>> Store::UpstreamReports(const std::string& consumer,
                                                                 int64_t from_ms,
                                                                 int64_t to_ms) const {
  return ScanPairTime<v1::Upstream>([&](const std::string& lo, const std::string& hi,
                                        auto fn) { return Scan(kUpstream, lo, hi, fn); },
                                    consumer, from_ms, to_ms);
}

absl::StatusOr<std::vector<v1::DependencyHealth>> Store::Probes(const std::string& service,
                                                                int64_t from_ms,
                                                                int64_t to_ms) const {
  return ScanPairTime<v1::DependencyHealth>(
      [&](const std::string& lo, const std::string& hi, auto fn) {
        return Scan(kDependencyHealth, lo, hi, fn);
      },
      service, from_ms, to_ms);
}

absl::StatusOr<std::vector<v1::EvalSet>> Store::EvalSets(const std::string& service,
                                                         int64_t to_ms) const {
  std::vector<v1::EvalSet> out;
  std::string lower = EvalSetKey::Prefix(service);
  std::string upper = lower;
  PutTime(&upper, to_ms + 1);
  absl::Status s = Scan(kEvalSets, lower, upper,
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

}  // namespace triage::store
