// Store::Bulk: a write too large for memory, all or nothing. Each Add is
// checked by the same code as Write (Store::Build) and its WriteBatch is
// replayed into a private staging RocksDB beside the store (no WAL, no
// compaction: it only sorts and spills). Commit turns each staged column
// family into one SST file, in key order, and ingests them all in one
// IngestExternalFiles call, which RocksDB applies atomically. Series chunks
// go in as merge operands, so points merge with the stored ones as a Write's
// would; a change whose id was stored at another time deletes the old key.
#include <map>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/validate.h"
#include "rocksdb/db.h"
#include "rocksdb/experimental.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

namespace {

// The staging database's extra column family: keys the bulk deletes from the
// store, as [column family index][key].
constexpr char kDeletesCf[] = "bulk_deletes";

// Removes `path` and everything under it, through `env` (the store's file
// system, in-memory in tests).
void RemoveTree(rocksdb::Env* env, const std::string& path) {
  std::vector<std::string> children;
  if (env->GetChildren(path, &children).ok()) {
    for (const std::string& c : children) {
      if (c == "." || c == "..") continue;
      const std::string child = path + "/" + c;
      bool dir = false;
      if (env->IsDirectory(child, &dir).ok() && dir) {
        RemoveTree(env, child);
      } else {
        env->DeleteFile(child).PermitUncheckedError();
      }
    }
  }
  env->DeleteDir(path).PermitUncheckedError();
}

}  // namespace

class Store::Bulk::Staging {
 public:
  static absl::StatusOr<std::unique_ptr<Staging>> Open(const Store& store, std::string dir) {
    std::unique_ptr<Staging> st(new Staging);
    st->dir_ = std::move(dir);
    st->env_ = store.env();
    rocksdb::DBOptions db;
    db.create_if_missing = true;
    db.create_missing_column_families = true;
    db.db_write_buffer_size = 16 << 20;  // The bound on what staging holds in memory.
    db.max_open_files = 256;
    db.allow_fallocate = false;
    db.env = st->env_;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(4 << 20);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (int c = 0; c <= kNumCf; ++c) {
      rocksdb::ColumnFamilyOptions o;
      o.write_buffer_size = 4 << 20;
      o.disable_auto_compactions = true;  // It only sorts and spills.
      o.level0_slowdown_writes_trigger = 1 << 30;
      o.level0_stop_writes_trigger = 1 << 30;
      o.compression = rocksdb::kNoCompression;
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      if (c == kSeriesChunks) o.merge_operator = NewChunkMergeOperator();
      descriptors.emplace_back(c < kNumCf ? kCfNames[c] : kDeletesCf, o);
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db, st->dir_, descriptors, &st->handles_, &raw);
    if (!s.ok()) return ToAbsl(s, "open the bulk staging store");
    st->db_.reset(raw);
    for (int c = 0; c < kNumCf; ++c) st->index_of_[store.handles_[c]->GetID()] = c;
    return st;
  }

  ~Staging() {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_.reset();
    RemoveTree(env_, dir_);
  }

  // Replays a batch built against the store into staging.
  absl::Status Stage(rocksdb::WriteBatch& built) {
    rocksdb::WriteBatch staged;
    Replay replay(*this, &staged);
    if (absl::Status s = ToAbsl(built.Iterate(&replay), "stage"); !s.ok()) return s;
    if (!replay.status.ok()) return replay.status;
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;  // Staging dies with the process; the store is untouched.
    return ToAbsl(db_->Write(wo, &staged), "stage");
  }

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* cf(int c) { return handles_[c]; }
  rocksdb::ColumnFamilyHandle* deletes() { return handles_[kNumCf]; }
  const std::string& dir() const { return dir_; }

 private:
  Staging() = default;

