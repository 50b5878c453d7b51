// Acknowledged means durable: with sync on, every write the store
// acknowledged (records, remote_write's head points, incident state) is in
// the image a power cut leaves (CrashFs: each file cut back to its last
// sync); with sync off a power cut loses acknowledged writes, which is what
// --unsafe-no-sync says.
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/unit/crash_fs.h"
#include "tests/unit/test_records.h"
#include "triage/store/store.h"

namespace triage::store {
namespace {

constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z
constexpr int kWrites = 50;

struct Survived {
  size_t changes = 0;
  size_t points = 0;
  size_t incidents = 0;
};

// Writes kWrites changes, points and incident states one acknowledged write
// each, takes the power-cut image while the store runs, and counts what the
// image holds.
Survived WriteThenCutPower(bool sync) {
  const std::string dir =
      std::filesystem::temp_directory_path() /
      ("triage-durability-" + std::to_string(::getpid()) + (sync ? "-s" : "-n"));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto fs = std::make_shared<triage::testing::CrashFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open({.path = dir + "/store", .env = env.get(), .sync = sync});
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  v1::RecordBatch first;
  v1::Series series = triage::testing::Series("latency", {{"service", "svc"}});
  triage::testing::AddPoint(&series, kT, 0);
  *first.add_series() = series;
  EXPECT_TRUE((*store)->Write(first).ok());
  const std::optional<uint64_t> id = (*store)->SeriesIdOf(series);
  EXPECT_TRUE(id.has_value());
  for (int i = 0; i < kWrites; ++i) {
    v1::RecordBatch b;
    *b.add_changes() =
        triage::testing::Change("chg-" + std::to_string(i), "config", "svc", kT + i * 1000);
    EXPECT_TRUE((*store)->Write(b).ok());
    const std::vector<HeadPoint> points = {{*id, kT + (i + 1) * 60'000, static_cast<double>(i)}};
    std::optional<absl::Status> s = (*store)->AppendPoints(points);
    EXPECT_TRUE(s.has_value() && s->ok());
    v1::IncidentState state;
    state.set_id("inc-" + std::to_string(i));
    state.set_status(v1::IncidentState::open);
    EXPECT_TRUE((*store)->PutIncidentRecords(nullptr, &state, nullptr).ok());
  }
  fs->PowerCutImage(dir + "/store", dir + "/after");
  store->reset();  // Closing flushes: only the image taken before counts.

  Survived out;
  absl::StatusOr<std::unique_ptr<Store>> after = Store::Open({.path = dir + "/after"});
  EXPECT_TRUE(after.ok()) << after.status();
  if (after.ok()) {
    out.changes = (*after)->ChangesBetween(0, kT * 2)->size();
    absl::StatusOr<std::vector<v1::Series>> read =
        (*after)->ReadSeries("svc", "latency", 0, kT * 2);
    if (read.ok() && !read->empty()) out.points = (*read)[0].points_size() - 1;
    out.incidents = (*after)->ListIncidentStates()->size();
  }
  after = absl::UnknownError("closed");
  std::filesystem::remove_all(dir);
  return out;
}

TEST(DurabilityTest, EverySyncedWriteSurvivesAPowerCut) {
  const Survived s = WriteThenCutPower(/*sync=*/true);
  EXPECT_EQ(s.changes, static_cast<size_t>(kWrites));
  EXPECT_EQ(s.points, static_cast<size_t>(kWrites));
  EXPECT_EQ(s.incidents, static_cast<size_t>(kWrites));
}

// The same test can fail: without sync the acknowledged writes are only in
// the page cache, and a power cut takes them.
TEST(DurabilityTest, WithoutSyncAPowerCutLosesAcknowledgedWrites) {
  const Survived s = WriteThenCutPower(/*sync=*/false);
  EXPECT_LT(s.changes + s.points + s.incidents, static_cast<size_t>(3 * kWrites));
}

}  // namespace
}  // namespace triage::store
