#include "triage/store/store.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_format.h"
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
// reads a record's time from its key or value (nullopt keeps the record).
class RetentionFilter : public rocksdb::CompactionFilter {
 public:
  using TimeOf = std::optional<int64_t> (*)(std::string_view key, std::string_view value);
  // `dropped` (when not null) counts the records it drops.
  RetentionFilter(const Clock* clock, int64_t retention_ms, TimeOf time_of, const char* name,
                  std::atomic<uint64_t>* dropped = nullptr)
      : clock_(clock),
        retention_ms_(retention_ms),
        time_of_(time_of),
        name_(name),
        dropped_(dropped) {}

  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    const bool expired = Expired(key, value);
    if (expired && dropped_ != nullptr) ++*dropped_;
    return expired;
  }
  // Series chunks are written as merge operands; those expire the same way.
  bool FilterMergeOperand(int, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) const override {
    return Expired(key, value);
  }
  bool Expired(const rocksdb::Slice& key, const rocksdb::Slice& value) const {
    std::optional<int64_t> t = time_of_(std::string_view(key.data(), key.size()),
                                        std::string_view(value.data(), value.size()));
    return t.has_value() && *t < clock_->NowMs() - retention_ms_;
  }
  const char* Name() const override { return name_; }

 private:
  const Clock* clock_;
  int64_t retention_ms_;
  TimeOf time_of_;
  const char* name_;
  std::atomic<uint64_t>* dropped_;
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
// A day's roll-up goes with the day (its histograms that end later stay a
// little longer).
std::optional<int64_t> FeatureDayEnd(std::string_view key) {
  std::optional<FeatureDayKey> k = FeatureDayKey::Decode(key);
  return k ? std::optional<int64_t>(k->day_ms + 24 * 3600 * 1000) : std::nullopt;
}
std::optional<int64_t> PairTime(std::string_view key) {
  std::optional<PairTimeKey> k = PairTimeKey::Decode(key);
  return k ? std::optional<int64_t>(k->time_ms) : std::nullopt;
}
std::optional<int64_t> EvalSetTime(std::string_view key) {
  std::optional<EvalSetKey> k = EvalSetKey::Decode(key);
  return k ? std::optional<int64_t>(k->time_ms) : std::nullopt;
}

// Events go with their own time (time 0, a dependency's: kept).
std::optional<int64_t> EventTime(std::string_view, std::string_view value) {
  v1::Event e;
  if (!e.ParseFromArray(value.data(), static_cast<int>(value.size())) || e.time_ms() == 0) {
    return std::nullopt;
  }
  return e.time_ms();
}
std::optional<int64_t> EventKeyTime(std::string_view, std::string_view value) {
  uint64_t seq;
  int64_t t;
  if (!GetU64(&value, &seq) || !GetTime(&value, &t) || t == 0) return std::nullopt;
  return t;
}
template <std::optional<int64_t> (*F)(std::string_view)>
std::optional<int64_t> ByKey(std::string_view key, std::string_view) {
  return F(key);
}

const SystemClock kSystemClock;

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

std::vector<std::pair<std::string, uint64_t>> Store::TableBytes() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (int c = 0; c < kNumCf; ++c) {
    uint64_t bytes = 0;
    db_->GetIntProperty(handles_[c], rocksdb::DB::Properties::kTotalSstFilesSize, &bytes);
    out.emplace_back(kCfNames[c], bytes);
  }
  return out;
}

rocksdb::ColumnFamilyHandle* Store::cf(Cf c) const { return handles_[c]; }

namespace {

rocksdb::DBOptions DbOptions(const StoreOptions& options) {
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
  return db_options;
}

}  // namespace

absl::StatusOr<std::optional<uint64_t>> ReadCounter(rocksdb::DB& db,
                                                    rocksdb::ColumnFamilyHandle* cf,
                                                    std::string_view key) {
  std::string v;
  rocksdb::Status r = db.Get(rocksdb::ReadOptions(), cf, key, &v);
  if (r.IsNotFound()) return std::nullopt;
  if (!r.ok()) return ToAbsl(r, key);
  std::string_view in = v;
  uint64_t n = 0;
  if (!GetU64(&in, &n)) return absl::DataLossError(absl::StrFormat("store: bad %s", key));
  return n;
}


std::vector<rocksdb::ColumnFamilyDescriptor> Store::ColumnFamilies(
    const std::vector<std::unique_ptr<rocksdb::CompactionFilter>>& filters) {
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
  return descriptors;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  rocksdb::DBOptions db_options = DbOptions(options);

  auto store = std::unique_ptr<Store>(
      new Store(std::vector<std::unique_ptr<rocksdb::CompactionFilter>>(kNumCf), options));
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>>& filters = store->filters_;
  if (options.retention_ms > 0) {
    const Clock* clock = options.clock != nullptr ? options.clock : &kSystemClock;
    auto add = [&](Cf c, RetentionFilter::TimeOf time_of) {
      // A dropped change leaves the change index stale: it is rebuilt.
      filters[c] = std::make_unique<RetentionFilter>(
          clock, options.retention_ms, time_of, "triage.Retention",
          c == kChanges ? &store->change_writes_ : nullptr);
    };
    add(kChanges, ByKey<ChangeTime>);
    add(kSeriesChunks, ByKey<ChunkEnd>);
    add(kHistograms, ByKey<HistogramEnd>);
    add(kFeatureDays, ByKey<FeatureDayEnd>);
    add(kUpstream, ByKey<PairTime>);
    add(kDependencyHealth, ByKey<PairTime>);
    add(kEvalSets, ByKey<EvalSetTime>);
    add(kEvents, EventTime);
    add(kEventKeys, EventKeyTime);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = ColumnFamilies(filters);
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
  // The series counters; a store of an earlier version has no gaps in its
  // ids, so its count is the next id - 1.
  absl::StatusOr<std::optional<uint64_t>> next =
      ReadCounter(*store->db_, store->cf(kDefault), kNextSeriesIdKey);
  absl::StatusOr<std::optional<uint64_t>> count =
      ReadCounter(*store->db_, store->cf(kDefault), kSeriesCountKey);
  absl::StatusOr<std::optional<uint64_t>> next_event =
      ReadCounter(*store->db_, store->cf(kDefault), kNextEventSeqKey);
  if (!next.ok()) return next.status();
  if (!count.ok()) return count.status();
  if (!next_event.ok()) return next_event.status();
  {
    absl::MutexLock lock(&store->write_mu_);
    store->next_series_id_ = next->value_or(1);
    store->series_count_ = count->value_or(store->next_series_id_ - 1);
    store->next_event_seq_ = next_event->value_or(1);
    store->last_event_seq_ = store->next_event_seq_ - 1;
  }
  store->RemoveSpool();
  if (absl::Status l = store->LoadLogId(); !l.ok()) return l;
  if (absl::Status m = store->Migrate(); !m.ok()) return m;
  if (absl::Status h = store->LoadHead(); !h.ok()) return h;
  return store;
}

absl::Status Store::CompactAll() {
  if (absl::Status s = FlushHead(); !s.ok()) return s;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    absl::Status s = ToAbsl(db_->CompactRange(o, h, nullptr, nullptr), "compact");
    if (!s.ok()) return s;
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
