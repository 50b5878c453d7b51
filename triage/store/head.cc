#include "triage/store/head.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace triage::store {

// varint n | n x (varint id | zigzag varint t - previous t | 8 bytes of v).
void EncodeHeadRecord(std::span<const HeadPoint> points, std::string* out) {
  out->clear();
  out->reserve(2 + points.size() * 14);
  PutVarint(out, points.size());
  int64_t prev = 0;
  for (const HeadPoint& p : points) {
    PutVarint(out, p.id);
    PutVarint(out,
              Zig(static_cast<int64_t>(static_cast<uint64_t>(p.t) - static_cast<uint64_t>(prev))));
    prev = p.t;
    const uint64_t bits = std::bit_cast<uint64_t>(p.v);
    char raw[8];
    std::memcpy(raw, &bits, sizeof raw);
    out->append(raw, sizeof raw);
  }
}

absl::Status DecodeHeadRecord(std::string_view value, std::vector<HeadPoint>* out) {
  auto corrupt = [] { return absl::DataLossError("store: head_log: malformed record"); };
  uint64_t n = 0;
  if (!GetVarint(&value, &n) || n > value.size()) return corrupt();  // >= 10 bytes a point.
  out->reserve(out->size() + n);
  int64_t t = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0, dt = 0;
    if (!GetVarint(&value, &id) || !GetVarint(&value, &dt) || value.size() < 8) return corrupt();
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(Unzig(dt)));
    uint64_t bits;
    std::memcpy(&bits, value.data(), sizeof bits);
    value.remove_prefix(8);
    out->push_back({id, t, std::bit_cast<double>(bits)});
  }
  if (!value.empty()) return corrupt();
  return absl::OkStatus();
}

void MergeNewest(std::span<const Sample> newest, std::vector<Sample>* sorted) {
  const size_t old = sorted->size();
  sorted->insert(sorted->end(), newest.begin(), newest.end());
  std::stable_sort(sorted->begin() + static_cast<std::ptrdiff_t>(old), sorted->end(),
                   [](const Sample& a, const Sample& b) { return a.t < b.t; });
  std::inplace_merge(sorted->begin(), sorted->begin() + static_cast<std::ptrdiff_t>(old),
                     sorted->end(), [](const Sample& a, const Sample& b) { return a.t < b.t; });
  // Of equal timestamps the last (the newest write) stays.
  std::vector<Sample>& s = *sorted;
  size_t out = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i + 1].t == s[i].t) continue;
    s[out++] = s[i];
  }
  s.resize(out);
}

void Head::Append(uint64_t record, std::span<const HeadPoint> points) {
  absl::MutexLock lock(&mu_);
  for (const HeadPoint& p : points) active_.series[p.id].push_back({p.t, p.v});
  active_.records.push_back(record);
  active_.samples += points.size();
}

size_t Head::samples() const {
  absl::ReaderMutexLock lock(&mu_);
  return active_.samples + (frozen_ ? frozen_->samples : 0);
}

void Head::Collect(uint64_t id, int64_t from_ms, int64_t to_ms, std::vector<Sample>* out) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const Part* part : {static_cast<const Part*>(frozen_.get()), &active_}) {
    if (part == nullptr) continue;
    auto it = part->series.find(id);
    if (it == part->series.end()) continue;
    for (const Sample& s : it->second) {
      if (s.t >= from_ms && s.t <= to_ms) out->push_back(s);
    }
  }
}

std::shared_ptr<const Head::Part> Head::Freeze() {
  absl::MutexLock lock(&mu_);
  if (frozen_ != nullptr) return nullptr;
  frozen_ = std::make_shared<Part>(std::move(active_));
  active_ = Part{};
  return frozen_;
}

void Head::Unfreeze(bool flushed) {
  absl::MutexLock lock(&mu_);
  if (frozen_ == nullptr) return;
  if (!flushed) {  // Back in front: the frozen points are the older ones.
    Part back = std::move(*frozen_);
    for (auto& [id, samples] : active_.series) {
      std::vector<Sample>& to = back.series[id];
      to.insert(to.end(), samples.begin(), samples.end());
    }
    back.records.insert(back.records.end(), active_.records.begin(), active_.records.end());
    back.samples += active_.samples;
    active_ = std::move(back);
  }
  frozen_.reset();
}

}  // namespace triage::store
