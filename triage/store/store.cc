#include "triage/store/store.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/validate.h"
#include "proto/model/time.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"

namespace triage::store {

namespace {

constexpr char kInsufficientStorage[] = "triage.v1/insufficient_storage";

absl::StatusOr<uint64_t> StatvfsFree(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrFormat("statvfs %s: %s", path, std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

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

absl::Status ToAbsl(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrFormat("store: %s: %s", what, s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

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

bool IsInsufficientStorage(const absl::Status& status) {
  return status.GetPayload(kInsufficientStorage).has_value();
}

Store::Store(std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters, StoreOptions options)
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
      return absl::UnavailableError(
          absl::StrFormat("%d bytes free on the store's disk, below the reserve of %d", *free,
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
  // No preallocated WAL or MANIFEST (4 MB each): on a small disk they would
  // eat the reserve before the first write.
  db_options.allow_fallocate = false;
  db_options.manifest_preallocation_size = 64 << 10;
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
      cf_options.merge_operator = NewChunkMergeOperator();
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
  if (absl::Status m = store->Migrate(); !m.ok()) return m;
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

absl::Status Store::Write(const v1::RecordBatch& batch) {
  absl::MutexLock lock(&write_mu_);
  rocksdb::WriteBatch wb;
  if (absl::Status s = WriteDependencies(batch, &wb); !s.ok()) return s;
  if (absl::Status s = WriteChanges(batch, &wb); !s.ok()) return s;
  SeriesIds ids{.next = next_series_id_};
  // Ids allocated by this batch leave the cache again unless the batch commits.
  bool committed = false;
  absl::Cleanup forget_new_ids = [&] {
    if (committed) return;
    for (const std::string& k : ids.new_keys) series_ids_.erase(k);
  };
  if (absl::Status s = WriteSeries(batch, &ids, &wb); !s.ok()) return s;
  if (absl::Status s = WriteHistograms(batch, &wb); !s.ok()) return s;
  if (absl::Status s = WriteReports(batch, &wb); !s.ok()) return s;
  absl::Status s = Commit(&wb, "write batch");
  if (s.ok()) {
    next_series_id_ = ids.next;
    series_count_ = ids.next - 1;
    committed = true;
  }
  return s;
}

// Dependencies replace a service's edges; a cycle refuses the batch.
absl::Status Store::WriteDependencies(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb) {
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
      if (absl::Status e = Put(wb, kDependencies, NameKey(d.service()), d); !e.ok()) return e;
    }
  }

  return absl::OkStatus();
}

absl::Status Store::WriteChanges(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb) {
  rocksdb::ReadOptions ro;
  // Changes: the last event of a repeated id wins, in the batch and the store.
  std::map<std::string, const v1::Change*> changes;
  for (const v1::Change& c : batch.changes()) changes[c.id()] = &c;
  for (const auto& [id, c] : changes) {
    std::string old_time;
    rocksdb::Status s = db_->Get(ro, cf(kChangeIds), id, &old_time);
    if (s.ok()) {
      std::string_view in = old_time;
      int64_t t;
      if (GetTime(&in, &t)) wb->Delete(cf(kChanges), ChangeKey{t, id}.Encode());
    } else if (!s.IsNotFound()) {
      return ToAbsl(s, "read change id");
    }
    int64_t t = ToMs(c->time());
    std::string time_bytes;
    PutTime(&time_bytes, t);
    wb->Put(cf(kChangeIds), id, time_bytes);
    if (absl::Status e = Put(wb, kChanges, ChangeKey{t, id}.Encode(), *c); !e.ok()) return e;
  }

  return absl::OkStatus();
}

// Histograms: every numeric histogram of a feature shares its edges.
absl::Status Store::WriteHistograms(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb) {
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
      if (absl::Status e = Put(wb, kFeatureEdges, fk, edges_only); !e.ok()) return e;
      edges_in_batch[fk] = &h;
    }
    if (absl::Status e =
            Put(wb, kHistograms,
                HistogramKey{h.service(), h.feature(), ToMs(h.start()), ToMs(h.end())}.Encode(), h);
        !e.ok()) {
      return e;
    }
  }

  return absl::OkStatus();
}

// Upstream reports, eval sets and probes: keyed by time, put as they are.
absl::Status Store::WriteReports(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb) {
  for (const v1::Upstream& u : batch.upstreams()) {
    absl::Status e =
        Put(wb, kUpstream, PairTimeKey{u.consumer(), u.source(), ToMs(u.time())}.Encode(), u);
    if (!e.ok()) return e;
  }
  for (const v1::EvalSet& e : batch.eval_sets()) {
    absl::Status st =
        Put(wb, kEvalSets, EvalSetKey{e.service(), ToMs(e.time()), e.name()}.Encode(), e);
    if (!st.ok()) return st;
  }
  for (const v1::DependencyHealth& d : batch.dependency_health()) {
    absl::Status e =
        Put(wb, kDependencyHealth, PairTimeKey{d.service(), d.check(), ToMs(d.time())}.Encode(), d);
    if (!e.ok()) return e;
  }

  return absl::OkStatus();
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

}  // namespace triage::store
