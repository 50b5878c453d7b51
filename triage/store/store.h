// Store: the one class that owns the RocksDB handle. Records go in as a
// RecordBatch (one atomic WriteBatch, acknowledged once it is in the WAL) and
// come out through the queries the triage engine and the daemon use. Key
// layouts are in keys.h.
//
// Thread safety: every method is safe to call concurrently. Writes of new
// series and of other records are serialised by an internal mutex; points of
// known series go to the head (head.h) in parallel; reads run in parallel
// with each other and with writes.
//
//   absl::StatusOr<std::unique_ptr<Store>> store = Store::Open({.path = dir});
//   absl::Status s = (*store)->Write(batch);
//   auto changes = (*store)->ChangesBetween(from_ms, to_ms);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rules/graph.h"
#include "rules/sources.h"
#include "triage/base/clock.h"
#include "triage/store/chunk_codec.h"
#include "triage/store/head.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/drill.pb.h"
#include "triage/v1/peer.pb.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class CompactionFilter;
class Env;
class Iterator;
class WriteBatch;
struct ColumnFamilyDescriptor;
}  // namespace rocksdb

namespace triage::store {

struct FeatureDayKey;  // keys.h
class DayGroups;       // feature_days.cc

struct StoreOptions {
  std::string path = "";
  // The file system and clock RocksDB uses; nullptr is the default Env. Tests
  // pass an in-memory Env. Not owned; must outlive the Store.
  rocksdb::Env* env = nullptr;
  // fsync the WAL on every write (survives power loss, not only a crash).
  // Without it a write is acknowledged once it is in the WAL, which survives
  // the process being killed.
  bool sync = false;
  // Time-stamped records older than this are dropped by compaction (never by
  // a scan); 0 keeps everything. Incidents, reports and dependencies are kept.
  int64_t retention_ms = 0;
  // The clock retention is measured against; nullptr is the system clock.
  // Not owned; must outlive the Store.
  const Clock* clock = nullptr;
  // Writes are refused (InsufficientStorage) while the file system holding
  // `path` has fewer free bytes than this, so RocksDB never meets a full disk
  // (Debian's librocksdb aborts on ENOSPC in the WAL); 0 turns the check off.
  uint64_t min_free_bytes = 0;
  // Free bytes of the store's file system; empty uses statvfs(path). Tests
  // inject a fake one.
  std::function<absl::StatusOr<uint64_t>()> free_bytes = nullptr;
  // The WAL is bounded: past this many bytes RocksDB flushes the column
  // families that hold the oldest log. 0 leaves RocksDB's default.
  uint64_t max_wal_bytes = 64 << 20;
  // Distinct series kept at most (a new series past it is refused); 0: no cap.
  uint64_t max_series = 0;
  // Points of known series wait in memory (the head, head.h) until this many
  // have come, then go into chunks at once; writes past twice as many (the
  // flushes failing) take the chunk path, so the head stays bounded.
  uint64_t head_max_samples = 1 << 20;
};

// True for the status a write gets while free space is below the reserve:
// Unavailable (a retry later can succeed) with a payload the edges map to
// HTTP 507.
bool IsInsufficientStorage(const absl::Status& status);

// Points are stored in chunks of one series each covering this much time.
constexpr int64_t kChunkMs = 2 * 60 * 60 * 1000;

class Store : public rules::RecordSource, public rules::MetricSource, public rules::FeatureSource {
 public:
  // Opens (creating if missing) the store at options.path.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes every record of `batch` atomically. Change ids are idempotent (a
  // repeated id replaces the earlier event); series points merge into stored
  // ones (a repeated timestamp keeps the last value). Fails with
  // InvalidArgument, writing nothing, when a histogram's edges differ from
  // its feature's registered edges or the dependencies would form a cycle;
  // the message names the record.
  absl::Status Write(const v1::RecordBatch& batch);

