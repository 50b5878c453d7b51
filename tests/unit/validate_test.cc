#include "collectors/validate.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "collectors/alertmanager.h"
#include "collectors/change_event.h"
#include "collectors/remote_write.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/remote.pb.h"
#include "proto/model/names.h"
#include "snappy.h"
#include "tests/unit/test_records.h"

namespace triage::collectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kT = 1777345200000;  // 2026-04-28T03:00:00Z

std::vector<std::string> Problems(const v1::RecordBatch& b, const Limits& limits = {}) {
  InputErrorList errors;
  ValidateBatch(b, limits, &errors);
  std::vector<std::string> out;
  for (const v1::InputError& e : errors.errors().errors()) out.push_back(Render(e));
  return out;
}

std::vector<std::string> LimitsOf(const absl::Status& s) {
  std::vector<std::string> out;
  if (auto errors = InputErrorsOf(s)) {
    for (const v1::InputError& e : errors->errors()) out.push_back(e.limit());
  }
  return out;
}

TEST(Utf8Test, AcceptsWellFormedAndRefusesEverythingElse) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii, long enough to take the 8-byte path"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // Overlong '/'.
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // Overlong in three bytes.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // A surrogate.
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // Past U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("\xe6\x97"));          // Truncated.
  EXPECT_FALSE(IsValidUtf8("abc\x80"));           // A lone continuation byte.
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(ValidateTest, SeriesLabelsFollowPrometheusRulesAndLimits) {
  v1::RecordBatch b;
  v1::Series s = testing::Series("m", {{"service", "svc"}, {"1bad", "v"}, {"ok", "\xc0\xaf"}});
  *b.add_series() = s;
  EXPECT_THAT(Problems(b),
              ElementsAre(HasSubstr("series[0].labels: \"1bad\" is not a valid label name"),
                          "series[0].labels.ok: \"\\xc0\\xaf\" is not valid UTF-8"));
  v1::Series wide = testing::Series("m", {{"service", "svc"}});
  for (int i = 0; i < 29; ++i) wide.mutable_labels()->insert({absl::StrCat("l", i), "v"});
  *b.mutable_series(0) = wide;
  EXPECT_THAT(Problems(b), ElementsAre("series[0].labels: 31 labels, more than the limit of 30"));
  Limits roomy;
  roomy.max_labels_per_series = 31;
  EXPECT_THAT(Problems(b, roomy), IsEmpty());
  (*b.mutable_series(0)->mutable_labels())["l0"] = std::string(2049, 'v');
  EXPECT_THAT(Problems(b, roomy), ElementsAre("series[0].labels.l0: value longer than 2048 bytes"));
}

TEST(ValidateTest, PointsNeedFiniteValuesAndTimesInRange) {
  v1::RecordBatch b;
  v1::Series s = testing::Series("m", {{"service", "svc"}});
  testing::AddPoint(&s, kT, NAN);
  testing::AddPoint(&s, int64_t{1} << 62, 1);
  testing::AddPoint(&s, -1, 1);
  *b.add_series() = s;
  EXPECT_THAT(Problems(b), ElementsAre("series[0].points[0].value: nan is not a finite number",
                                       HasSubstr("series[0].points[1].t_ms: 4611686018427387904 ms "
                                                 "is outside the supported range"),
                                       HasSubstr("series[0].points[2].t_ms: -1 ms is outside")));
  // remote_write's staleness markers are NaN and allowed there.
  InputErrorList errors;
  s.mutable_points()->DeleteSubrange(1, 2);
  Validate(s, Origin{}, Limits{}, &errors, /*allow_nan=*/true);
  EXPECT_TRUE(errors.empty());
}

TEST(ValidateTest, OneTextCapEverywhere) {
  v1::RecordBatch b;
  *b.add_changes() = testing::Change("c", "config", "svc", kT);
  b.mutable_changes(0)->set_summary(std::string(4097, 's'));
  b.mutable_changes(0)->set_url(std::string(10, 'u'));
  EXPECT_THAT(Problems(b), ElementsAre("changes[0].summary: longer than 4096 bytes"));
  InputErrorList errors;
  ValidateBatch(b, Limits{}, &errors);
  EXPECT_THAT(LimitsOf(errors.ToStatus()), ElementsAre("max_text_bytes"));
  v1::Incident incident;
  incident.set_id("i");
  incident.set_title(std::string(5000, 't'));
  InputErrorList incident_errors;
  Validate(incident, Origin{}, Limits{}, &incident_errors);
  EXPECT_THAT(incident_errors.ToStatus().message(), HasSubstr("title: longer than 4096 bytes"));
}

