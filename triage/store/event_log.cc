// The event log: what Write and PutIncidentRecords log beside their records
// (events.h), read back by peers in log order.
#include <random>
#include <set>

#include "absl/strings/str_format.h"

#include "rocksdb/write_batch.h"
#include "triage/store/events.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

absl::Status Store::LogEvents(std::span<const v1::Event> events, rocksdb::WriteBatch* wb,
                              uint64_t* next) {
  std::set<std::string_view> seen;
  for (const v1::Event& e : events) {
    if (!seen.insert(e.key()).second) continue;
    absl::StatusOr<bool> logged = HasEvent(e.key());
    if (!logged.ok()) return logged.status();
    if (*logged) continue;
    std::string seq, where;
    PutU64(&seq, *next);
    where = seq;
    PutTime(&where, e.time_ms());
    if (absl::Status s = Put(wb, kEvents, seq, e); !s.ok()) return s;
    wb->Put(cf(kEventKeys), e.key(), where);
    ++*next;
  }
  return absl::OkStatus();
}

absl::Status Store::CommitWithEvents(rocksdb::WriteBatch* wb, uint64_t next,
                                     std::string_view what) {
  if (next != next_event_seq_) {
    std::string v;
    PutU64(&v, next);
    wb->Put(cf(kDefault), kNextEventSeqKey, v);
  }
  absl::Status s = Commit(wb, what);
  if (s.ok() && next != next_event_seq_) {
    next_event_seq_ = next;
    last_event_seq_ = next - 1;
  }
  return s;
}

absl::Status Store::PutEvents(std::span<const v1::Event> events) {
  rocksdb::WriteBatch wb;
  absl::MutexLock lock(&write_mu_);
  uint64_t next = next_event_seq_;
  if (absl::Status e = LogEvents(events, &wb, &next); !e.ok()) return e;
  return CommitWithEvents(&wb, next, "write events");
}

absl::StatusOr<std::vector<v1::Event>> Store::EventsWithPrefix(std::string_view prefix) const {
  std::vector<v1::Event> out;
  const rocksdb::Slice p(prefix.data(), prefix.size());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kEventKeys)));
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    std::string_view where(it->value().data(), it->value().size());
    if (where.size() < 8) return absl::DataLossError("store: bad event key");
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kEvents),
                                 rocksdb::Slice(where.data(), 8), &v);
    if (s.IsNotFound()) continue;  // Dropped by retention meanwhile.
    if (!s.ok()) return ToAbsl(s, "read event");
    if (!out.emplace_back().ParseFromString(v)) return absl::DataLossError("store: undecodable event");
  }
  if (!it->status().ok()) return ToAbsl(it->status(), "scan event keys");
  return out;
}

absl::StatusOr<bool> Store::HasEvent(const std::string& key) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kEventKeys), key, &v);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return ToAbsl(s, "read event key");
  return true;
}

absl::StatusOr<std::vector<v1::StoredEvent>> Store::EventsAfter(uint64_t after, size_t max,
                                                                size_t max_bytes) const {
  std::vector<v1::StoredEvent> out;
  std::string lower;
  PutU64(&lower, after + 1);
  size_t bytes = 0;
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kEvents)));
  for (it->Seek(lower); it->Valid() && out.size() < max && bytes < max_bytes; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    uint64_t seq = 0;
    if (!GetU64(&k, &seq)) return absl::DataLossError("store: bad event key");
    v1::StoredEvent se;
    se.set_seq(seq);
    if (!se.mutable_event()->ParseFromArray(it->value().data(),
                                            static_cast<int>(it->value().size()))) {
      return absl::DataLossError("store: undecodable event");
    }
    bytes += it->value().size();
    out.push_back(std::move(se));
  }
  if (!it->status().ok()) return ToAbsl(it->status(), "scan events");
  return out;
}

absl::StatusOr<Store::Cursor> Store::PeerCursor(const std::string& peer) const {
  std::string v;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kDefault), kPeerCursorPrefix + peer, &v);
  if (s.IsNotFound()) return Cursor{};
  if (!s.ok()) return ToAbsl(s, "read peer cursor");
  std::string_view in = v;
  Cursor c;
  if (!GetU64(&in, &c.seq)) return absl::DataLossError("store: bad peer cursor");
  c.log_id = std::string(in);
  return c;
}

absl::Status Store::PutPeerCursor(const std::string& peer, const Cursor& cursor) {
  std::string v;
  PutU64(&v, cursor.seq);
  v += cursor.log_id;
  rocksdb::WriteBatch wb;
  wb.Put(cf(kDefault), kPeerCursorPrefix + peer, v);
  absl::MutexLock lock(&write_mu_);
  return Commit(&wb, "write peer cursor");
}

absl::Status Store::LoadLogId() {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kDefault), kLogIdKey, &log_id_);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsNotFound()) return ToAbsl(s, "read log id");
  std::random_device rd;
  log_id_ = absl::StrFormat("%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return ToAbsl(db_->Put(wo, cf(kDefault), kLogIdKey, log_id_), "write log id");
}

}  // namespace triage::store