  // Maps each write to the staging column family of the same kind.
  class Replay : public rocksdb::WriteBatch::Handler {
   public:
    Replay(Staging& st, rocksdb::WriteBatch* out) : st_(st), out_(out) {}
    rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      const int c = st_.index_of_.at(id);
      if (c == kChangeIds) ForgetStagedChange(key, value);
      return out_->Put(st_.cf(c), key, value);
    }
    rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
      return out_->Merge(st_.cf(st_.index_of_.at(id)), key, value);
    }
    rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
      const int c = st_.index_of_.at(id);
      std::string k(1, static_cast<char>(c));
      k.append(key.data(), key.size());
      rocksdb::Status s = out_->Put(st_.deletes(), k, "");
      return s.ok() ? out_->Delete(st_.cf(c), key) : s;
    }
    absl::Status status;

   private:
    // A change id staged earlier at another time: its staged event goes.
    void ForgetStagedChange(const rocksdb::Slice& id, const rocksdb::Slice& time) {
      std::string old;
      rocksdb::Status s = st_.db_->Get(rocksdb::ReadOptions(), st_.cf(kChangeIds), id, &old);
      if (s.IsNotFound() || old == time.ToString()) return;
      if (!s.ok()) {
        status = ToAbsl(s, "read staged change id");
        return;
      }
      std::string_view in = old;
      int64_t t;
      if (GetTime(&in, &t)) out_->Delete(st_.cf(kChanges), ChangeKey{t, id.ToString()}.Encode());
    }

    Staging& st_;
    rocksdb::WriteBatch* out_;
  };

  std::string dir_;
  rocksdb::Env* env_ = nullptr;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<uint32_t, int> index_of_;  // The store's column family id -> Cf.
};

std::string Store::SpoolPath() const { return options_.path + ".spool"; }

rocksdb::Env* Store::env() const {
  return options_.env != nullptr ? options_.env : rocksdb::Env::Default();
}

void Store::RemoveSpool() const { RemoveTree(env(), SpoolPath()); }

