// Feature roll-ups: the drift check reads one FeatureDay per feature per UTC
// day instead of every hourly histogram. Each write that adds histograms
// puts the roll-up of every day it touches in the same WriteBatch (the
// stored histograms of that day, the written ones in place of stored ones
// with the same key), so roll-ups and histograms never disagree; a Bulk
// rolls up at Commit, over what is stored and what it staged. Only days the
// drift windows cut through are read histogram by histogram. Answers are
// cached by (service, window) until the next write of histograms.
#include <functional>
#include <map>
#include <optional>

#include "absl/strings/str_format.h"
#include "proto/model/time.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// The histogram keys of (service, feature) that start in [day, day + 1 day).
std::pair<std::string, std::string> DayRange(const FeatureDayKey& day) {
  std::string lo, hi;
  PutName(&lo, day.service);
  PutName(&lo, day.feature);
  hi = lo;
  PutTime(&lo, day.day_ms);
  PutTime(&hi, day.day_ms + kDayMs);
  return {lo, hi};
}

}  // namespace

absl::StatusOr<v1::FeatureDay> Store::RollUpDay(
    const FeatureDayKey& day, const std::map<std::string, v1::Histogram>& fresh) const {
  v1::FeatureDay out;
  auto [lo, hi] = DayRange(day);
  absl::Status s = Scan(kHistograms, lo, hi, [&](std::string_view k, std::string_view v) {
    if (fresh.contains(std::string(k))) return absl::OkStatus();
    v1::Histogram h;
    if (!h.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return absl::DataLossError("store: undecodable histogram");
    }
    rules::RollUp(h, &out);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  for (const auto& [_, h] : fresh) rules::RollUp(h, &out);
  return out;
}

// Groups histograms given in key order by feature day, and hands each day
// with its histograms to `emit` (a day's histograms are consecutive in key
// order).
class DayGroups {
 public:
  using Emit = std::function<absl::Status(const FeatureDayKey&,
                                          const std::map<std::string, v1::Histogram>&)>;
  explicit DayGroups(Emit emit) : emit_(std::move(emit)) {}

  absl::Status Add(std::string key, v1::Histogram h) {
    std::optional<HistogramKey> k = HistogramKey::Decode(key);
    if (!k) return absl::InternalError("store: bad histogram key");
    FeatureDayKey d{k->service, k->feature, FeatureDayKey::DayOf(k->start_ms)};
    if (day_ &&
        (d.day_ms != day_->day_ms || d.feature != day_->feature || d.service != day_->service)) {
      if (absl::Status s = Finish(); !s.ok()) return s;
    }
    day_ = std::move(d);
    group_.emplace(std::move(key), std::move(h));
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (!day_) return absl::OkStatus();
    absl::Status s = emit_(*day_, group_);
    group_.clear();
    day_.reset();
    return s;
  }

 private:
  Emit emit_;
  std::optional<FeatureDayKey> day_;
  std::map<std::string, v1::Histogram> group_;
};

absl::Status Store::RollUpDays(
    const std::function<absl::Status(DayGroups&)>& feed,
    const std::function<absl::Status(const std::string&, const v1::FeatureDay&)>& emit) const {
  DayGroups groups(
      [&](const FeatureDayKey& day, const std::map<std::string, v1::Histogram>& fresh) {
        absl::StatusOr<v1::FeatureDay> rolled = RollUpDay(day, fresh);
        if (!rolled.ok()) return rolled.status();
        return emit(day.Encode(), *rolled);
      });
  if (absl::Status s = feed(groups); !s.ok()) return s;
  return groups.Finish();
}

absl::Status Store::PutFeatureDays(const std::map<std::string, const v1::Histogram*>& written,
                                   rocksdb::WriteBatch* wb) {
  return RollUpDays(
      [&](DayGroups& groups) {
        for (const auto& [key, h] : written) {
          if (absl::Status s = groups.Add(key, *h); !s.ok()) return s;
        }
        return absl::OkStatus();
      },
      [&](const std::string& key, const v1::FeatureDay& day) {
        return Put(wb, kFeatureDays, key, day);
      });
}

absl::Status Store::RollUpStaged(
    rocksdb::Iterator* staged,
    const std::function<absl::Status(const std::string&, const v1::FeatureDay&)>& emit) const {
  return RollUpDays(
      [&](DayGroups& groups) {
        for (staged->SeekToFirst(); staged->Valid(); staged->Next()) {
          v1::Histogram h;
          if (!h.ParseFromArray(staged->value().data(), static_cast<int>(staged->value().size()))) {
            return absl::DataLossError("store: undecodable staged histogram");
          }
          if (absl::Status s = groups.Add(staged->key().ToString(), std::move(h)); !s.ok())
            return s;
        }
        return ToAbsl(staged->status(), "read staged histograms");
      },
      emit);
}

absl::StatusOr<std::vector<rules::FeatureSums>> Store::FeatureDistributions(
    const std::string& service, const rules::DriftWindow& window) const {
  const std::string cache_key =
      absl::StrFormat("%s/%d/%d/%d/%d", service, window.current_from, window.now,
                      window.baseline_from, window.baseline_to);
  // Read before the data: a write that lands meanwhile makes the entry stale.
  const uint64_t generation = histogram_writes_.load();
  {
    absl::MutexLock lock(&drift_cache_mu_);
    for (const DriftCacheEntry& e : drift_cache_) {
      if (e.key == cache_key && e.generation == generation) return e.sums;
    }
  }
  rules::FeatureAccumulator sums(window);
  std::string prefix;
  PutName(&prefix, service);
  absl::Status s =
      Scan(kFeatureDays, prefix, PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
        std::optional<FeatureDayKey> key = FeatureDayKey::Decode(k);
        if (!key) return absl::DataLossError("store: bad feature day key");
        if (key->day_ms >= window.now) return absl::OkStatus();  // Starts after now.
        v1::FeatureDay day;
        if (!day.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
          return absl::DataLossError("store: undecodable feature day");
        }
        if (sums.AddDay(key->service, key->feature, day)) return absl::OkStatus();
        // A window edge cuts through the day: its histograms one by one.
        auto [lo, hi] = DayRange(*key);
        return Scan(kHistograms, lo, hi, [&](std::string_view, std::string_view hv) {
          v1::Histogram h;
          if (!h.ParseFromArray(hv.data(), static_cast<int>(hv.size()))) {
            return absl::DataLossError("store: undecodable histogram");
          }
          sums.Add(h);
          return absl::OkStatus();
        });
      });
  if (!s.ok()) return s;
  std::vector<rules::FeatureSums> out = sums.Finish();
  absl::MutexLock lock(&drift_cache_mu_);
  if (drift_cache_.size() >= kDriftCacheEntries) drift_cache_.erase(drift_cache_.begin());
  drift_cache_.push_back(DriftCacheEntry{cache_key, generation, out});
  return out;
}

}  // namespace triage::store
