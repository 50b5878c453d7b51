// Core's change events: triage's own JSON, other systems' events with
// redelivery detection, and the listener (Grafana) told of new ones.
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/model/time.h"
#include "triage/core/core.h"

namespace triage::core {

absl::Status Core::WriteWithChanges(const v1::RecordBatch& batch) {
  absl::MutexLock lock(&changes_mu_);
  std::vector<v1::Change> fresh;
  if (change_listener_) {
    std::map<std::string, const v1::Change*> last;  // The last of an id wins, as in the store.
    for (const v1::Change& c : batch.changes()) last[c.id()] = &c;
    for (const auto& [id, c] : last) {
      absl::StatusOr<v1::Change> stored = store_.GetChange(id);
      if (absl::IsNotFound(stored.status())) fresh.push_back(*c);
      if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
    }
  }
  if (absl::Status s = store_.Write(batch); !s.ok()) return s;
  if (!fresh.empty()) change_listener_(fresh);
  return absl::OkStatus();
}

absl::StatusOr<v1::IngestResponse> Core::AddChange(std::string_view json) {
  absl::StatusOr<v1::Change> change = collectors::ParseChangeEvent(
      json, clock_.NowMs(), next_change_suffix_.fetch_add(1), options_.limits);
  if (!change.ok()) {
    metrics_.change_events.Add({{"origin", "api"}, {"result", "refused"}}).Increment();
    return Refused(change.status());
  }
  v1::RecordBatch batch;
  *batch.add_changes() = std::move(*change);
  absl::StatusOr<v1::IngestResponse> r = Write(batch);
  if (r.ok()) metrics_.change_events.Add({{"origin", "api"}, {"result", "stored"}}).Increment();
  return r;
}

absl::StatusOr<v1::IngestResponse> Core::AddEventChanges(std::string_view origin,
                                                         collectors::EventChanges events) {
  const std::string label(origin);
  auto count = [&](const char* result, size_t n) {
    if (n > 0) {
      metrics_.change_events.Add({{"origin", label}, {"result", result}})
          .Increment(static_cast<double>(n));
    }
  };
  v1::IngestResponse response;
  auto& accepted = *response.mutable_accepted();
  v1::RecordBatch batch;
  int32_t duplicates = 0, updated = 0;
  {
    // A redelivery racing its first delivery must see it stored.
    absl::MutexLock lock(&changes_mu_);
    std::vector<v1::Change> fresh;
    for (collectors::EventChange& e : events.changes) {
      absl::StatusOr<v1::Change> stored = store_.GetChange(e.change.id());
      if (stored.ok()) {
        // An event without a time keeps the time of its first delivery.
        if (!e.timed) *e.change.mutable_time() = stored->time();
        if (google::protobuf::util::MessageDifferencer::Equals(*stored, e.change)) {
          ++duplicates;
          continue;
        }
        ++updated;
      } else if (absl::IsNotFound(stored.status())) {
        fresh.push_back(e.change);
      } else {
        return Refused(stored.status());
      }
      *batch.add_changes() = std::move(e.change);
    }
    if (batch.changes_size() > 0) {
      collectors::InputErrorList errors;
      collectors::ValidateBatch(batch, options_.limits, &errors);
      if (!errors.empty()) return Refused(errors.ToStatus());
      if (absl::Status s = store_.Write(batch); !s.ok()) return Refused(s);
      Wrote(batch);
      metrics_.Ingested("change").Increment(batch.changes_size());
    }
    if (!fresh.empty() && change_listener_) change_listener_(fresh);
  }
  accepted["change"] = batch.changes_size();
  accepted["duplicate"] = duplicates;
  accepted["updated"] = updated;
  accepted["ignored"] = static_cast<int32_t>(events.ignored.size());
  count("stored", batch.changes_size() - updated);
  count("updated", updated);
  count("duplicate", duplicates);
  count("ignored", events.ignored.size());
  for (std::string& why : events.ignored) response.add_ignored(std::move(why));
  return response;
}

}  // namespace triage::core
