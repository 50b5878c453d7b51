#include "triage/store/store.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/unit/test_records.h"

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

std::vector<std::string> Ids(const std::vector<v1::Change>& changes) {
  std::vector<std::string> ids;
  for (const auto& c : changes) ids.push_back(c.id());
  return ids;
}

TEST(StoreTest, ChangesComeBackInTimeOrderWithInclusiveBounds) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_changes() = Change("late", "config", "svc", kT + 10);
  *b.add_changes() = Change("early", "config", "svc", kT - 10);
  *b.add_changes() = Change("edge", "config", "svc", kT);
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_THAT(Ids(*store->ChangesBetween(kT - 10, kT + 10)), ElementsAre("early", "edge", "late"));
  EXPECT_THAT(Ids(*store->ChangesBetween(kT, kT)), ElementsAre("edge"));
  EXPECT_THAT(Ids(*store->ChangesBetween(kT + 11, kT + 20)), ElementsAre());
}

TEST(StoreTest, ChangeIdsAreIdempotent) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_changes() = Change("chg-1", "config", "svc", kT);
  *b.add_changes() = Change("chg-1", "config", "svc", kT);  // Same batch.
  ASSERT_TRUE(store->Write(b).ok());
  ASSERT_TRUE(store->Write(b).ok());  // Again later.
  v1::RecordBatch moved;
  *moved.add_changes() = Change("chg-1", "code_deploy", "svc", kT + 60000);
  ASSERT_TRUE(store->Write(moved).ok());
  std::vector<v1::Change> all = *store->ChangesBetween(0, kT * 2);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind(), "code_deploy");
  EXPECT_EQ(store->GetChange("chg-1")->kind(), "code_deploy");
  EXPECT_TRUE(absl::IsNotFound(store->GetChange("nope").status()));
}

TEST(StoreTest, SeriesPointsMergeAcrossWritesAndChunks) {
  MemStore store;
  v1::RecordBatch b;
  v1::Series s = triage::testing::Series("requests", {{"service", "svc"}, {"source", "web"}});
  for (int i = 0; i < 300; ++i) AddPoint(&s, kT + i * 60000, i);  // Spans 3 chunks.
  *b.add_series() = s;
  ASSERT_TRUE(store->Write(b).ok());
  v1::RecordBatch update;
  v1::Series s2 = triage::testing::Series("requests", {{"service", "svc"}, {"source", "web"}});
  AddPoint(&s2, kT + 5 * 60000, -1);    // Overwrites a point.
  AddPoint(&s2, kT + 1000 * 60000, 7);  // A new chunk.
  *update.add_series() = s2;
  ASSERT_TRUE(store->Write(update).ok());

  std::vector<v1::Series> got = *store->ReadSeries("svc", "requests", kT, kT + 2000 * 60000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].labels().at("source"), "web");
  ASSERT_EQ(got[0].points_size(), 301);
  EXPECT_EQ(got[0].points(5).value(), -1);
  EXPECT_EQ(got[0].points(300).value(), 7);
  for (int i = 1; i < got[0].points_size(); ++i) {
    EXPECT_LT(got[0].points(i - 1).t_ms(), got[0].points(i).t_ms());
  }
  // A window inside one chunk, inclusive at both ends.
  got = *store->ReadSeries("svc", "requests", kT + 10 * 60000, kT + 12 * 60000);
  ASSERT_EQ(got[0].points_size(), 3);
  // Other services and metrics do not match by prefix.
  EXPECT_TRUE(store->ReadSeries("sv", "requests", 0, kT * 2)->empty());
  EXPECT_TRUE(store->ReadSeries("svc", "request", 0, kT * 2)->empty());
}

// Writers of known series commit without the write lock (remote_write's
// steady state) while others add new series: every point lands, every
// series keeps one id.
TEST(StoreTest, ConcurrentWritersOfKnownAndNewSeriesLoseNothing) {
  MemStore store;
  auto batch = [](int series_from, int series_to, int64_t t) {
    v1::RecordBatch b;
    for (int k = series_from; k < series_to; ++k) {
      v1::Series s = triage::testing::Series("m", {{"service", "svc"}, {"k", std::to_string(k)}});
      AddPoint(&s, t, k);
      *b.add_series() = s;
    }
    return b;
  };
  ASSERT_TRUE(store->Write(batch(0, 20, kT)).ok());  // Known from now on.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 1; i <= 50; ++i) {
        // Writers 0-2 write known series; writer 3 adds a new series each time.
        v1::RecordBatch b =
            w < 3 ? batch(0, 20, kT + (i * 3 + w) * 1000) : batch(20 + i, 21 + i, kT);
        EXPECT_TRUE(store->Write(b).ok());
      }
    });
  }
  for (std::thread& t : writers) t.join();
  std::vector<v1::Series> got = *store->ReadSeries("svc", "m", 0, kT * 2);
  ASSERT_EQ(got.size(), 70u);
  EXPECT_EQ(store->SeriesCount(), 70u);
  size_t points = 0;
  for (const v1::Series& s : got) points += static_cast<size_t>(s.points_size());
  EXPECT_EQ(points, 20u + 20u * 150u + 50u);
}

