// Store::Write: one request's records in one atomic WriteBatch, each kind
// by its own writer (series in series.cc).
#include <map>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/validate.h"
#include "proto/model/time.h"
#include "rocksdb/write_batch.h"
#include "triage/store/events.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

namespace {

bool SameEdges(const v1::Histogram& a, const v1::Histogram& b) {
  if (a.edges_size() != b.edges_size()) return false;
  for (int i = 0; i < a.edges_size(); ++i) {
    if (a.edges(i) != b.edges(i)) return false;
  }
  return true;
}

}  // namespace

absl::Status Store::Build(const v1::RecordBatch& batch, SeriesIds* ids, rocksdb::WriteBatch* wb,
                          bool roll_up, std::vector<HeadPoint>* head_points) {
  if (absl::Status s = WriteDependencies(batch, wb); !s.ok()) return s;
  if (absl::Status s = WriteChanges(batch, wb); !s.ok()) return s;
  if (absl::Status s = WriteSeries(batch, ids, wb, head_points); !s.ok()) return s;
  if (absl::Status s = WriteHistograms(batch, wb, roll_up); !s.ok()) return s;
  return WriteReports(batch, wb);
}

void Store::ForgetSeries(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) series_ids_.erase(k);
}

void Store::PutSeriesCounters(rocksdb::WriteBatch* wb, uint64_t next, uint64_t count) {
  std::string v;
  PutU64(&v, next);
  wb->Put(cf(kDefault), kNextSeriesIdKey, v);
  v.clear();
  PutU64(&v, count);
  wb->Put(cf(kDefault), kSeriesCountKey, v);
}

absl::Status Store::Write(const v1::RecordBatch& batch) {
  const bool only_series = batch.series_size() > 0 && batch.dependencies_size() == 0 &&
                           batch.changes_size() == 0 && batch.histograms_size() == 0 &&
                           batch.upstreams_size() == 0 && batch.eval_sets_size() == 0 &&
                           batch.dependency_health_size() == 0;
  if (only_series) {
    if (std::optional<absl::Status> s = WriteKnownSeries(batch)) return *s;
  }
  std::vector<HeadPoint> head_points;
  {
    absl::MutexLock lock(&write_mu_);
    rocksdb::WriteBatch wb;
    SeriesIds ids{.next = next_series_id_};
    absl::Status s = Build(batch, &ids, &wb, /*roll_up=*/true, HeadFull() ? nullptr : &head_points);
    if (s.ok() && !ids.new_keys.empty()) {
      PutSeriesCounters(&wb, ids.next, series_count_ + ids.new_keys.size());
    }
    const uint64_t record = s.ok() && !head_points.empty() ? PutHeadRecord(head_points, &wb) : 0;
    uint64_t next_event = next_event_seq_;
    if (s.ok()) s = LogEvents(RecordEvents(batch), &wb, &next_event);
    if (s.ok()) {
      s = CommitWithEvents(&wb, next_event, "write batch");
      // Even a failed commit may have reached the store: cached drift goes.
      if (batch.histograms_size() > 0) ++histogram_writes_;
      if (batch.changes_size() > 0) ++change_writes_;
    }
    if (!s.ok()) {
      ForgetSeries(ids.new_keys);  // Ids allocated by this batch leave the cache again.
      return s;
    }
    next_series_id_ = ids.next;
    series_count_ += ids.new_keys.size();
    if (!head_points.empty()) head_.Append(record, head_points);
  }
  FlushHeadIfFull();
  return absl::OkStatus();
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

// Histograms: every numeric histogram of a feature shares its edges; the
// roll-up of each day they touch is rewritten with them.
absl::Status Store::WriteHistograms(const v1::RecordBatch& batch, rocksdb::WriteBatch* wb,
                                    bool roll_up) {
  std::map<std::string, const v1::Histogram*> edges_in_batch;
  std::map<std::string, const v1::Histogram*> written;  // The last of each key wins, as in wb.
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
    std::string key =
        HistogramKey{h.service(), h.feature(), ToMs(h.start()), ToMs(h.end())}.Encode();
    if (absl::Status e = Put(wb, kHistograms, key, h); !e.ok()) return e;
    written[std::move(key)] = &h;
  }
  return roll_up ? PutFeatureDays(written, wb) : absl::OkStatus();
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

}  // namespace triage::store
