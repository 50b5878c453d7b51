// The records the engine reads (rules::RecordSource, FeatureSource):
// dependencies, changes, histograms, upstream reports, probes, eval sets.
#include "absl/strings/str_format.h"
#include "proto/model/time.h"
#include "rocksdb/db.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

absl::StatusOr<rules::DependencyGraph> Store::Dependencies() const {
  std::vector<v1::Dependency> deps;
  absl::Status s = Scan(kDependencies, "", "",
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &deps); });
  if (!s.ok()) return s;
  rules::DependencyGraph g;
  for (const v1::Dependency& d : deps) {
    g.Set(d.service(), {d.depends_on().begin(), d.depends_on().end()});
  }
  return g;
}

absl::StatusOr<std::vector<v1::Change>> Store::ChangesBetween(int64_t from_ms,
                                                              int64_t to_ms) const {
  std::vector<v1::Change> out;
  if (to_ms < from_ms) return out;
  std::string lower, upper;
  PutTime(&lower, from_ms);
  PutTime(&upper, to_ms + 1);
  absl::Status s = Scan(kChanges, lower, upper,
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<v1::Change> Store::GetChange(const std::string& id) const {
  std::string t;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), cf(kChangeIds), id, &t);
  if (rs.IsNotFound()) return absl::NotFoundError("no change " + id);
  if (!rs.ok()) return ToAbsl(rs, "read change id");
  std::string_view in = t;
  int64_t time_ms;
  if (!GetTime(&in, &time_ms)) return absl::DataLossError("store: bad change id entry");
  v1::Change c;
  absl::Status s = GetMessage(kChanges, ChangeKey{time_ms, id}.Encode(), &c);
  if (!s.ok()) return s;
  return c;
}

absl::StatusOr<std::vector<v1::Histogram>> Store::Histograms(const std::string& service,
                                                             int64_t from_ms, int64_t to_ms) const {
  std::vector<v1::Histogram> out;
  std::string prefix = HistogramKey::Prefix(service);
  absl::Status s =
      Scan(kHistograms, prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
        std::optional<HistogramKey> key = HistogramKey::Decode(k);
        if (!key) return absl::DataLossError("store: bad histogram key");
        if (key->start_ms >= to_ms || key->end_ms <= from_ms) {
          return absl::OkStatus();
        }
        return ParseInto(v, &out);
      });
  if (!s.ok()) return s;
  return out;
}

namespace {

// Scans [first][second][time] keys under `first`, keeping from_ms <= time <= to_ms.
template <typename M, typename ScanFn>
absl::StatusOr<std::vector<M>> ScanPairTime(ScanFn scan, const std::string& first, int64_t from_ms,
                                            int64_t to_ms) {
  std::vector<M> out;
  std::string prefix = PairTimeKey::Prefix(first);
  absl::Status s = scan(prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    std::optional<PairTimeKey> key = PairTimeKey::Decode(k);
    if (!key) return absl::DataLossError("store: bad key");
    if (key->time_ms < from_ms || key->time_ms > to_ms) return absl::OkStatus();
    return ParseInto(v, &out);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Upstream>> Store::UpstreamReports(const std::string& consumer,
                                                                 int64_t from_ms,
                                                                 int64_t to_ms) const {
  return ScanPairTime<v1::Upstream>([&](const std::string& lo, const std::string& hi,
                                        auto fn) { return Scan(kUpstream, lo, hi, fn); },
                                    consumer, from_ms, to_ms);
}

absl::StatusOr<std::vector<v1::DependencyHealth>> Store::Probes(const std::string& service,
                                                                int64_t from_ms,
                                                                int64_t to_ms) const {
  return ScanPairTime<v1::DependencyHealth>(
      [&](const std::string& lo, const std::string& hi, auto fn) {
        return Scan(kDependencyHealth, lo, hi, fn);
      },
      service, from_ms, to_ms);
}

absl::StatusOr<std::vector<v1::EvalSet>> Store::EvalSets(const std::string& service,
                                                         int64_t to_ms) const {
  std::vector<v1::EvalSet> out;
  std::string lower = EvalSetKey::Prefix(service);
  std::string upper = lower;
  PutTime(&upper, to_ms + 1);
  absl::Status s = Scan(kEvalSets, lower, upper,
                        [&](std::string_view, std::string_view v) { return ParseInto(v, &out); });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Store::Features() const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = Scan(kFeatureEdges, "", "", [&](std::string_view k, std::string_view) {
    std::string service, feature;
    if (GetName(&k, &service) && GetName(&k, &feature)) out.emplace_back(service, feature);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace triage::store