TEST(StoreTest, DistinctLabelSetsAreDistinctSeriesAndSurviveReopen) {
  MemStore store;
  v1::RecordBatch b;
  for (const char* source : {"web", "app"}) {
    v1::Series s = triage::testing::Series("requests", {{"service", "svc"}, {"source", source}});
    AddPoint(&s, kT, 1);
    *b.add_series() = s;
  }
  ASSERT_TRUE(store->Write(b).ok());
  store.Reopen();
  v1::RecordBatch more;
  v1::Series s = triage::testing::Series("requests", {{"service", "svc"}, {"source", "social"}});
  AddPoint(&s, kT, 1);
  *more.add_series() = s;
  ASSERT_TRUE(store->Write(more).ok());
  std::vector<v1::Series> got = *store->ReadSeries("svc", "requests", 0, kT);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& g : got) EXPECT_EQ(g.points_size(), 1);
}

TEST(StoreTest, HistogramEdgesMustMatchTheRegisteredEdgesAndNothingIsWritten) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_histograms() = Numeric("svc", "f", kT, kT + 3600000, {0, 1, 2}, {1, 2});
  ASSERT_TRUE(store->Write(b).ok());
  v1::RecordBatch bad;
  *bad.add_changes() = Change("c", "config", "svc", kT);
  *bad.add_histograms() = Numeric("svc", "f", kT + 3600000, kT + 7200000, {0, 1, 3}, {1, 2});
  absl::Status s = store->Write(bad);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("histograms[0].edges: feature f of service svc"));
  EXPECT_TRUE(store->ChangesBetween(0, kT * 2)->empty()) << "a failed batch writes nothing";
  EXPECT_EQ(store->Histograms("svc", 0, kT * 2)->size(), 1u);
}

TEST(StoreTest, HistogramsOverlapQuery) {
  MemStore store;
  v1::RecordBatch b;
  for (int h = 0; h < 5; ++h) {
    *b.add_histograms() =
        Numeric("svc", "f", kT + h * 3600000, kT + (h + 1) * 3600000, {0, 1}, {h + 1.0});
  }
  ASSERT_TRUE(store->Write(b).ok());
  // [kT+1h, kT+3h) overlaps hours 1 and 2 only (start < to, end > from).
  std::vector<v1::Histogram> got = *store->Histograms("svc", kT + 3600000, kT + 3 * 3600000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].counts(0), 2);
  EXPECT_EQ(got[1].counts(0), 3);
}

TEST(StoreTest, DependencyCycleIsRejected) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_dependencies() = Dependency("a", {"b"});
  ASSERT_TRUE(store->Write(b).ok());
  v1::RecordBatch cyc;
  *cyc.add_dependencies() = Dependency("b", {"a"});
  absl::Status s = store->Write(cyc);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("dependency cycle: a -> b -> a"));
  EXPECT_THAT(store->Dependencies()->Deps("b"), ElementsAre("b"));
}

TEST(StoreTest, UpstreamEvalSetsProbesAndIncidents) {
  MemStore store;
  v1::RecordBatch b;
  for (int i = 0; i < 3; ++i) {
    v1::Upstream* u = b.add_upstreams();
    u->set_source("catalog");
    u->set_consumer("svc");
    *u->mutable_time() = FromMs(kT + i * 3600000);
    u->set_row_count(100 + i);
    v1::EvalSet* e = b.add_eval_sets();
    e->set_service("svc");
    e->set_name("golden");
    *e->mutable_time() = FromMs(kT + i * 3600000);
    v1::DependencyHealth* d = b.add_dependency_health();
    d->set_service("os");
    d->set_check("recall");
    *d->mutable_time() = FromMs(kT + i * 3600000);
    d->set_value(i);
  }
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(store->UpstreamReports("svc", kT + 3600000, kT + 7200000)->size(), 2u);
  EXPECT_TRUE(store->UpstreamReports("catalog", 0, kT * 2)->empty());
  std::vector<v1::EvalSet> sets = *store->EvalSets("svc", kT + 3600000);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(ToMs(sets.back().time()), kT + 3600000);
  EXPECT_EQ(store->Probes("os", kT, kT)->size(), 1u);

  v1::Incident inc;
  inc.set_id("inc-1");
  inc.set_title("t");
  ASSERT_TRUE(store->PutIncident(inc).ok());
  EXPECT_EQ(store->GetIncident("inc-1")->title(), "t");
  EXPECT_TRUE(absl::IsNotFound(store->GetIncident("inc-2").status()));
  EXPECT_EQ(store->ListIncidents()->size(), 1u);
}

