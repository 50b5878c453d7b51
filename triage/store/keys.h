// Key layouts of the store, one codec per key kind. Every integer is
// big-endian and fixed-width, and times are Unix milliseconds with the sign
// bit flipped, so that byte order equals time order. Names are written as
// <u8 length><bytes> (names are at most 128 bytes), which makes a prefix of
// whole names an exact match: "reranker" never matches "reranker2".
//
//   CF changes            [time:8][id...]                       -> Change
//   CF change_ids         [id...]                               -> [time:8]
//   CF series_index       [service][metric][labels...]          -> [series_id:8] SeriesIndexValue
//   CF series_chunks      [series_id:8][block_start:8]          -> segments (chunk_codec.h)
//   CF histograms         [service][feature][start:8][end:8]    -> Histogram
//   CF feature_edges      [service][feature]                    -> Histogram (edges only)
//   CF feature_days       [service][feature][day:8]             -> FeatureDay (histograms
//                                                                  starting that UTC day)
//   CF upstream           [consumer][source][time:8]            -> Upstream
//   CF eval_sets          [service][time:8][name]               -> EvalSet
//   CF dependency_health  [service][check][time:8]              -> DependencyHealth
//   CF dependencies       [service]                             -> Dependency
//   CF incidents          [id...]                               -> Incident
//   CF reports            [id...]                               -> TriageReport
//   CF incident_states    [id...]                               -> IncidentState
//   CF deliveries         [seq:8]                               -> Delivery
//   CF drills             [id...]                               -> Drill
//
// [labels...] is the labels sorted by key, each as <name><value>
// (<u16 length> for values). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triage::store {

// Appends/reads the order-preserving encodings.
void PutTime(std::string* out, int64_t unix_ms);
void PutU64(std::string* out, uint64_t v);
void PutName(std::string* out, std::string_view name);
bool GetTime(std::string_view* in, int64_t* unix_ms);
bool GetU64(std::string_view* in, uint64_t* v);
bool GetName(std::string_view* in, std::string* name);

struct ChangeKey {
  int64_t time_ms = 0;
  std::string id;
  std::string Encode() const;
  static std::optional<ChangeKey> Decode(std::string_view key);
};

// The SeriesIndexKey encoding from its parts; `sorted_labels` sorted by name.
std::string EncodeSeriesIndexKey(
    std::string_view service, std::string_view metric,
    const std::vector<std::pair<std::string_view, std::string_view>>& sorted_labels);

struct SeriesIndexKey {
  std::string service;
  std::string metric;
  std::map<std::string, std::string> labels;  // All labels, service included.
  std::string Encode() const;
  static std::optional<SeriesIndexKey> Decode(std::string_view key);
  // The prefix shared by every series of (service, metric).
  static std::string Prefix(std::string_view service, std::string_view metric);
};

struct ChunkKey {
  uint64_t series_id = 0;
  int64_t block_start_ms = 0;
  std::string Encode() const;
  static std::optional<ChunkKey> Decode(std::string_view key);
};

struct HistogramKey {
  std::string service;
  std::string feature;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string Encode() const;
  static std::optional<HistogramKey> Decode(std::string_view key);
  static std::string Prefix(std::string_view service);
};

// The roll-up of a feature's histograms that start on the UTC day at day_ms.
struct FeatureDayKey {
  std::string service;
  std::string feature;
  int64_t day_ms = 0;
  std::string Encode() const;
  static std::optional<FeatureDayKey> Decode(std::string_view key);
  static int64_t DayOf(int64_t t_ms);  // The start of t_ms's UTC day.
};

// Keys of the form [name][name][time:8], used by upstream ([consumer][source])
// and dependency_health ([service][check]).
struct PairTimeKey {
  std::string first;
  std::string second;
  int64_t time_ms = 0;
  std::string Encode() const;
  static std::optional<PairTimeKey> Decode(std::string_view key);
  static std::string Prefix(std::string_view first);
};

struct EvalSetKey {
  std::string service;
  int64_t time_ms = 0;
  std::string name;
  std::string Encode() const;
  static std::optional<EvalSetKey> Decode(std::string_view key);
  static std::string Prefix(std::string_view service);
};

// [service] or [service][feature]: dependencies and feature_edges.
std::string NameKey(std::string_view a);
std::string NameKey(std::string_view a, std::string_view b);

}  // namespace triage::store
