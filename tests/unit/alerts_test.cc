// The alert router's three parts on their own: the incident book (pure),
// the walker (a queue and a thread) and the Alertmanager sink (a persisted
// queue with backoff), the last on a fake clock.
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "proto/model/time.h"
#include "tests/unit/test_records.h"
#include "triage/core/incident_book.h"
#include "triage/core/walker.h"
#include "triage/sinks/alertmanager_sink.h"

namespace triage::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const int64_t kStart = *ParseRfc3339("2026-05-05T03:42:00Z");

v1::WebhookAlert Alert(const std::string& fp, int64_t starts, const std::string& status = "firing",
                       const std::string& service = "reranker") {
  v1::WebhookAlert a;
  a.set_fingerprint(fp);
  a.set_status(status);
  (*a.mutable_labels())["alertname"] = "NDCGDrop";
  if (!service.empty()) (*a.mutable_labels())["service"] = service;
  (*a.mutable_labels())["metric"] = "ndcg_at_10";
  *a.mutable_starts_at() = FromMs(starts);
  if (status == "resolved") *a.mutable_ends_at() = FromMs(starts + 30 * kMinuteMs);
  a.set_generator_url("http://prometheus.invalid/graph?g0.expr=ndcg");
  return a;
}

// Applies hooks one after another, keeping the book's states as a store would.
class Book {
 public:
  BookUpdate Apply(std::vector<v1::WebhookAlert> alerts, int64_t now) {
    v1::AlertmanagerWebhook hook;
    for (auto& a : alerts) *hook.add_alerts() = std::move(a);
    std::vector<v1::IncidentState> states;
    for (const auto& [id, s] : states_) states.push_back(s);
    BookUpdate u = ApplyWebhook(hook, now, states, BookOptions{});
    for (const auto& [id, s] : u.changed) states_[id] = s;
    return u;
  }
  const v1::IncidentState& State(const std::string& id) { return states_.at(id); }

 private:
  std::map<std::string, v1::IncidentState> states_;
};

TEST(IncidentBookTest, OpensJoinsDedupesAndResolves) {
  Book book;
  BookUpdate u = book.Apply({Alert("fp-a", kStart)}, kStart + 1000);
  EXPECT_EQ(u.reply.opened(), 1);
  EXPECT_EQ(u.pages, 1);
  ASSERT_EQ(u.to_walk.size(), 1u);
  const std::string id = u.to_walk[0];
  EXPECT_EQ(id, "am-fp-a-1777952520");
  EXPECT_EQ(book.State(id).status(), v1::IncidentState::open);
  // The same alert again changes nothing.
  u = book.Apply({Alert("fp-a", kStart)}, kStart + 2000);
  EXPECT_EQ(u.reply.unchanged(), 1);
  EXPECT_THAT(u.changed, IsEmpty());
  // Another within 10 minutes joins; one 11 minutes after the last opens another.
  u = book.Apply({Alert("fp-b", kStart + 6 * kMinuteMs, "firing", "embedding")}, kStart + 3000);
  EXPECT_EQ(u.reply.joined(), 1);
  EXPECT_THAT(u.to_walk, ElementsAre(id));
  u = book.Apply({Alert("fp-c", kStart + 17 * kMinuteMs, "firing", "recsys")}, kStart + 4000);
  EXPECT_EQ(u.reply.opened(), 1);
  // Resolving every alert of the first resolves it, with the time to resolve.
  u = book.Apply({Alert("fp-a", kStart, "resolved"),
                  Alert("fp-b", kStart + 6 * kMinuteMs, "resolved", "embedding")},
                 kStart + 5000);
  EXPECT_EQ(u.reply.resolved(), 2);
  EXPECT_THAT(u.resolved, ElementsAre(id));
  const v1::IncidentState& s = book.State(id);
  EXPECT_EQ(s.status(), v1::IncidentState::resolved);
  EXPECT_EQ(s.minutes_to_resolve(), 36);  // fp-b ends 30 min after it started, 36 after fp-a.
  std::vector<std::string> events;
  for (const auto& e : s.timeline()) events.push_back(e.event());
  EXPECT_THAT(events, ElementsAre("alert_received", "alert_joined", "alert_resolved",
                                  "alert_resolved", "resolved"));
}