TEST(StoreTest, RetentionDropsOldRecordsThroughCompaction) {
  FakeClock clock(kT);
  MemStore store(/*retention_ms=*/35 * kDayMs, &clock);
  v1::RecordBatch b;
  *b.add_changes() = Change("old", "config", "svc", kT - 40 * kDayMs);
  *b.add_changes() = Change("new", "config", "svc", kT - kDayMs);
  v1::Series s = triage::testing::Series("m", {{"service", "svc"}});
  AddPoint(&s, kT - 40 * kDayMs, 1);
  AddPoint(&s, kT - kDayMs, 2);
  *b.add_series() = s;
  *b.add_histograms() =
      Numeric("svc", "f", kT - 40 * kDayMs, kT - 40 * kDayMs + 3600000, {0, 1}, {1});
  *b.add_histograms() = Numeric("svc", "f", kT - kDayMs, kT - kDayMs + 3600000, {0, 1}, {1});
  ASSERT_TRUE(store->Write(b).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_THAT(Ids(*store->ChangesBetween(0, kT)), ElementsAre("new"));
  EXPECT_EQ((*store->ReadSeries("svc", "m", 0, kT))[0].points_size(), 1);
  EXPECT_EQ(store->Histograms("svc", 0, kT)->size(), 1u);
  // Thirty-five days later everything time-stamped is gone; the index is not.
  clock.Advance(35 * kDayMs);
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_TRUE(store->ChangesBetween(0, kT * 2)->empty());
  EXPECT_EQ((*store->ReadSeries("svc", "m", 0, kT * 2))[0].points_size(), 0);
}

TEST(StoreTest, AFailedBatchAllocatesNoSeriesId) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_histograms() = Numeric("svc", "f", kT, kT + 3600000, {0, 1, 2}, {1, 2});
  ASSERT_TRUE(store->Write(b).ok());
  v1::RecordBatch bad;
  v1::Series s = triage::testing::Series("m", {{"service", "a"}});
  AddPoint(&s, kT, 1);
  *bad.add_series() = s;
  *bad.add_histograms() = Numeric("svc", "f", kT, kT + 3600000, {0, 5}, {1});
  ASSERT_FALSE(store->Write(bad).ok());
  EXPECT_TRUE(store->ReadSeries("a", "m", 0, kT)->empty());
  v1::RecordBatch good;
  v1::Series s2 = triage::testing::Series("m", {{"service", "b"}});
  AddPoint(&s2, kT, 2);
  *good.add_series() = s2;
  *good.add_series() = s;
  ASSERT_TRUE(store->Write(good).ok());
  EXPECT_EQ((*store->ReadSeries("a", "m", 0, kT))[0].points(0).value(), 1);
  EXPECT_EQ((*store->ReadSeries("b", "m", 0, kT))[0].points(0).value(), 2);
}

TEST(StoreTest, WritesStopAtTheFreeSpaceReserveAndResumeWhenSpaceReturns) {
  std::atomic<uint64_t> free{100 << 20};
  MemStore store(
      StoreOptions{.min_free_bytes = 64 << 20,
                   .free_bytes = [&]() -> absl::StatusOr<uint64_t> { return free.load(); }});
  v1::RecordBatch b;
  *b.add_changes() = Change("a", "config", "svc", kT);
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_TRUE(store->Writable().ok());
  free = 10 << 20;
  *b.mutable_changes(0) = Change("b", "config", "svc", kT);
  absl::Status s = store->Write(b);
  EXPECT_TRUE(IsInsufficientStorage(s)) << s;
  EXPECT_TRUE(absl::IsUnavailable(s));
  EXPECT_THAT(store->Writable().message(), HasSubstr("below the reserve"));
  EXPECT_TRUE(IsInsufficientStorage(store->PutIncident(v1::Incident())));
  EXPECT_THAT(Ids(*store->ChangesBetween(0, kT * 2)), ElementsAre("a")) << "reads keep working";
  free = 100 << 20;
  EXPECT_TRUE(store->Write(b).ok());
  EXPECT_TRUE(store->Writable().ok());
  EXPECT_THAT(Ids(*store->ChangesBetween(0, kT * 2)), ElementsAre("a", "b"));
}

