// Incidents, their reports and alert states, the enriched-alert delivery
// queue and fire drills' records.
#include "absl/strings/str_format.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

absl::Status Store::PutIncidentRecords(const v1::Incident* incident, const v1::IncidentState* state,
                                       const v1::TriageReport* report,
                                       std::span<const v1::Event> events) {
  rocksdb::WriteBatch wb;
  absl::Status s;
  if (incident != nullptr) s.Update(Put(&wb, kIncidents, incident->id(), *incident));
  if (state != nullptr) s.Update(Put(&wb, kIncidentStates, state->id(), *state));
  if (report != nullptr) s.Update(Put(&wb, kReports, report->incident_id(), *report));
  if (!s.ok()) return s;
  absl::MutexLock lock(&write_mu_);
  uint64_t next = next_event_seq_;
  if (absl::Status e = LogEvents(events, &wb, &next); !e.ok()) return e;
  return CommitWithEvents(&wb, next, "write incident");
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

Store::Cf Store::QueueCf(Queue queue) {
  return queue == Queue::kGrafana ? kAnnotations : kDeliveries;
}

absl::StatusOr<uint64_t> Store::EnqueueDelivery(Queue queue, v1::Delivery delivery,
                                                size_t max_queued,
                                                std::vector<v1::Delivery>* dropped) {
  const Cf c = QueueCf(queue);
  absl::MutexLock lock(&write_mu_);
  QueueState& q = queues_[static_cast<int>(queue)];
  if (!q.loaded) {
    absl::Status s = Scan(c, "", "", [&](std::string_view k, std::string_view) {
      std::string_view in = k;
      uint64_t seq;
      if (GetU64(&in, &seq)) {
        q.next_seq = std::max(q.next_seq, seq + 1);
        ++q.queued;
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    q.loaded = true;
  }
  rocksdb::WriteBatch wb;
  // Bounded: the oldest deliveries make room.
  if (q.queued >= max_queued) {
    size_t to_drop = q.queued - max_queued + 1;
    absl::Status s = Scan(c, "", "", [&](std::string_view k, std::string_view v) {
      if (to_drop == 0) return absl::OkStatus();
      v1::Delivery d;
      if (d.ParseFromArray(v.data(), static_cast<int>(v.size())) && dropped != nullptr) {
        dropped->push_back(d);
      }
      wb.Delete(cf(c), std::string(k));
      --to_drop;
      --q.queued;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  delivery.set_seq(q.next_seq);
  std::string key;
  PutU64(&key, delivery.seq());
  if (absl::Status e = Put(&wb, c, key, delivery); !e.ok()) return e;
  absl::Status s = Commit(&wb, "enqueue delivery");
  if (!s.ok()) return s;
  ++q.next_seq;
  ++q.queued;
  return delivery.seq();
}

absl::StatusOr<std::vector<v1::Delivery>> Store::Deliveries(Queue queue) const {
  std::vector<v1::Delivery> out;
  absl::Status s = Scan(QueueCf(queue), "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::Status Store::UpdateDelivery(Queue queue, const v1::Delivery& delivery) {
  std::string key;
  PutU64(&key, delivery.seq());
  return PutMessage(QueueCf(queue), key, delivery);
}

absl::Status Store::DeleteDelivery(Queue queue, uint64_t seq) {
  std::string key;
  PutU64(&key, seq);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  absl::MutexLock lock(&write_mu_);
  // Deletes are taken even below the free-space reserve: they free space.
  absl::Status s = AfterWrite(ToAbsl(db_->Delete(wo, cf(QueueCf(queue)), key), "delete delivery"));
  QueueState& q = queues_[static_cast<int>(queue)];
  if (s.ok() && q.queued > 0) --q.queued;
  return s;
}

absl::Status Store::PutDrill(const v1::Drill& drill, std::span<const v1::Event> events) {
  rocksdb::WriteBatch wb;
  if (absl::Status s = Put(&wb, kDrills, drill.id(), drill); !s.ok()) return s;
  absl::MutexLock lock(&write_mu_);
  uint64_t next = next_event_seq_;
  if (absl::Status e = LogEvents(events, &wb, &next); !e.ok()) return e;
  return CommitWithEvents(&wb, next, "write drill");
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

}  // namespace triage::store