absl::StatusOr<std::unique_ptr<Store::Bulk>> Store::BeginBulk() {
  if (absl::Status s = ToAbsl(env()->CreateDirIfMissing(SpoolPath()), SpoolPath()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<Bulk::Staging>> staging = Bulk::Staging::Open(
      *this, absl::StrFormat("%s/bulk-%d", SpoolPath(), bulk_seq_.fetch_add(1)));
  if (!staging.ok()) return staging.status();
  return std::unique_ptr<Bulk>(new Bulk(*this, std::move(*staging)));
}

Store::Bulk::Bulk(Store& store, std::unique_ptr<Staging> staging)
    : store_(store), staging_(std::move(staging)) {}

Store::Bulk::~Bulk() {
  if (!committed_ && !new_series_keys_.empty()) {
    absl::MutexLock lock(&store_.write_mu_);
    store_.ForgetSeries(new_series_keys_);
  }
}

absl::Status Store::Bulk::Add(const v1::RecordBatch& batch) {
  if (committed_) return absl::FailedPreconditionError("bulk: already committed");
  rocksdb::WriteBatch wb;
  {
    absl::MutexLock lock(&store_.write_mu_);
    if (absl::Status s = store_.BeforeWrite(batch.ByteSizeLong()); !s.ok()) return s;
    SeriesIds ids{.next = store_.next_series_id_, .pending = new_series_keys_.size()};
    if (absl::Status s = store_.Build(batch, &ids, &wb, /*roll_up=*/false, /*head_points=*/nullptr);
        !s.ok()) {
      store_.ForgetSeries(ids.new_keys);
      return s;
    }
    // The ids are taken (another writer cannot reuse them) but count as
    // stored only once committed.
    store_.next_series_id_ = ids.next;
    new_series_keys_.insert(new_series_keys_.end(), ids.new_keys.begin(), ids.new_keys.end());
  }
  staged_bytes_ += wb.GetDataSize();
  return staging_->Stage(wb);
}

namespace {

// Writes the staged keys of one column family, with the deletes staged for
// it, in key order (a put wins over a delete of the same key).
class SstOfStaged {
 public:
  SstOfStaged(rocksdb::DB& staging, rocksdb::ColumnFamilyHandle* staged,
              rocksdb::ColumnFamilyHandle* deletes, char index)
      : index_(index) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    ro.readahead_size = 2 << 20;
    it_.reset(staging.NewIterator(ro, staged));
    del_.reset(staging.NewIterator(ro, deletes));
    it_->SeekToFirst();
    del_->Seek(std::string(1, index_));
  }

  // Writes into `file`; false in *wrote when there was nothing to write.
  absl::Status Write(rocksdb::SstFileWriter& w, bool merge, bool* wrote) {
    *wrote = false;
    for (;;) {
      const bool has_put = it_->Valid();
      const bool has_del = DeleteValid();
      if (!has_put && !has_del) break;
      rocksdb::Slice del_key = has_del ? DeleteKey() : rocksdb::Slice();
      int order = !has_del ? -1 : !has_put ? 1 : it_->key().compare(del_key);
      rocksdb::Status s;
      if (order <= 0) {
        s = merge ? w.Merge(it_->key(), it_->value()) : w.Put(it_->key(), it_->value());
        if (order == 0) del_->Next();
        it_->Next();
      } else {
        s = w.Delete(del_key);
        del_->Next();
      }
      if (!s.ok()) return ToAbsl(s, "write bulk file");
      *wrote = true;
    }
    if (absl::Status s = ToAbsl(it_->status(), "read staged"); !s.ok()) return s;
    return ToAbsl(del_->status(), "read staged deletes");
  }

 private:
  bool DeleteValid() const {
    return del_->Valid() && del_->key().size() > 0 && del_->key()[0] == index_;
  }
  rocksdb::Slice DeleteKey() const {
    rocksdb::Slice k = del_->key();
    k.remove_prefix(1);
    return k;
  }

  const char index_;
  std::unique_ptr<rocksdb::Iterator> it_, del_;
};

}  // namespace

struct Store::Bulk::Files {
  std::vector<rocksdb::IngestExternalFileArg> args;
  uint64_t bytes = 0;
  bool staged_histograms = false;
  std::optional<std::pair<std::string, std::string>> chunk_range;  // Ingested chunk keys.
};

absl::Status Store::Bulk::CheckAgainstStore() {
  absl::StatusOr<rules::DependencyGraph> graph = store_.Dependencies();
  if (!graph.ok()) return graph.status();
  bool staged_dependencies = false;
  std::unique_ptr<rocksdb::Iterator> it(
      staging_->db().NewIterator(rocksdb::ReadOptions(), staging_->cf(kDependencies)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Dependency d;
    if (!d.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("bulk: undecodable staged dependency");
    }
    graph->Set(d.service(), {d.depends_on().begin(), d.depends_on().end()});
    staged_dependencies = true;
  }
  if (std::vector<std::string> cycle = graph->FindCycle(); staged_dependencies && !cycle.empty()) {
    return collectors::InvalidField(
        "dependencies", absl::StrFormat("dependency cycle: %s", absl::StrJoin(cycle, " -> ")));
  }
  it.reset(staging_->db().NewIterator(rocksdb::ReadOptions(), staging_->cf(kFeatureEdges)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Histogram staged, stored;
    absl::Status s = store_.GetMessage(kFeatureEdges, it->key().ToString(), &stored);
    if (absl::IsNotFound(s)) continue;
    if (!s.ok()) return s;
    if (!staged.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("bulk: undecodable staged feature edges");
    }
    if (staged.edges_size() != stored.edges_size() ||
        !std::equal(staged.edges().begin(), staged.edges().end(), stored.edges().begin())) {
      return collectors::InvalidField(
          "histograms",
          absl::StrFormat("feature %s of service %s was registered meanwhile "
                          "with other edges [%s]",
                          stored.feature(), stored.service(), absl::StrJoin(stored.edges(), ",")));
    }
  }
  it.reset();
  return absl::OkStatus();
}

absl::Status Store::Bulk::WriteFiles(Files* files) {
  for (int c = 1; c < kNumCf; ++c) {
    rocksdb::Options options(store_.db_->GetDBOptions(), store_.db_->GetOptions(store_.cf(Cf(c))));
    rocksdb::SstFileWriter w(rocksdb::EnvOptions(), options, store_.cf(Cf(c)));
    const std::string file = absl::StrFormat("%s/%s.sst", staging_->dir(), kCfNames[c]);
    if (absl::Status s = ToAbsl(w.Open(file), "create bulk file"); !s.ok()) return s;
    bool wrote = false;
    if (c == kFeatureDays) {  // Rolled up over what is stored and what was staged.
      std::unique_ptr<rocksdb::Iterator> hs(
          staging_->db().NewIterator(rocksdb::ReadOptions(), staging_->cf(kHistograms)));
      absl::Status s =
          store_.RollUpStaged(hs.get(), [&](const std::string& key, const v1::FeatureDay& day) {
            wrote = true;
            return ToAbsl(w.Put(key, day.SerializeAsString()), "write bulk file");
          });
      if (!s.ok()) return s;
      files->staged_histograms = wrote;
    } else {
      SstOfStaged staged(staging_->db(), staging_->cf(c), staging_->deletes(),
                         static_cast<char>(c));
      if (absl::Status s = staged.Write(w, c == kSeriesChunks, &wrote); !s.ok()) return s;
    }
    if (!wrote) continue;  // An empty file cannot be finished or ingested.
    rocksdb::ExternalSstFileInfo info;
    if (absl::Status s = ToAbsl(w.Finish(&info), "finish bulk file"); !s.ok()) return s;
    files->bytes += info.file_size;
    if (c == kSeriesChunks) files->chunk_range.emplace(info.smallest_key, info.largest_key);
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = store_.cf(Cf(c));
    arg.external_files = {file};
    arg.options.move_files = true;
    files->args.push_back(std::move(arg));
  }
  if (!new_series_keys_.empty()) {  // The series counters go in with the series.
    rocksdb::Options options(store_.db_->GetDBOptions(),
                             store_.db_->GetOptions(store_.cf(kDefault)));
    rocksdb::SstFileWriter w(rocksdb::EnvOptions(), options, store_.cf(kDefault));
    const std::string file = absl::StrFormat("%s/default.sst", staging_->dir());
    std::string next, count;  // Keys in order: "next_series_id" < "series_count".
    PutU64(&next, store_.next_series_id_);
    PutU64(&count, store_.series_count_ + new_series_keys_.size());
    rocksdb::Status r = w.Open(file);
    if (r.ok()) r = w.Put(kNextSeriesIdKey, next);
    if (r.ok()) r = w.Put(kSeriesCountKey, count);
    rocksdb::ExternalSstFileInfo info;
    if (r.ok()) r = w.Finish(&info);
    if (!r.ok()) return ToAbsl(r, "write bulk counters");
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = store_.cf(kDefault);
    arg.external_files = {file};
    arg.options.move_files = true;
    files->args.push_back(std::move(arg));
  }
  return absl::OkStatus();
}

absl::Status Store::Bulk::Commit() {
  if (committed_) return absl::FailedPreconditionError("bulk: already committed");
  absl::MutexLock flush(&store_.flush_mu_);
  absl::MutexLock lock(&store_.write_mu_);
  // Points in the head came before the staged ones: into chunks first, so
  // that the staged ones win the timestamps they share.
  if (absl::Status s = store_.FlushHeadLocked(); !s.ok()) return s;
  // What a Write made meanwhile may conflict with what was staged.
  if (absl::Status s = CheckAgainstStore(); !s.ok()) return s;
  Files files;
  if (absl::Status s = WriteFiles(&files); !s.ok()) return s;
  if (files.args.empty()) {
    committed_ = true;
    return absl::OkStatus();
  }
  if (absl::Status s = store_.BeforeWrite(files.bytes); !s.ok()) return s;
  absl::Status s = store_.AfterWrite(ToAbsl(store_.db_->IngestExternalFiles(files.args), "ingest"));
  if (files.staged_histograms) ++store_.histogram_writes_;
  ++store_.change_writes_;
  if (!s.ok()) return s;
  if (files.chunk_range) {
    // Ingested chunks are merge operands until a compaction merges them, and
    // every read would merge them again: have the background threads do it once.
    const rocksdb::Slice begin(files.chunk_range->first), end(files.chunk_range->second);
    rocksdb::experimental::SuggestCompactRange(store_.db_.get(), store_.cf(kSeriesChunks), &begin,
                                               &end)
        .PermitUncheckedError();
  }
  store_.series_count_ += new_series_keys_.size();
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace triage::store
