// Changes for a view of one service (the overlay): from an in-memory index
// of every change's time, id and service, so that a week of thousands of
// changes costs a binary search and reads only the changes returned.
#include <algorithm>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "rocksdb/db.h"
#include "triage/store/internal.h"
#include "triage/store/keys.h"
#include "triage/store/store.h"

namespace triage::store {

namespace {

// A stored change's service, read off its wire format without decoding the
// rest (Change.service is field 4, a string).
std::string_view ServiceOf(std::string_view change) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(change.data()),
                                            static_cast<int>(change.size()));
  for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
    if (tag == ((4 << 3) | 2)) {
      uint32_t n = 0;
      const void* data = nullptr;
      int size = 0;
      if (!in.ReadVarint32(&n) || !in.GetDirectBufferPointer(&data, &size) ||
          static_cast<uint32_t>(size) < n) {
        return {};
      }
      return std::string_view(static_cast<const char*>(data), n);
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) return {};
  }
  return {};
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Store::ChangeIndex>> Store::Changes() const {
  const uint64_t generation = change_writes_.load();
  {
    absl::MutexLock lock(&change_index_mu_);
    if (change_index_ != nullptr && change_index_->generation == generation) return change_index_;
  }
  auto index = std::make_shared<ChangeIndex>();
  index->generation = generation;
  absl::Status s = Scan(kChanges, "", "", [&](std::string_view k, std::string_view v) {
    if (index->refs.size() >= kMaxIndexedChanges) {
      return absl::ResourceExhaustedError("too many changes to index");
    }
    index->refs.push_back({std::string(k), std::string(ServiceOf(v))});
    return absl::OkStatus();
  });
  if (absl::IsResourceExhausted(s)) return nullptr;  // Scanned per view instead.
  if (!s.ok()) return s;
  absl::MutexLock lock(&change_index_mu_);
  change_index_ = index;
  return change_index_;
}

absl::StatusOr<Store::ChangeView> Store::ChangesFor(
    int64_t from_ms, int64_t to_ms, const std::function<bool(std::string_view)>& in_scope,
    int64_t skip, int64_t max_others) const {
  ChangeView view;
  if (to_ms < from_ms) return view;
  std::string lower, upper;
  PutTime(&lower, from_ms);
  PutTime(&upper, to_ms + 1);
  absl::StatusOr<std::shared_ptr<const ChangeIndex>> index = Changes();
  if (!index.ok()) return index.status();
  if (*index == nullptr) return ChangesForByScan(lower, upper, in_scope, skip, max_others);
  const std::vector<ChangeRef>& refs = (*index)->refs;
  auto by_key = [](const ChangeRef& r, const std::string& k) { return r.key < k; };
  const auto first = std::lower_bound(refs.begin(), refs.end(), lower, by_key);
  const auto last = std::lower_bound(first, refs.end(), upper, by_key);
  std::vector<rocksdb::Slice> keys;
  for (auto it = first; it != last; ++it) {
    if (in_scope(it->service)) {
      keys.emplace_back(it->key);
    } else {
      ++view.other_count;
    }
  }
  const size_t in_scope_keys = keys.size();
  // The others, newest first, from the end of the window.
  int64_t seen = 0, taken = 0;
  for (auto it = last; it != first && taken < max_others;) {
    --it;
    if (in_scope(it->service) || seen++ < skip) continue;
    keys.emplace_back(it->key);
    ++taken;
  }
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), cf(kChanges), keys.size(), keys.data(), values.data(),
                statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;  // Replaced or expired since the index was made.
    if (!statuses[i].ok()) return ToAbsl(statuses[i], "read changes");
    std::string_view v(values[i].data(), values[i].size());
    absl::Status p = ParseInto(v, i < in_scope_keys ? &view.in_scope : &view.others);
    if (!p.ok()) return p;
  }
  return view;
}

absl::StatusOr<Store::ChangeView> Store::ChangesForByScan(
    const std::string& lower, const std::string& upper,
    const std::function<bool(std::string_view)>& in_scope, int64_t skip, int64_t max_others) const {
  ChangeView view;
  absl::Status s = Scan(kChanges, lower, upper, [&](std::string_view, std::string_view v) {
    if (in_scope(ServiceOf(v))) return ParseInto(v, &view.in_scope);
    ++view.other_count;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (max_others <= 0 || skip >= view.other_count) return view;
  // The others, newest first, from the end of the window.
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower_slice(lower);
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kChanges)));
  int64_t seen = 0;
  for (it->SeekForPrev(upper); it->Valid(); it->Prev()) {
    if (it->key().compare(upper) >= 0) continue;  // `upper` itself is past the window.
    std::string_view v(it->value().data(), it->value().size());
    if (in_scope(ServiceOf(v))) continue;
    if (seen++ < skip) continue;
    if (absl::Status p = ParseInto(v, &view.others); !p.ok()) return p;
    if (static_cast<int64_t>(view.others.size()) >= max_others) break;
  }
  return ToAbsl(it->status(), "scan changes");
}

}  // namespace triage::store
