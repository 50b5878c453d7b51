// Store::ChangesFor, the overlay's changes: in scope oldest first, the
// others newest first and paged, from an index that follows every write,
// Bulk commit and expiry.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_records.h"
#include "triage/base/clock.h"
#include "triage/store/store.h"

namespace triage::store {
namespace {

using ::testing::ElementsAre;
using triage::testing::Change;
using triage::testing::MemStore;

constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z
constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;

std::vector<std::string> Ids(const std::vector<v1::Change>& changes) {
  std::vector<std::string> ids;
  for (const auto& c : changes) ids.push_back(c.id());
  return ids;
}

Store::ChangeView View(Store& store, int64_t skip = 0, int64_t max_others = 2) {
  absl::StatusOr<Store::ChangeView> v = store.ChangesFor(
      kT - kDayMs, kT, [](std::string_view s) { return s == "svc" || s == "*"; }, skip, max_others);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : Store::ChangeView{};
}

TEST(ChangesTest, InScopeOldestFirstOthersNewestFirstCountedAndPaged) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_changes() = Change("a", "config", "svc", kT - 5000);
  *b.add_changes() = Change("b", "config", "other", kT - 4000);
  *b.add_changes() = Change("c", "config", "*", kT - 3000);
  *b.add_changes() = Change("d", "config", "other", kT - 2000);
  *b.add_changes() = Change("e", "config", "third", kT - 1000);
  *b.add_changes() = Change("late", "config", "svc", kT + 1);            // After the window.
  *b.add_changes() = Change("early", "config", "svc", kT - 2 * kDayMs);  // Before it.
  ASSERT_TRUE(store->Write(b).ok());
  Store::ChangeView v = View(*store);
  EXPECT_THAT(Ids(v.in_scope), ElementsAre("a", "c"));
  EXPECT_THAT(Ids(v.others), ElementsAre("e", "d"));
  EXPECT_EQ(v.other_count, 3);
  v = View(*store, /*skip=*/2);
  EXPECT_THAT(Ids(v.others), ElementsAre("b"));
  v = View(*store, /*skip=*/0, /*max_others=*/0);
  EXPECT_THAT(Ids(v.others), ElementsAre());
  EXPECT_EQ(v.other_count, 3);
}

// A write after a view changes the next view: a new change, a change
// moved to another time (once, at its new time), a Bulk's changes.
TEST(ChangesTest, AWriteAfterAViewChangesTheNextView) {
  MemStore store;
  v1::RecordBatch b;
  *b.add_changes() = Change("a", "config", "svc", kT - 5000);
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_THAT(Ids(View(*store).in_scope), ElementsAre("a"));
  v1::RecordBatch more;
  *more.add_changes() = Change("b", "code_deploy", "svc", kT - 6000);
  *more.add_changes() = Change("a", "config", "svc", kT - 1000);  // Moved.
  ASSERT_TRUE(store->Write(more).ok());
  EXPECT_THAT(Ids(View(*store).in_scope), ElementsAre("b", "a"));
  auto bulk = *store->BeginBulk();
  v1::RecordBatch bulk_changes;
  *bulk_changes.add_changes() = Change("x", "config", "other", kT - 100);
  ASSERT_TRUE(bulk->Add(bulk_changes).ok());
  ASSERT_TRUE(bulk->Commit().ok());
  Store::ChangeView v = View(*store);
  EXPECT_THAT(Ids(v.others), ElementsAre("x"));
  EXPECT_EQ(v.other_count, 1);
}

TEST(ChangesTest, ExpiredChangesLeaveTheView) {
  FakeClock clock(kT);
  MemStore store(/*retention_ms=*/2 * kDayMs, &clock);
  v1::RecordBatch b;
  *b.add_changes() = Change("a", "config", "svc", kT - 5000);
  *b.add_changes() = Change("b", "config", "other", kT - 4000);
  ASSERT_TRUE(store->Write(b).ok());
  EXPECT_EQ(View(*store).other_count, 1);
  clock.Advance(3 * kDayMs);
  ASSERT_TRUE(store->CompactAll().ok());
  Store::ChangeView v = View(*store);
  EXPECT_THAT(Ids(v.in_scope), ElementsAre());
  EXPECT_EQ(v.other_count, 0);
}

}  // namespace
}  // namespace triage::store