TEST(ValidateTest, DependsOnAndAlertsAreBounded) {
  v1::RecordBatch b;
  std::vector<std::string> many(1001, "x");
  *b.add_dependencies() = testing::Dependency("svc", many);
  EXPECT_THAT(Problems(b),
              ElementsAre("dependencies[0].depends_on: 1001 entries, more than the limit of 1000"));
  v1::Incident incident;
  incident.set_id("i");
  for (int i = 0; i < 101; ++i) {
    v1::Alert* a = incident.add_alerts();
    a->set_service("s");
    a->set_metric("m");
    *a->mutable_fired_at() = FromMs(kT);
  }
  InputErrorList errors;
  Validate(incident, Origin{}, Limits{}, &errors);
  EXPECT_THAT(errors.ToStatus().message(),
              HasSubstr("alerts: 101 alerts, more than the limit of 100"));
}

TEST(ValidateTest, ErrorsAreStructuredAndRenderedByOrigin) {
  InputErrorList errors;
  errors.Add(Origin{.source = "b.jsonl", .line = 3, .bundle = true}, "kind", "unknown");
  errors.Add(Origin{.prefix = "changes[2]"}, "kind", "unknown", "max_text_bytes");
  absl::Status s = errors.ToStatus();
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "b.jsonl:3: kind: unknown\nchanges[2].kind: unknown");
  std::optional<v1::InputErrors> back = InputErrorsOf(s);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->errors_size(), 2);
  EXPECT_EQ(back->errors(0).source(), "b.jsonl");
  EXPECT_EQ(back->errors(0).line(), 3);
  EXPECT_EQ(back->errors(1).field(), "changes[2].kind");
  EXPECT_EQ(back->errors(1).limit(), "max_text_bytes");
  EXPECT_FALSE(InputErrorsOf(absl::InternalError("x")).has_value());
}

TEST(ValidateTest, MessagesStayValidUtf8WhateverTheInput) {
  v1::RecordBatch b;
  *b.add_changes() = testing::Change("c", "\xff\xfe kind", "svc", kT);
  std::vector<std::string> p = Problems(b);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(IsValidUtf8(p[0])) << p[0];
  EXPECT_THAT(p[0], HasSubstr("\\xff\\xfe kind"));
}

std::string RemoteWrite(
    const std::vector<std::vector<std::pair<std::string, std::string>>>& series) {
  prometheus::WriteRequest req;
  for (const auto& labels : series) {
    prometheus::TimeSeries* ts = req.add_timeseries();
    for (const auto& [k, v] : labels) {
      prometheus::Label* l = ts->add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    prometheus::Sample* sample = ts->add_samples();
    sample->set_timestamp(kT);
    sample->set_value(1);
  }
  std::string out;
  snappy::Compress(req.SerializeAsString().data(), req.ByteSizeLong(), &out);
  return out;
}

TEST(RemoteWriteTest, LabelsGetTheSameChecks) {
  v1::RecordBatch batch;
  int64_t samples = 0;
  absl::Status s = DecodeRemoteWrite(
      RemoteWrite({{{"__name__", "m"}, {"service", "svc"}, {"a", "1"}, {"a", "2"}},
                   {{"service", "svc"}},
                   {{"__name__", "m"}, {"", "v"}}}),
      1 << 20, Limits{}, &batch, &samples);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("timeseries[0].labels: a label name appears twice"),
                    HasSubstr("timeseries[1].labels: no __name__ label"),
                    HasSubstr("timeseries[2].labels: \"\" is not a valid label name")));
  batch.Clear();
  EXPECT_TRUE(DecodeRemoteWrite(RemoteWrite({{{"__name__", "m"}, {"service", "svc"}}}), 1 << 20,
                                Limits{}, &batch, &samples)
                  .ok());
  EXPECT_EQ(samples, 1);
}

