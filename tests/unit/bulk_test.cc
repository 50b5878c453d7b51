// Store::Bulk and replay::Ingest: large writes staged on disk, all or nothing.
#include <atomic>

#include "absl/strings/str_format.h"
#include "collectors/gzip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/tree.h"
#include "tests/unit/test_records.h"
#include "triage/replay/replay.h"
#include "triage/store/store.h"

namespace triage::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using triage::testing::AddPoint;
using triage::testing::Change;
using triage::testing::Dependency;
using triage::testing::MemStore;
using triage::testing::Numeric;

constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z

std::vector<std::string> ChangeIds(Store& store) {
  std::vector<std::string> ids;
  absl::StatusOr<std::vector<v1::Change>> changes = store.ChangesBetween(0, kT * 2);
  for (const v1::Change& c : *changes) ids.push_back(c.id());
  return ids;
}

v1::RecordBatch Points(const std::string& metric, int64_t from, int n, double value) {
  v1::RecordBatch b;
  v1::Series s = triage::testing::Series(metric, {{"service", "svc"}});
  for (int i = 0; i < n; ++i) AddPoint(&s, from + i * 60'000LL, value + i);
  *b.add_series() = s;
  return b;
}

TEST(BulkTest, StagedBatchesCommitAtOnceAndMergeWithStoredPoints) {
  MemStore store;
  ASSERT_TRUE(store->Write(Points("m", kT, 10, 0)).ok());  // Stored before.
  auto bulk = *store->BeginBulk();
  ASSERT_TRUE(bulk->Add(Points("m", kT + 5 * 60'000, 10, 100)).ok());  // Overlaps 5 points.
  ASSERT_TRUE(bulk->Add(Points("other", kT, 3, 0)).ok());
  v1::RecordBatch changes;
  *changes.add_changes() = Change("c1", "config", "svc", kT);
  ASSERT_TRUE(bulk->Add(changes).ok());
  // Nothing is visible before the commit.
  EXPECT_TRUE(store->ReadSeries("svc", "other", 0, kT * 2)->empty());
  EXPECT_THAT(ChangeIds(*store), ElementsAre());
  EXPECT_EQ(store->SeriesCount(), 1u);
  ASSERT_TRUE(bulk->Commit().ok());
  std::vector<v1::Series> m = *store->ReadSeries("svc", "m", 0, kT * 2);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points_size(), 15);
  EXPECT_EQ(m[0].points(4).value(), 4);
  EXPECT_EQ(m[0].points(5).value(), 100) << "the later write wins a shared timestamp";
  EXPECT_EQ(m[0].points(14).value(), 109);
  EXPECT_EQ(store->ReadSeries("svc", "other", 0, kT * 2)->at(0).points_size(), 3);
  EXPECT_THAT(ChangeIds(*store), ElementsAre("c1"));
  EXPECT_EQ(store->SeriesCount(), 2u);
  store.Reopen();
  EXPECT_EQ(store->SeriesCount(), 2u);
  EXPECT_EQ(store->ReadSeries("svc", "m", 0, kT * 2)->at(0).points_size(), 15);
}

TEST(BulkTest, ARepeatedChangeIdKeepsItsLastEventInTheBulkAndTheStore) {
  MemStore store;
  v1::RecordBatch stored;
  *stored.add_changes() = Change("c1", "config", "svc", kT - 1000);
  ASSERT_TRUE(store->Write(stored).ok());
  auto bulk = *store->BeginBulk();
  for (int64_t t : {kT, kT + 1000, kT + 2000}) {
    v1::RecordBatch b;
    *b.add_changes() = Change("c1", "code_deploy", "svc", t);
    ASSERT_TRUE(bulk->Add(b).ok());
  }
  ASSERT_TRUE(bulk->Commit().ok());
  std::vector<v1::Change> all = *store->ChangesBetween(0, kT * 2);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(ToMs(all[0].time()), kT + 2000);
  EXPECT_EQ(ToMs(store->GetChange("c1")->time()), kT + 2000);
}

TEST(BulkTest, AnUncommittedBulkLeavesTheStoreAsItWas) {
  MemStore store;
  ASSERT_TRUE(store->Write(Points("m", kT, 3, 0)).ok());
  {
    auto bulk = *store->BeginBulk();
    ASSERT_TRUE(bulk->Add(Points("new", kT, 3, 0)).ok());
    ASSERT_TRUE(bulk->Add(Points("m", kT, 3, 50)).ok());
  }  // Dropped: the bad last line of a bundle.
  EXPECT_TRUE(store->ReadSeries("svc", "new", 0, kT * 2)->empty());
  EXPECT_EQ(store->ReadSeries("svc", "m", 0, kT * 2)->at(0).points(0).value(), 0);
  EXPECT_EQ(store->SeriesCount(), 1u);
  // The series it would have added is new again for the next writer.
  ASSERT_TRUE(store->Write(Points("new", kT, 2, 0)).ok());
  EXPECT_EQ(store->SeriesCount(), 2u);
  EXPECT_EQ(store->ReadSeries("svc", "new", 0, kT * 2)->at(0).points_size(), 2);
}

TEST(BulkTest, ConflictsWithWritesMadeMeanwhileRefuseTheCommit) {
  MemStore store;
  auto bulk = *store->BeginBulk();
  v1::RecordBatch h;
  *h.add_histograms() = Numeric("svc", "f", kT, kT + 3600'000, {0, 1, 2}, {1, 2});
  *h.add_dependencies() = Dependency("a", {"b"});
  ASSERT_TRUE(bulk->Add(h).ok());
  v1::RecordBatch meanwhile;
  *meanwhile.add_histograms() = Numeric("svc", "f", kT, kT + 3600'000, {0, 5, 10}, {1, 2});
  ASSERT_TRUE(store->Write(meanwhile).ok());
  absl::Status s = bulk->Commit();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("registered meanwhile"));
  EXPECT_EQ(store->Histograms("svc", 0, kT * 2)->size(), 1u) << "only the write's";

  auto second = *store->BeginBulk();
  v1::RecordBatch d;
  *d.add_dependencies() = Dependency("a", {"b"});
  ASSERT_TRUE(second->Add(d).ok());
  v1::RecordBatch cycle;
  *cycle.add_dependencies() = Dependency("b", {"a"});
  ASSERT_TRUE(store->Write(cycle).ok());
  s = second->Commit();
  EXPECT_THAT(s.message(), HasSubstr("dependency cycle"));
}

TEST(BulkTest, AddIsRefusedBelowTheFreeSpaceReserve) {
  std::atomic<uint64_t> free{100 << 20};
  MemStore store(
      StoreOptions{.min_free_bytes = 64 << 20,
                   .free_bytes = [&]() -> absl::StatusOr<uint64_t> { return free.load(); }});
  auto bulk = *store->BeginBulk();
  ASSERT_TRUE(bulk->Add(Points("m", kT, 3, 0)).ok());
  free = 10 << 20;
  EXPECT_TRUE(IsInsufficientStorage(bulk->Add(Points("m", kT + 3600'000, 3, 0))));
}

const v1::Tree& Tree() {
  static const v1::Tree tree = *rules::DefaultTree();
  return tree;
}

// A bundle of `lines` series lines, each a new series of 100 points.
std::string SeriesBundle(int lines) {
  std::string out;
  for (int i = 0; i < lines; ++i) {
    out += absl::StrFormat(
        R"({"type":"series","metric":"m%d","labels":{"service":"svc"},"points":[)", i);
    for (int p = 0; p < 100; ++p) {
      out += absl::StrFormat("%s[%d,%d.25]", p ? "," : "", kT + p * 60'000LL, p);
    }
    out += "]}\n";
  }
  return out;
}

replay::Pull PullPieces(const std::string& bytes, size_t piece) {
  return [&bytes, piece, off = size_t{0}](std::string* out) mutable -> absl::StatusOr<bool> {
    if (off >= bytes.size()) return false;
    out->append(bytes.substr(off, piece));
    off += piece;
    return true;
  };
}

TEST(IngestTest, ABadLastLineLeavesNothingStoredHoweverMuchWasStaged) {
  MemStore store;
  std::string bundle = SeriesBundle(200);  // ~600 kB, staged every 16 kB.
  bundle += R"({"type":"series","metric":"bad","labels":{"service":"svc"},"points":[[1,"x"]]})";
  replay::IngestOptions options{.read = {.require_incident = false}, .stage_bytes = 16 << 10};
  absl::StatusOr<replay::Replayed> r =
      replay::Ingest(*store, "big.jsonl", PullPieces(bundle, 4096), Tree(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("big.jsonl:201:"));
  EXPECT_EQ(store->SeriesCount(), 0u);
  EXPECT_TRUE(store->ReadSeries("svc", "m0", 0, kT * 2)->empty());

  bundle = SeriesBundle(200);
  r = replay::Ingest(*store, "big.jsonl", PullPieces(bundle, 4096), Tree(), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records.at("series"), 200);
  EXPECT_EQ(r->records.at("sample"), 20'000);
  EXPECT_EQ(store->SeriesCount(), 200u);
  EXPECT_EQ(store->ReadSeries("svc", "m199", 0, kT * 2)->at(0).points(99).value(), 99.25);
}

TEST(IngestTest, GzipInAnyPiecesAndTheSizeCap) {
  MemStore store;
  const std::string plain = SeriesBundle(20);
  const std::string gz = collectors::Gzip(plain);
  replay::IngestOptions options{.read = {.require_incident = false}, .stage_bytes = 4096};
  for (size_t piece : {size_t{1}, size_t{7}, gz.size()}) {
    absl::StatusOr<replay::Replayed> r =
        replay::Ingest(*store, "b.jsonl.gz", PullPieces(gz, piece), Tree(), options);
    ASSERT_TRUE(r.ok()) << piece << ": " << r.status();
    EXPECT_EQ(r->records.at("sample"), 2000);
  }
  absl::StatusOr<replay::Replayed> truncated = replay::Ingest(
      *store, "b.jsonl.gz", replay::PullBytes(std::string_view(gz).substr(0, gz.size() / 2)),
      Tree(), options);
  EXPECT_THAT(truncated.status().message(), HasSubstr("b.jsonl.gz: the body is not valid gzip"));
  options.max_bytes = plain.size() - 1;
  absl::StatusOr<replay::Replayed> big =
      replay::Ingest(*store, "b.jsonl.gz", replay::PullBytes(gz), Tree(), options);
  EXPECT_TRUE(absl::IsResourceExhausted(big.status())) << big.status();
}

}  // namespace
}  // namespace triage::store