  // A write too large to hold in memory, all or nothing: Add stages records
  // on disk beside the store (each batch checked as Write checks it), Commit
  // ingests everything staged atomically, and destroying an uncommitted Bulk
  // leaves the store as it was. Memory stays bounded by one batch.
  //
  //   absl::StatusOr<std::unique_ptr<Store::Bulk>> bulk = store->BeginBulk();
  //   for (...) if (auto s = (*bulk)->Add(batch); !s.ok()) return s;
  //   return (*bulk)->Commit();
  class Bulk;
  absl::StatusOr<std::unique_ptr<Bulk>> BeginBulk();

  // The id of the stored series with `series`' metric and labels (points
  // ignored), or nullopt. For callers that remember ids by a key of their
  // own (remote_write: a series' label bytes) to use with AppendPoints.
  std::optional<uint64_t> SeriesIdOf(const v1::Series& series);
  // Points of stored series by id (as SeriesIdOf gives them), checked by the
  // caller: one head_log record, acknowledged once it is in the WAL, then in
  // the head. nullopt when the points must take Write's path instead (space
  // is short, the store needs resuming, the head is full).
  std::optional<absl::Status> AppendPoints(std::span<const HeadPoint> points)
      ABSL_LOCKS_EXCLUDED(write_mu_);

  // Compacts every column family now, applying retention (tests, maintenance).
  absl::Status CompactAll();

  // OK when writes can be taken now: free space is above the reserve and the
  // last write did not fail in RocksDB. Otherwise why not (for /readyz).
  absl::Status Writable() const;
  // Distinct series stored.
  uint64_t SeriesCount() const;
  // Points in the head (written, not yet in chunks).
  uint64_t HeadSamples() const { return head_.samples(); }
  // Moves the head's points into chunks (series_head.cc); Write does it
  // once the head holds head_max_samples, CompactAll first of all.
  absl::Status FlushHead();
  // Free bytes on the store's file system.
  absl::StatusOr<uint64_t> FreeBytes() const;
  // Bytes in each column family's table files, by column family name.
  std::vector<std::pair<std::string, uint64_t>> TableBytes() const;

  absl::Status PutIncident(const v1::Incident& incident);
  absl::StatusOr<v1::Incident> GetIncident(const std::string& id) const;  // NotFound if absent.
  absl::StatusOr<std::vector<v1::Incident>> ListIncidents() const;
  // Incidents with id > after_id in id order, calling fn for each until it
  // returns false.
  absl::Status ScanIncidents(const std::string& after_id,
                             const std::function<bool(v1::Incident)>& fn) const;
  absl::Status PutReport(const v1::TriageReport& report);
  // Writes whichever of the three is non-null, atomically, with those of
  // `events` (the alerts or resolution it comes from) not logged yet.
  absl::Status PutIncidentRecords(const v1::Incident* incident, const v1::IncidentState* state,
                                  const v1::TriageReport* report,
                                  std::span<const v1::Event> events = {});
  absl::StatusOr<v1::IncidentState> GetIncidentState(const std::string& id) const;
  absl::StatusOr<std::vector<v1::IncidentState>> ListIncidentStates() const;

  // The persisted delivery queues (enriched alerts for Alertmanager,
  // annotations for Grafana), each oldest first. Enqueue assigns the
  // sequence number; past max_queued the oldest entries are dropped
  // (returned in *dropped).
  enum class Queue { kAlertmanager, kGrafana };
  absl::StatusOr<uint64_t> EnqueueDelivery(Queue queue, v1::Delivery delivery, size_t max_queued,
                                           std::vector<v1::Delivery>* dropped);
  absl::StatusOr<std::vector<v1::Delivery>> Deliveries(Queue queue) const;
  absl::Status UpdateDelivery(Queue queue, const v1::Delivery& delivery);
  absl::Status DeleteDelivery(Queue queue, uint64_t seq);