TEST(StoreTest, RefusesWhatItCouldNotReadBack) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_changes() = Change("ok", "config", "svc", kT);
  *b.add_changes() = Change("bad", "config", "svc", kT);
  b.mutable_changes(1)->set_summary("bad \xc0\xaf");
  absl::Status s = store->Write(b);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("could not be read back"));
  EXPECT_TRUE(store->ChangesBetween(0, kT * 2)->empty()) << "nothing of the batch is written";
  v1::Incident incident;
  incident.set_id("u8");
  incident.set_title("\xc0\xaf");
  EXPECT_FALSE(store->PutIncident(incident).ok());
  EXPECT_TRUE(store->ListIncidents()->empty());
}

TEST(StoreTest, CapsDistinctSeries) {
  MemStore store(StoreOptions{.max_series = 2});
  auto series = [](const std::string& k) {
    v1::Series s = triage::testing::Series("m", {{"service", "svc"}, {"k", k}});
    AddPoint(&s, kT, 1);
    return s;
  };
  v1::RecordBatch two;
  *two.add_series() = series("a");
  *two.add_series() = series("b");
  ASSERT_TRUE(store->Write(two).ok());
  EXPECT_EQ(store->SeriesCount(), 2u);
  v1::RecordBatch third;
  *third.add_series() = series("a");
  *third.add_series() = series("c");
  absl::Status s = store->Write(third);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("series limit"));
  EXPECT_TRUE(store->Write(two).ok()) << "known series are still written";
  EXPECT_EQ(store->SeriesCount(), 2u);
}

TEST(StoreTest, AStoreThatCannotBeOpenedSaysWhy) {
  std::string dir = ::testing::TempDir() + "/store-lock-test";
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<Store>> first = Store::Open({.path = dir});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open({.path = dir});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use by another process"));
}

// A store written by an earlier triaged kept states as strings (field
// numbers now reserved): opening it moves them into the enums, once.
TEST(StoreTest, MigratesStringStatesOfAnEarlierVersion) {
  MemStore store;
  v1::IncidentState state;
  state.set_id("old");
  state.GetReflection()->MutableUnknownFields(&state)->AddLengthDelimited(2, "resolved");
  v1::AlertInstance* alert = state.add_alerts();
  alert->GetReflection()->MutableUnknownFields(alert)->AddLengthDelimited(2, "firing");
  v1::ActionItem* item = state.add_action_items();
  item->GetReflection()->MutableUnknownFields(item)->AddLengthDelimited(4, "done");
  ASSERT_TRUE(store->PutIncidentRecords(nullptr, &state, nullptr).ok());
  v1::Drill drill;
  drill.set_id("d1");
  drill.GetReflection()->MutableUnknownFields(&drill)->AddLengthDelimited(3, "finished");
  v1::DrillStep* step = drill.add_steps();
  step->GetReflection()->MutableUnknownFields(step)->AddLengthDelimited(3, "answer");
  ASSERT_TRUE(store->PutDrill(drill).ok());
  // Make it a v1 store: no schema version.
  store.Close();
  {
    rocksdb::DBOptions o;
    o.env = store.env();
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, "/db", &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, "/db", cfs, &handles, &raw).ok());
    ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), handles[0], "schema_version").ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  store.Reopen();
  v1::IncidentState migrated = *store->GetIncidentState("old");
  EXPECT_EQ(migrated.status(), v1::IncidentState::resolved);
  EXPECT_EQ(migrated.alerts(0).status(), v1::AlertInstance::firing);
  EXPECT_EQ(migrated.action_items(0).status(), v1::ActionItem::done);
  EXPECT_EQ(migrated.GetReflection()->GetUnknownFields(migrated).field_count(), 0);
  v1::Drill d = *store->GetDrill("d1");
  EXPECT_EQ(d.status(), v1::Drill::finished);
  EXPECT_EQ(d.steps(0).action(), v1::DrillStep::answer);
}

}  // namespace
}  // namespace triage::store