TEST(IncidentBookTest, UnmappedAlertsAndOwnEnrichedAlerts) {
  Book book;
  BookUpdate u = book.Apply({Alert("fp-x", kStart, "firing", "")}, kStart);
  EXPECT_EQ(u.reply.unmapped(), 1);
  EXPECT_THAT(u.to_walk, IsEmpty()) << "an unmapped incident is not walked";
  EXPECT_EQ(book.State("am-fp-x-1777952520").unmapped_reason(), "no label service");
  v1::WebhookAlert own = Alert("fp-own", kStart);
  (*own.mutable_labels())[sinks::kLoopLabel] = "am-fp-a-1";
  u = book.Apply({own}, kStart);
  EXPECT_EQ(u.reply.unchanged(), 1);
  EXPECT_THAT(u.changed, IsEmpty());
}

// The order webhooks arrive in does not matter (two Alertmanagers, retries,
// replicas): a resolve before its firing notification ends resolved, and a
// firing notification after the resolve changes nothing.
TEST(IncidentBookTest, AResolveBeforeItsFiringEndsResolved) {
  Book book;
  BookUpdate u = book.Apply({Alert("fp-late", kStart, "resolved")}, kStart + 40 * kMinuteMs);
  EXPECT_EQ(u.pages, 0) << "triaged never saw it page";
  ASSERT_EQ(u.resolved.size(), 1u);
  const std::string id = u.resolved[0];
  EXPECT_EQ(id, "am-fp-late-1777952520");
  EXPECT_EQ(book.State(id).status(), v1::IncidentState::resolved);
  EXPECT_EQ(book.State(id).minutes_to_resolve(), 30);
  u = book.Apply({Alert("fp-late", kStart)}, kStart + 41 * kMinuteMs);  // The late firing one.
  EXPECT_EQ(u.reply.unchanged(), 1);
  EXPECT_THAT(u.changed, IsEmpty());
  EXPECT_EQ(book.State(id).status(), v1::IncidentState::resolved);

  // Firing, resolved, then the firing notification again: still resolved.
  u = book.Apply({Alert("fp-a", kStart + kHourMs)}, kStart + kHourMs);
  const std::string a = u.to_walk.at(0);
  book.Apply({Alert("fp-a", kStart + kHourMs, "resolved")}, kStart + 2 * kHourMs);
  u = book.Apply({Alert("fp-a", kStart + kHourMs)}, kStart + 2 * kHourMs + 1);
  EXPECT_EQ(u.reply.unchanged(), 1);
  EXPECT_EQ(book.State(a).status(), v1::IncidentState::resolved);
  // The same alert firing again later has a new startsAt: a new incident.
  u = book.Apply({Alert("fp-a", kStart + 3 * kHourMs)}, kStart + 3 * kHourMs);
  EXPECT_EQ(u.reply.opened(), 1);
  EXPECT_NE(u.to_walk.at(0), a);
}

TEST(WalkerTest, WalksInOrderOnItsThread) {
  std::mutex mu;
  std::vector<std::string> walked;
  Walker walker([&](const std::string& id, int64_t received) {
    std::lock_guard<std::mutex> lock(mu);
    walked.push_back(absl::StrCat(id, "@", received));
  });
  walker.Start();
  walker.Enqueue("a", 1);
  walker.Enqueue("b", 2);
  walker.WaitIdle();
  walker.Stop();
  EXPECT_THAT(walked, ElementsAre("a@1", "b@2"));
}

class SinkTest : public ::testing::Test {
 protected:
  SinkTest() : metrics_(registry_), clock_(kStart + kHourMs) {}