  // The event log (events.h): Write logs each record but series points as an
  // event, PutIncidentRecords the events it is given; an event whose key is
  // logged already is left out. Events after `after` in log order, at most
  // `max` of them and about max_bytes.
  absl::StatusOr<std::vector<v1::StoredEvent>> EventsAfter(uint64_t after, size_t max,
                                                           size_t max_bytes) const;
  uint64_t LastEventSeq() const { return last_event_seq_.load(); }  // 0: none.
  absl::StatusOr<bool> HasEvent(const std::string& key) const;
  // Logs events that carry no records of this store (tree reloads).
  absl::Status PutEvents(std::span<const v1::Event> events);
  // The events whose key starts with `prefix`, by key.
  absl::StatusOr<std::vector<v1::Event>> EventsWithPrefix(std::string_view prefix) const;
  // This store's log identity, made when the store was (random, hex).
  const std::string& LogId() const { return log_id_; }
  // How far this replica has pulled each peer's log: the log's identity and
  // the last seq applied (empty and 0: not at all).
  struct Cursor {
    std::string log_id;
    uint64_t seq = 0;
  };
  absl::StatusOr<Cursor> PeerCursor(const std::string& peer) const;
  absl::Status PutPeerCursor(const std::string& peer, const Cursor& cursor);

  // Fire drills' records (their data lives in stores of their own), with
  // the event of the step that changed it.
  absl::Status PutDrill(const v1::Drill& drill, std::span<const v1::Event> events = {});
  absl::StatusOr<v1::Drill> GetDrill(const std::string& id) const;
  absl::StatusOr<std::vector<v1::Drill>> ListDrills() const;
  absl::Status DeleteDrill(const std::string& id);

  // Every (service, feature) with histograms.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Features() const;
  absl::StatusOr<v1::TriageReport> GetReport(const std::string& incident_id) const;

