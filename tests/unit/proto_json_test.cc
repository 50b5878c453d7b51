// ProtoJson's own printer (proto/model/proto_json_fast.cc) against
// protobuf's converter: the same JSON values for every kind of field, on
// hand-made edge cases and on every record and the report of a shipped
// recorded incident.
#include "proto/model/proto_json.h"

#include <cmath>
#include <limits>

#include "collectors/bundle_reader.h"
#include "collectors/json.h"
#include "gtest/gtest.h"
#include "proto/model/time.h"
#include "rules/engine.h"
#include "rules/tree.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/drill.pb.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/service.pb.h"

namespace triage {
namespace {

using collectors::JsonValue;

// Equal as JSON values: objects by key in any order, numbers by value.
void ExpectSame(const JsonValue& a, const JsonValue& b, const std::string& path) {
  ASSERT_EQ(a.type, b.type) << path;
  switch (a.type) {
    case JsonValue::Type::kNumber:
      EXPECT_EQ(a.number, b.number) << path << ": " << a.text << " vs " << b.text;
      EXPECT_EQ(std::signbit(a.number), std::signbit(b.number)) << path;
      break;
    case JsonValue::Type::kString:
      EXPECT_EQ(a.text, b.text) << path;
      break;
    case JsonValue::Type::kBool:
      EXPECT_EQ(a.boolean, b.boolean) << path;
      break;
    case JsonValue::Type::kArray:
      ASSERT_EQ(a.items.size(), b.items.size()) << path;
      for (size_t i = 0; i < a.items.size(); ++i) {
        ExpectSame(a.items[i], b.items[i], path + "[" + std::to_string(i) + "]");
      }
      break;
    case JsonValue::Type::kObject: {
      ASSERT_EQ(a.members.size(), b.members.size()) << path << ": " << [&] {
        std::string keys;
        for (const auto& m : a.members) keys += " " + m.first;
        keys += " |";
        for (const auto& m : b.members) keys += " " + m.first;
        return keys;
      }();
      for (const auto& m : a.members) {
        const JsonValue* other = b.Find(m.first);
        ASSERT_NE(other, nullptr) << path << "." << m.first;
        ExpectSame(m.second, *other, path + "." + m.first);
      }
      break;
    }
    case JsonValue::Type::kNull:
      break;
  }
}

void ExpectSameJson(const google::protobuf::Message& m) {
  ASSERT_TRUE(FastJsonSupports(m.GetDescriptor())) << m.GetTypeName();
  const std::string ours = ProtoJson(m), theirs = ConverterJson(m, JsonNames::kProto);
  absl::StatusOr<JsonValue> a = collectors::ParseJson(ours), b = collectors::ParseJson(theirs);
  ASSERT_TRUE(a.ok()) << a.status() << "\n" << ours;
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectSame(*a, *b, m.GetTypeName());
}

TEST(ProtoJsonTest, EdgeCasesPrintAsProtobufPrintsThem) {
  v1::Series s;
  s.set_metric("quo\"te\\ <tag> \x01 tab\t nl\n é 漢字");
  (*s.mutable_labels())["b"] = "2";
  (*s.mutable_labels())["a"] = "";
  for (double v : {0.0, -0.0, 0.1, 1e-300, 1e21, 123456789012.5, -2.5e-7,
                   std::numeric_limits<double>::quiet_NaN(), HUGE_VAL, -HUGE_VAL,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()}) {
    v1::Point* p = s.add_points();
    p->set_t_ms(-9007199254740993);
    p->set_value(v);
  }
  ExpectSameJson(s);
  ExpectSameJson(v1::Series());  // Every default.

  v1::Upstream u;  // proto3 optional fields, set and unset.
  u.set_source("src");
  u.set_row_count(0);
  *u.mutable_time() = FromMs(1767225600123);
  ExpectSameJson(u);
  for (int64_t nanos : {0, 5'000'000, 5'000, 5, 999'999'999}) {
    v1::Change c;
    c.mutable_time()->set_seconds(1767225600);
    c.mutable_time()->set_nanos(static_cast<int32_t>(nanos));
    ExpectSameJson(c);
  }
  v1::DependencyHealth h;
  h.set_min(-1.5);
  ExpectSameJson(h);
}

TEST(ProtoJsonTest, ARecordedIncidentAndItsReportPrintAsProtobufPrintsThem) {
  collectors::BundleReadResult r = collectors::ReadBundleFile(
      TRIAGE_SOURCE_DIR "/deploy/demo/scenarios/p05-feature-drift.jsonl.gz");
  ASSERT_TRUE(r.ok());
  ExpectSameJson(r.bundle);
  v1::TriageReport report;
  report.set_incident_id("x");
  report.set_localized_category("feature_drift");
  v1::CategoryVerdict* v = report.add_verdicts();
  v->set_category("feature_drift");
  v->set_verdict(v1::HIT);
  v1::FeatureDrift* d = v->add_drift();
  d->set_kl(0.25);
  d->add_bins("[0, 1)");
  d->add_current_share(0.5);
  ExpectSameJson(report);
}

}  // namespace
}  // namespace triage
