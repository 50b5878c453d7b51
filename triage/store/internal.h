// Private to triage/store: the column families (in append-only order) and
// the helpers its files share. Not part of the store's interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/message.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "triage/store/store.h"

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
  kFeatureDays,
  kHeadLog,
  kAnnotations,  // Grafana's delivery queue.
  kEvents,       // The event log: [seq:8] -> Event.
  kEventKeys,    // [event key...] -> [seq:8][time:8].
  kNumCf,
};

inline constexpr const char* kCfNames[] = {
    "default",      "changes",       "change_ids", "series_index",    "series_chunks",
    "histograms",   "feature_edges", "upstream",   "eval_sets",       "dependency_health",
    "dependencies", "incidents",     "reports",    "incident_states", "deliveries",
    "drills",       "feature_days",  "head_log",   "annotations",     "events",
    "event_keys",
};

// In the default column family: the next free series id, and how many
// series are stored (ids may have gaps: a failed Bulk's ids are not reused).
inline constexpr char kNextSeriesIdKey[] = "next_series_id";
inline constexpr char kSeriesCountKey[] = "series_count";
// The next event's seq (events.h), and each peer's cursor under this prefix.
inline constexpr char kNextEventSeqKey[] = "next_event_seq";
inline constexpr char kPeerCursorPrefix[] = "peer_cursor/";
inline constexpr char kLogIdKey[] = "log_id";

// A counter of the default column family; nullopt when absent.
absl::StatusOr<std::optional<uint64_t>> ReadCounter(rocksdb::DB& db,
                                                    rocksdb::ColumnFamilyHandle* cf,
                                                    std::string_view key);

// RocksDB's status as absl's, naming what was being done.
absl::Status ToAbsl(const rocksdb::Status& s, std::string_view what);

// Serializes `m`, refusing what could not be read back.
absl::Status Encode(const google::protobuf::Message& m, std::string* out);

// The start of the kChunkMs block holding t_ms.
int64_t BlockStart(int64_t t_ms);

// Merges series chunk operands (series.cc).
std::shared_ptr<rocksdb::MergeOperator> NewChunkMergeOperator();

// The first key after every key that starts with `prefix`.
inline std::string PrefixEnd(std::string prefix) {
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
inline absl::Status ParseInto(std::string_view v, std::vector<M>* out) {
  M m;
  if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError("store: undecodable " + m.GetTypeName());
  }
  out->push_back(std::move(m));
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

}  // namespace triage::store
