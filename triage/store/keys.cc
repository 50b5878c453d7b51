#include "triage/store/keys.h"

namespace triage::store {

namespace {
constexpr uint64_t kSignFlip = uint64_t{1} << 63;
}  // namespace

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

void PutTime(std::string* out, int64_t unix_ms) {
  PutU64(out, static_cast<uint64_t>(unix_ms) ^ kSignFlip);
}

bool GetTime(std::string_view* in, int64_t* unix_ms) {
  uint64_t v;
  if (!GetU64(in, &v)) return false;
  *unix_ms = static_cast<int64_t>(v ^ kSignFlip);
  return true;
}

void PutName(std::string* out, std::string_view name) {
  out->push_back(static_cast<char>(static_cast<uint8_t>(name.size())));
  out->append(name);
}

bool GetName(std::string_view* in, std::string* name) {
  if (in->empty()) return false;
  size_t n = static_cast<uint8_t>((*in)[0]);
  if (in->size() < 1 + n) return false;
  name->assign(in->substr(1, n));
  in->remove_prefix(1 + n);
  return true;
}

namespace {
void PutValue16(std::string* out, std::string_view v) {
  size_t n = v.size() > 0xffff ? 0xffff : v.size();
  out->push_back(static_cast<char>(n >> 8));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(v.substr(0, n));
}
bool GetValue16(std::string_view* in, std::string* v) {
  if (in->size() < 2) return false;
  size_t n = (static_cast<uint8_t>((*in)[0]) << 8) | static_cast<uint8_t>((*in)[1]);
  if (in->size() < 2 + n) return false;
  v->assign(in->substr(2, n));
  in->remove_prefix(2 + n);
  return true;
}
}  // namespace

std::string ChangeKey::Encode() const {
  std::string k;
  PutTime(&k, time_ms);
  k.append(id);
  return k;
}

std::optional<ChangeKey> ChangeKey::Decode(std::string_view key) {
  ChangeKey k;
  if (!GetTime(&key, &k.time_ms)) return std::nullopt;
  k.id.assign(key);
  return k;
}

std::string SeriesIndexKey::Prefix(std::string_view service, std::string_view metric) {
  std::string k;
  PutName(&k, service);
  PutName(&k, metric);
  return k;
}

std::string EncodeSeriesIndexKey(
    std::string_view service, std::string_view metric,
    const std::vector<std::pair<std::string_view, std::string_view>>& sorted_labels) {
  std::string k = SeriesIndexKey::Prefix(service, metric);
  for (const auto& [name, value] : sorted_labels) {
    PutName(&k, name);
    PutValue16(&k, value);
  }
  return k;
}

std::string SeriesIndexKey::Encode() const {
  std::vector<std::pair<std::string_view, std::string_view>> sorted(labels.begin(), labels.end());
  return EncodeSeriesIndexKey(service, metric, sorted);
}

std::optional<SeriesIndexKey> SeriesIndexKey::Decode(std::string_view key) {
  SeriesIndexKey k;
  if (!GetName(&key, &k.service) || !GetName(&key, &k.metric)) return std::nullopt;
  while (!key.empty()) {
    std::string name, value;
    if (!GetName(&key, &name) || !GetValue16(&key, &value)) return std::nullopt;
    k.labels.emplace(std::move(name), std::move(value));
  }
  return k;
}

std::string ChunkKey::Encode() const {
  std::string k;
  PutU64(&k, series_id);
  PutTime(&k, block_start_ms);
  return k;
}

std::optional<ChunkKey> ChunkKey::Decode(std::string_view key) {
  ChunkKey k;
  if (!GetU64(&key, &k.series_id) || !GetTime(&key, &k.block_start_ms) || !key.empty()) {
    return std::nullopt;
  }
  return k;
}

std::string HistogramKey::Prefix(std::string_view service) {
  std::string k;
  PutName(&k, service);
  return k;
}

std::string HistogramKey::Encode() const {
  std::string k = Prefix(service);
  PutName(&k, feature);
  PutTime(&k, start_ms);
  PutTime(&k, end_ms);
  return k;
}

std::optional<HistogramKey> HistogramKey::Decode(std::string_view key) {
  HistogramKey k;
  if (!GetName(&key, &k.service) || !GetName(&key, &k.feature) || !GetTime(&key, &k.start_ms) ||
      !GetTime(&key, &k.end_ms) || !key.empty()) {
    return std::nullopt;
  }
  return k;
}

std::string FeatureDayKey::Encode() const {
  std::string k;
  PutName(&k, service);
  PutName(&k, feature);
  PutTime(&k, day_ms);
  return k;
}

std::optional<FeatureDayKey> FeatureDayKey::Decode(std::string_view key) {
  FeatureDayKey k;
  if (!GetName(&key, &k.service) || !GetName(&key, &k.feature) || !GetTime(&key, &k.day_ms) ||
      !key.empty()) {
    return std::nullopt;
  }
  return k;
}

int64_t FeatureDayKey::DayOf(int64_t t_ms) {
  constexpr int64_t kDayMs = 24 * 3600 * 1000;
  int64_t d = t_ms / kDayMs;
  if (t_ms % kDayMs < 0) --d;  // Floor, for times before 1970.
  return d * kDayMs;
}

std::string PairTimeKey::Prefix(std::string_view first) {
  std::string k;
  PutName(&k, first);
  return k;
}

std::string PairTimeKey::Encode() const {
  std::string k = Prefix(first);
  PutName(&k, second);
  PutTime(&k, time_ms);
  return k;
}

std::optional<PairTimeKey> PairTimeKey::Decode(std::string_view key) {
  PairTimeKey k;
  if (!GetName(&key, &k.first) || !GetName(&key, &k.second) || !GetTime(&key, &k.time_ms) ||
      !key.empty()) {
    return std::nullopt;
  }
  return k;
}

std::string EvalSetKey::Prefix(std::string_view service) {
  std::string k;
  PutName(&k, service);
  return k;
}

std::string EvalSetKey::Encode() const {
  std::string k = Prefix(service);
  PutTime(&k, time_ms);
  PutName(&k, name);
  return k;
}

std::optional<EvalSetKey> EvalSetKey::Decode(std::string_view key) {
  EvalSetKey k;
  if (!GetName(&key, &k.service) || !GetTime(&key, &k.time_ms) || !GetName(&key, &k.name) ||
      !key.empty()) {
    return std::nullopt;
  }
  return k;
}

std::string NameKey(std::string_view a) {
  std::string k;
  PutName(&k, a);
  return k;
}

std::string NameKey(std::string_view a, std::string_view b) {
  std::string k;
  PutName(&k, a);
  PutName(&k, b);
  return k;
}

}  // namespace triage::store