  std::unique_ptr<sinks::AlertmanagerSink> Sink(size_t max_queue = 100) {
    return std::make_unique<sinks::AlertmanagerSink>(
        *store_, clock_, metrics_,
        sinks::SinkOptions{
            .page_url = "https://triage.example/", .resend_ms = 60'000, .max_queue = max_queue},
        [this](const v1::Delivery& d) {
          posts_.push_back(d.body());
          return up_ ? absl::OkStatus() : absl::UnavailableError("down");
        },
        [this](const v1::Delivery& d, int64_t latency) {
          delivered_.push_back(absl::StrCat(d.incident_id(), " ", latency));
        });
  }

  static v1::IncidentState State(const std::string& id) {
    v1::IncidentState s;
    s.set_id(id);
    s.set_status(v1::IncidentState::open);
    v1::AlertInstance* a = s.add_alerts();
    (*a->mutable_labels())["alertname"] = "NDCGDrop";
    (*a->mutable_labels())["service"] = "reranker";
    *a->mutable_starts_at() = FromMs(kStart);
    a->set_generator_url("http://prometheus.invalid/graph");
    return s;
  }

  static v1::TriageReport Report() {
    v1::TriageReport r;
    r.set_localized_category("code_deploy");
    v1::CategoryVerdict* v = r.add_verdicts();
    v->set_category("code_deploy");
    v->set_owner("service-owners");
    v->set_evidence("candidate chg-1");
    v->set_mitigation("roll back");
    return r;
  }

  prometheus::Registry registry_;
  Metrics metrics_;
  FakeClock clock_;
  testing::MemStore store_;
  bool up_ = true;
  std::vector<std::string> posts_;
  std::vector<std::string> delivered_;
};

TEST_F(SinkTest, TheEnrichedAlertIsAlertmanagersPostableAlert) {
  auto sink = Sink();
  ASSERT_TRUE(sink->Send(State("inc-1"), Report(), false, clock_.NowMs() - 250).ok());
  sink->DeliverDue();
  ASSERT_EQ(posts_.size(), 1u);
  const std::string& body = posts_[0];
  EXPECT_THAT(body, HasSubstr(R"("triage_category":"code_deploy")"));
  EXPECT_THAT(body, HasSubstr(R"("triage_owner":"service-owners")"));
  EXPECT_THAT(body, HasSubstr(R"("triage_incident":"inc-1")"));
  EXPECT_THAT(body, HasSubstr(R"("triage_link":"https://triage.example/#/incident/inc-1")"));
  EXPECT_THAT(body, HasSubstr(R"("startsAt":"2026-05-05T03:42:00Z")"));
  EXPECT_THAT(body, HasSubstr(R"("endsAt":"2026-05-05T04:46:00Z")"));  // now + 4 re-sends.
  EXPECT_THAT(body, HasSubstr(R"("generatorURL":"http://prometheus.invalid/graph")"));
  EXPECT_EQ(body.front(), '[');
  EXPECT_THAT(delivered_, ElementsAre("inc-1 250"));
  EXPECT_THAT(body, Not(HasSubstr("triage_cohort"))) << "spread, or no cohorts";
}

TEST_F(SinkTest, ANamedCohortIsALabelToRouteOn) {
  auto sink = Sink();
  v1::TriageReport report = Report();
  report.mutable_cohort_localization()->set_dimension("locale");
  report.mutable_cohort_localization()->set_value("ja");
  ASSERT_TRUE(sink->Send(State("inc-1"), report, false, clock_.NowMs()).ok());
  sink->DeliverDue();
  ASSERT_EQ(posts_.size(), 1u);
  EXPECT_THAT(posts_[0], HasSubstr(R"("triage_cohort":"locale=ja")"));
}

TEST_F(SinkTest, BacksOffKeepsOrderAndSurvivesARestart) {
  up_ = false;
  {
    auto sink = Sink();
    ASSERT_TRUE(sink->Send(State("inc-1"), Report(), false, 0).ok());
    ASSERT_TRUE(sink->Send(State("inc-2"), Report(), false, 0).ok());
    EXPECT_EQ(sink->DeliverDue(), clock_.NowMs() + 500);  // 250 ms << 1 attempt.
    EXPECT_EQ(posts_.size(), 1u) << "the second waits behind the first";
    sink->DeliverDue();  // Not due yet.
    EXPECT_EQ(posts_.size(), 1u);
    clock_.Advance(500);
    EXPECT_EQ(sink->DeliverDue(), clock_.NowMs() + 1000);
  }
  // A new sink on the same store finds the queue, in order.
  up_ = true;
  posts_.clear();
  clock_.Advance(1000);
  auto sink = Sink();
  sink->DeliverDue();
  ASSERT_EQ(posts_.size(), 2u);
  EXPECT_THAT(posts_[0], HasSubstr("inc-1"));
  EXPECT_THAT(posts_[1], HasSubstr("inc-2"));
  EXPECT_THAT(*sink->Pending(), IsEmpty());
}

TEST_F(SinkTest, TheQueueIsBounded) {
  up_ = false;
  auto sink = Sink(/*max_queue=*/2);
  for (const char* id : {"inc-1", "inc-2", "inc-3"}) {
    ASSERT_TRUE(sink->Send(State(id), Report(), false, 0).ok());
  }
  EXPECT_THAT(*sink->Pending(), ElementsAre("inc-2", "inc-3"));
  EXPECT_EQ(metrics_.deliveries_dropped.Value(), 1);
}

}  // namespace
}  // namespace triage::core