  // The engine's sources (rules/sources.h states their contracts).
  absl::StatusOr<rules::DependencyGraph> Dependencies() const override;
  absl::StatusOr<std::vector<v1::Change>> ChangesBetween(int64_t from_ms,
                                                         int64_t to_ms) const override;
  absl::StatusOr<v1::Change> GetChange(const std::string& id) const;
  // The changes of [from_ms, to_ms] for a view of one service: every one
  // `in_scope` takes (by service), oldest first; of the others, how many
  // there are and, newest first, `max_others` after the newest `skip`.
  // Only those returned are decoded.
  struct ChangeView {
    std::vector<v1::Change> in_scope;
    std::vector<v1::Change> others;
    int64_t other_count = 0;
  };
  absl::StatusOr<ChangeView> ChangesFor(int64_t from_ms, int64_t to_ms,
                                        const std::function<bool(std::string_view)>& in_scope,
                                        int64_t skip, int64_t max_others) const;
  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const std::string& service,
                                                     const std::string& metric, int64_t from_ms,
                                                     int64_t to_ms) const;
  // The metric source: (q.service, q.metric) over [q.from_ms, q.to_ms].
  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const rules::SeriesQuery& q) const override {
    return ReadSeries(q.service, q.metric, q.from_ms, q.to_ms);
  }
  // The same, each series' points as plain samples (no message per point).
  struct SampleSeries {
    v1::Series meta;  // Metric and labels; no points.
    std::vector<Sample> samples;
  };
  absl::StatusOr<std::vector<SampleSeries>> ReadSamples(const std::string& service,
                                                        const std::string& metric, int64_t from_ms,
                                                        int64_t to_ms) const;
  absl::StatusOr<std::vector<rules::FeatureSums>> FeatureDistributions(
      const std::string& service, const rules::DriftWindow& window) const override;
  // Histograms of `service` with start < to_ms and end > from_ms.
  absl::StatusOr<std::vector<v1::Histogram>> Histograms(const std::string& service, int64_t from_ms,
                                                        int64_t to_ms) const;
  absl::StatusOr<std::vector<v1::Upstream>> UpstreamReports(const std::string& consumer,
                                                            int64_t from_ms,
                                                            int64_t to_ms) const override;
  absl::StatusOr<std::vector<v1::EvalSet>> EvalSets(const std::string& service,
                                                    int64_t to_ms) const override;
  absl::StatusOr<std::vector<v1::DependencyHealth>> Probes(const std::string& service,
                                                           int64_t from_ms,
                                                           int64_t to_ms) const override;

 private:
  enum Cf : int;
  Store(std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters, StoreOptions options);
  // Each column family's options: chunks merge and hash by series; those
  // with a retention filter are compacted at least daily.
  static std::vector<rocksdb::ColumnFamilyDescriptor> ColumnFamilies(
      const std::vector<std::unique_ptr<rocksdb::CompactionFilter>>& filters);
  // Refuses a write while space is short; resumes RocksDB after a failed
  // write once space is back.
  // `bytes`: the size of the write, which the reserve must hold on top.
  absl::Status BeforeWrite(uint64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Records the outcome of a RocksDB write (a failure makes Writable() say so).
  absl::Status AfterWrite(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status Commit(rocksdb::WriteBatch* wb, std::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Series ids a batch allocates: the next free one, and the index keys it
  // added to the cache (forgotten again if the batch fails); `pending` new
  // series of an uncommitted Bulk count towards the cap.
  struct SeriesIds {
    uint64_t next = 1;
    std::vector<std::string> new_keys = {};
    uint64_t pending = 0;
  };
  // Checks `batch` and adds its writes to `wb` (Write and Bulk::Add).
  // With `roll_up`, the feature roll-ups of the days it touches too (a Bulk
  // rolls up at Commit instead).
  // Points go to `head_points` (Write: the head after the commit), or, when
  // it is null (a Bulk), into chunks.
  absl::Status Build(const v1::RecordBatch& batch, SeriesIds* ids, rocksdb::WriteBatch* wb,
                     bool roll_up, std::vector<HeadPoint>* head_points)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Drops series index keys from the cache (a batch or bulk that failed).
  void ForgetSeries(const std::vector<std::string>& keys) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The counters persisted with every batch that adds series.
  void PutSeriesCounters(rocksdb::WriteBatch* wb, uint64_t next, uint64_t count);
  // The id of a series, allocating one (and adding its index entry to `wb`)
  // when new.
  absl::StatusOr<uint64_t> SeriesId(const v1::Series& series, rocksdb::WriteBatch* wb,
                                    SeriesIds* ids) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The parts of Write(), each adding its records to `wb`.
  absl::Status WriteDependencies(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteChanges(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteSeries(const v1::RecordBatch& batch, SeriesIds* ids, rocksdb::WriteBatch* wb,
                           std::vector<HeadPoint>* head_points)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Adds those of `events` neither logged nor earlier in `events` to `wb`,
  // numbered from *next (event_log.cc).
  absl::Status LogEvents(std::span<const v1::Event> events, rocksdb::WriteBatch* wb,
                         uint64_t* next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Commits `wb` holding events numbered up to next - 1.
  absl::Status CommitWithEvents(rocksdb::WriteBatch* wb, uint64_t next, std::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Adds a head_log record of `points` to `wb`; its number.
  uint64_t PutHeadRecord(std::span<const HeadPoint> points, rocksdb::WriteBatch* wb);
  // Flushes the head once it holds head_max_samples, unless a flush is
  // under way (write_mu_ not held).
  void FlushHeadIfFull() ABSL_LOCKS_EXCLUDED(write_mu_, flush_mu_);
  absl::Status FlushHeadHoldingFlushLock() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_)
      ABSL_LOCKS_EXCLUDED(write_mu_);
  // FlushHead inside a write (a Bulk's commit: the head's points are older
  // than what it ingests, so they go into chunks first).
  absl::Status FlushHeadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_, write_mu_);
  // Both: freeze, build and commit (taking write_mu_ for the commit unless
  // held already).
  absl::Status FlushHeadWith(bool write_mu_held) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void BuildHeadFlush(const Head::Part& part, rocksdb::WriteBatch* wb) const;
  absl::Status FlushFits(const rocksdb::WriteBatch& wb) const;
  // True while the head holds twice head_max_samples (its flushes failing):
  // writes then merge their points into chunks themselves.
  bool HeadFull() const {
    return options_.head_max_samples > 0 && head_.samples() >= 2 * options_.head_max_samples;
  }
  // The points of the batch's series (ids[i] the id of series i) as chunk
  // merges, in (series, time) order; of equal timestamps the last wins.
  void MergePoints(const v1::RecordBatch& batch, const std::vector<uint64_t>& ids,
                   rocksdb::WriteBatch* wb) const;
  // Samples of series `id` (sorted here, stably by time) as chunk merges.
  void MergeSamples(uint64_t id, std::vector<Sample>* samples, rocksdb::WriteBatch* wb) const;
  // Points of series that all have ids already (remote_write's steady
  // state): ids looked up under a shared lock, then AppendPoints without
  // holding write_mu_, so that requests build in parallel and RocksDB
  // commits them in groups. nullopt: a series is new, or AppendPoints says
  // so; Write takes the locked path. An id is visible only once its index
  // entry is committed (the locked path holds write_mu_ from Build to
  // Commit).
  std::optional<absl::Status> WriteKnownSeries(const v1::RecordBatch& batch)
      ABSL_LOCKS_EXCLUDED(write_mu_);
  absl::Status WriteHistograms(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb, bool roll_up)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteReports(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Feature roll-ups (feature_days.cc). The roll-up of `day`: its stored
  // histograms, with `fresh` (encoded histogram key -> histogram, all of that
  // day) in place of stored ones with the same key.
  absl::StatusOr<v1::FeatureDay> RollUpDay(const FeatureDayKey& day,
                                           const std::map<std::string, v1::Histogram>& fresh) const;
  // Rolls up every day that `feed` adds histograms of (in key order) and
  // hands each roll-up to `emit` with its key.
  absl::Status RollUpDays(
      const std::function<absl::Status(DayGroups&)>& feed,
      const std::function<absl::Status(const std::string&, const v1::FeatureDay&)>& emit) const;
  // Puts the roll-up of every day `written` (encoded key -> histogram) touches.
  absl::Status PutFeatureDays(const std::map<std::string, const v1::Histogram*>& written,
                              rocksdb::WriteBatch* wb) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The roll-ups of the days the histograms under `staged` (a Bulk's, or
  // the store's own) touch, in key order.
  absl::Status RollUpStaged(
      rocksdb::Iterator* staged,
      const std::function<absl::Status(const std::string&, const v1::FeatureDay&)>& emit) const;
  rocksdb::ColumnFamilyHandle* cf(Cf c) const;
  // Where Bulk stages its records: beside the store, on the same file system
  // (options.path + ".spool"); removed at Open (a Bulk a crash left behind).
  std::string SpoolPath() const;
  void RemoveSpool() const;
  rocksdb::Env* env() const;  // options_.env, else the default one.
  // Every stored change's key (time order) and service, while there are at
  // most kMaxIndexedChanges; rebuilt after a write of changes (or their
  // expiry), null past the cap (ChangesFor then scans).
  struct ChangeRef {
    std::string key;
    std::string service;
  };
  struct ChangeIndex {
    uint64_t generation = 0;
    std::vector<ChangeRef> refs;
  };
  static constexpr size_t kMaxIndexedChanges = 200'000;
  absl::StatusOr<std::shared_ptr<const ChangeIndex>> Changes() const;
  absl::StatusOr<ChangeView> ChangesForByScan(const std::string& lower, const std::string& upper,
                                              const std::function<bool(std::string_view)>& in_scope,
                                              int64_t skip, int64_t max_others) const;
  // Reads the head_log back into the head (at Open).
  absl::Status LoadHead();
  // Upgrades what an earlier triaged wrote (migrate.cc), once.
  absl::Status Migrate();
  absl::Status RollUpStored(rocksdb::WriteBatch* wb);  // Roll-ups of every stored histogram.
  absl::Status WriteSchemaVersion(rocksdb::WriteBatch* wb);
  // Adds `m` under `key` to `wb`, refusing what could not be read back.
  absl::Status Put(rocksdb::WriteBatch* wb, Cf c, std::string_view key,
                   const google::protobuf::Message& m);
  absl::Status PutMessage(Cf c, const std::string& key, const google::protobuf::Message& m);
  absl::Status GetMessage(Cf c, const std::string& key, google::protobuf::Message* m) const;
  // Calls fn(key, value) for every key with `prefix` in [lower, upper).
  template <typename Fn>
  absl::Status Scan(Cf c, const std::string& lower, const std::string& upper, Fn fn) const;

  // One head flush at a time; taken before write_mu_.
  absl::Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  absl::Mutex write_mu_;
  const StoreOptions options_;
  bool write_failed_ ABSL_GUARDED_BY(write_mu_) = false;
  std::atomic<bool> writable_{true};
  mutable absl::Mutex writable_mu_;
  std::string unwritable_reason_ ABSL_GUARDED_BY(writable_mu_);
  uint64_t next_series_id_ ABSL_GUARDED_BY(write_mu_) = 1;
  uint64_t next_event_seq_ ABSL_GUARDED_BY(write_mu_) = 1;
  std::atomic<uint64_t> last_event_seq_{0};  // Committed.
  std::string log_id_;  // Set at Open.
  // Reads the log's identity, making one for a new store.
  absl::Status LoadLogId();
  std::atomic<uint64_t> series_count_{0};
  // Series index entries already resolved: encoded SeriesIndexKey -> id.
  absl::flat_hash_map<std::string, uint64_t> series_ids_ ABSL_GUARDED_BY(write_mu_);
  static Cf QueueCf(Queue queue);
  struct QueueState {
    uint64_t next_seq = 1;
    size_t queued = 0;
    bool loaded = false;
  };
  QueueState queues_[2] ABSL_GUARDED_BY(write_mu_);
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters_;  // Outlive db_.
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<uint64_t> bulk_seq_{0};
  Head head_;
  std::atomic<uint64_t> next_head_record_{1};
  // FeatureDistributions answers by (service, window); an entry holds while
  // histogram_writes_ (bumped after every committed write of histograms)
  // stays what it was when the entry's reads began.
  struct DriftCacheEntry {
    std::string key;
    uint64_t generation = 0;
    std::vector<rules::FeatureSums> sums;
  };
  static constexpr size_t kDriftCacheEntries = 16;
  std::atomic<uint64_t> histogram_writes_{0};
  // Bumped after every write that may change what is in kChanges (writes,
  // Bulk commits, retention dropping one).
  std::atomic<uint64_t> change_writes_{0};
  mutable absl::Mutex change_index_mu_;
  mutable std::shared_ptr<const ChangeIndex> change_index_ ABSL_GUARDED_BY(change_index_mu_);
  mutable absl::Mutex drift_cache_mu_;
  mutable std::vector<DriftCacheEntry> drift_cache_ ABSL_GUARDED_BY(drift_cache_mu_);
};

class Store::Bulk {
 public:
  ~Bulk();  // Removes what was staged; the store is as it was unless committed.
  Bulk(const Bulk&) = delete;
  Bulk& operator=(const Bulk&) = delete;

  // Checks `batch` as Write does (against the store and what was staged
  // before) and stages it. Refused (InsufficientStorage) while free space is
  // below the store's reserve.
  absl::Status Add(const v1::RecordBatch& batch);
  // Ingests everything staged in one atomic step (after re-checking the
  // dependencies and feature edges against writes made meanwhile). Once.
  absl::Status Commit();
  // Bytes staged on disk so far (approximate).
  uint64_t staged_bytes() const { return staged_bytes_; }

 private:
  friend class Store;
  class Staging;
  struct Files;  // What Commit ingests (bulk.cc).
  Bulk(Store& store, std::unique_ptr<Staging> staging);
  // Fails when what was staged conflicts with a Write made meanwhile: a
  // dependency cycle, or a feature registered with other edges.
  absl::Status CheckAgainstStore();
  // One SST file per column family with staged keys, and the series counters.
  absl::Status WriteFiles(Files* files);

  Store& store_;
  std::unique_ptr<Staging> staging_;
  std::vector<std::string> new_series_keys_;  // Allocated ids, forgotten if not committed.
  uint64_t staged_bytes_ = 0;
  bool committed_ = false;
};

}  // namespace triage::store