// The quick reader agrees with protobuf on what it reads, and reads only
// plain requests: anything else is left to ParseWriteRequest.
TEST(RemoteWriteTest, TheWireScanReadsLabelBytesAndSamplesOfPlainRequests) {
  prometheus::WriteRequest req;
  for (const char* pod : {"a", "b"}) {
    prometheus::TimeSeries* ts = req.add_timeseries();
    for (const auto& [k, v] :
         {std::pair<std::string, std::string>{"__name__", "m"}, {"pod", pod}, {"service", "svc"}}) {
      prometheus::Label* l = ts->add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    for (int i = 0; i < 3; ++i) {
      prometheus::Sample* sample = ts->add_samples();
      sample->set_timestamp(kT + i);
      sample->set_value(i == 1 ? -0.5 : i);
    }
  }
  const std::string bytes = req.SerializeAsString();
  std::vector<WireSeries> series;
  std::vector<WireSample> samples;
  ASSERT_TRUE(ScanWriteRequest(bytes, &series, &samples));
  ASSERT_EQ(series.size(), 2u);
  ASSERT_EQ(samples.size(), 6u);
  for (int i = 0; i < 2; ++i) {
    prometheus::TimeSeries labels_only = req.timeseries(i);
    labels_only.clear_samples();
    EXPECT_EQ(series[static_cast<size_t>(i)].labels, labels_only.SerializeAsString());
    EXPECT_EQ(series[static_cast<size_t>(i)].first_sample, static_cast<size_t>(3 * i));
    EXPECT_EQ(series[static_cast<size_t>(i)].count, 3u);
  }
  EXPECT_EQ(samples[1].t, kT + 1);
  EXPECT_EQ(samples[1].v, -0.5);

  // Metadata, an exemplar, a label after a sample, a cut-off body: not plain.
  EXPECT_FALSE(ScanWriteRequest(bytes + "\x1a\x00", &series, &samples));      // metadata (3).
  std::string exemplar = req.timeseries(0).SerializeAsString() + "\x1a\x00";  // exemplars (3).
  EXPECT_FALSE(ScanWriteRequest(
      "\x0a" + std::string(1, static_cast<char>(exemplar.size())) + exemplar, &series, &samples));
  prometheus::TimeSeries sample_only, label_only;
  sample_only.add_samples()->set_value(1);
  label_only.add_labels()->set_name("__name__");
  const std::string late = sample_only.SerializeAsString() + label_only.SerializeAsString();
  EXPECT_FALSE(ScanWriteRequest("\x0a" + std::string(1, static_cast<char>(late.size())) + late,
                                &series, &samples));
  for (size_t cut = 1; cut < bytes.size(); cut += 7) {
    EXPECT_FALSE(ScanWriteRequest(std::string_view(bytes).substr(0, cut), &series, &samples))
        << cut;
  }
  EXPECT_TRUE(ScanWriteRequest("", &series, &samples));
  EXPECT_TRUE(series.empty());
}

TEST(JsonEventsTest, ChangeEventsAndWebhooksAreValidated) {
  absl::StatusOr<v1::Change> c =
      ParseChangeEvent(R"({"kind":"deploy","service":"s v c"})", kT, 7, Limits{});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("changes[0].kind: unknown change kind"),
                    HasSubstr("changes[0].service: \"s v c\" is not a valid name")));
  c = ParseChangeEvent(R"({"kind":"config","service":"svc","extra":1})", kT, 7, Limits{});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id(), "chg-1777345200000-0007");
  EXPECT_EQ(ToMs(c->time()), kT);
  absl::StatusOr<v1::AlertmanagerWebhook> hook = ParseAlertmanagerWebhook(
      R"({"version":"4","alerts":[{"status":"pending","labels":{"bad-name":"x"}}]})", Limits{});
  ASSERT_FALSE(hook.ok());
  EXPECT_THAT(std::string(hook.status().message()),
              AllOf(HasSubstr("alerts[0].status: \"pending\" is neither firing nor resolved"),
                    HasSubstr("alerts[0].fingerprint: missing"),
                    HasSubstr("alerts[0].labels: \"bad-name\" is not a valid label name")));
}

}  // namespace
}  // namespace triage::collectors
