#include "collectors/bundle_writer.h"

#include <charconv>
#include <map>

#include "absl/strings/str_cat.h"
#include "collectors/json.h"
#include "proto/model/time.h"

namespace triage::collectors {

namespace {

// Builds one JSON object field by field.
class Line {
 public:
  // A bundle record ({"type": ..., ...}\n), or with type nullptr a nested object.
  Line(std::string* out, const char* type) : out_(out), top_level_(type != nullptr) {
    out_->push_back('{');
    if (type != nullptr) Str("type", type);
  }
  ~Line() { out_->append(top_level_ ? "}\n" : "}"); }

  Line& Str(const char* key, const std::string& v, bool skip_empty = true) {
    if (skip_empty && v.empty()) return *this;
    Key(key);
    AppendJsonString(out_, v);
    return *this;
  }
  Line& Time(const char* key, const google::protobuf::Timestamp& t) {
    return Str(key, FormatRfc3339(ToMs(t)), false);
  }
  Line& Num(const char* key, double v) {
    Key(key);
    Number(v);
    return *this;
  }
  Line& Int(const char* key, int64_t v) {
    Key(key);
    out_->append(std::to_string(v));
    return *this;
  }
  Line& Labels(const char* key, const google::protobuf::Map<std::string, std::string>& m) {
    Key(key);
    std::map<std::string, std::string> sorted(m.begin(), m.end());
    out_->push_back('{');
    bool first = true;
    for (const auto& [k, v] : sorted) {
      if (!first) out_->push_back(',');
      first = false;
      AppendJsonString(out_, k);
      out_->push_back(':');
      AppendJsonString(out_, v);
    }
    out_->push_back('}');
    return *this;
  }
  Line& Raw(const char* key, const std::string& json) {
    Key(key);
    out_->append(json);
    return *this;
  }
  void Number(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_->append(buf, r.ptr);
  }
  std::string* out() { return out_; }

 private:
  void Key(const char* key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_->push_back(':');
  }
  std::string* out_;
  bool top_level_;
  bool first_ = true;
};

std::string NumberArray(const google::protobuf::RepeatedField<double>& values) {
  std::string s = "[";
  for (int i = 0; i < values.size(); ++i) {
    if (i > 0) s += ",";
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), values.Get(i));
    s.append(buf, r.ptr);
  }
  return s + "]";
}

}  // namespace

void WriteIncident(const v1::Incident& r, std::string* out) {
  std::string alerts = "[";
  for (int i = 0; i < r.alerts_size(); ++i) {
    const v1::Alert& a = r.alerts(i);
    if (i > 0) alerts += ",";
    Line l(&alerts, nullptr);
    l.Str("name", a.name()).Str("service", a.service()).Str("metric", a.metric());
    if (!a.labels().empty()) l.Labels("labels", a.labels());
    l.Time("fired_at", a.fired_at()).Str("severity", a.severity());
  }
  alerts += "]";
  Line l(out, "incident");
  l.Str("id", r.id(), false).Str("title", r.title()).Raw("alerts", alerts);
  if (r.has_expected()) {
    std::string e = "{";
    AppendJsonString(&e, "category");
    e += ":";
    AppendJsonString(&e, r.expected().category());
    e += ",\"change_id\":";
    if (r.expected().change_id().empty()) {
      e += "null";
    } else {
      AppendJsonString(&e, r.expected().change_id());
    }
    absl::StrAppend(&e, ",\"mttr_target_minutes\":", r.expected().mttr_target_minutes());
    if (r.expected().has_hypothesis()) {
      e += ",\"hypothesis\":";
      if (r.expected().hypothesis().exhausted()) {
        e += "null";
      } else {
        AppendJsonString(&e, r.expected().hypothesis().id());
      }
    }
    e += "}";
    l.Raw("expected", e);
  }
}

void WriteDependency(const v1::Dependency& r, std::string* out) {
  std::string deps = "[";
  for (int i = 0; i < r.depends_on_size(); ++i) {
    if (i > 0) deps += ",";
    AppendJsonString(&deps, r.depends_on(i));
  }
  Line(out, "dependency").Str("service", r.service(), false).Raw("depends_on", deps + "]");
}

void WriteChange(const v1::Change& r, std::string* out) {
  Line(out, "change")
      .Str("id", r.id(), false)
      .Time("time", r.time())
      .Str("kind", r.kind(), false)
      .Str("service", r.service(), false)
      .Str("version", r.version())
      .Str("previous_version", r.previous_version())
      .Str("actor", r.actor())
      .Str("summary", r.summary())
      .Str("source", r.source())
      .Str("url", r.url());
}

void WriteSeries(const v1::Series& r, std::string* out) {
  std::string points = "[";
  for (int i = 0; i < r.points_size(); ++i) {
    if (i > 0) points += ",";
    // Appended piece by piece: `"[" + std::string&&` trips GCC 12's -Wrestrict at -O3.
    points += '[';
    points += std::to_string(r.points(i).t_ms());
    points += ',';
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), r.points(i).value());
    points.append(buf, res.ptr);
    points += "]";
  }
  Line(out, "series")
      .Str("metric", r.metric(), false)
      .Labels("labels", r.labels())
      .Raw("points", points + "]");
}

void WriteHistogram(const v1::Histogram& r, std::string* out) {
  Line l(out, "histogram");
  l.Str("feature", r.feature(), false)
      .Str("service", r.service(), false)
      .Time("start", r.start())
      .Time("end", r.end());
  if (r.edges_size() > 0) {
    l.Raw("edges", NumberArray(r.edges())).Raw("counts", NumberArray(r.counts()));
  } else {
    std::map<std::string, double> sorted(r.categories().begin(), r.categories().end());
    std::string c = "{";
    bool first = true;
    for (const auto& [k, v] : sorted) {
      if (!first) c += ",";
      first = false;
      AppendJsonString(&c, k);
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof(buf), v);
      c += ':';
      c.append(buf, res.ptr);
    }
    l.Raw("categories", c + "}");
  }
}

void WriteUpstream(const v1::Upstream& r, std::string* out) {
  Line l(out, "upstream");
  l.Str("source", r.source(), false).Str("consumer", r.consumer(), false).Time("time", r.time());
  if (r.has_row_count()) l.Int("row_count", r.row_count());
  if (r.has_schema_fingerprint()) l.Str("schema_fingerprint", r.schema_fingerprint(), false);
  if (r.has_last_seen()) l.Time("last_seen", r.last_seen());
  if (r.has_freshness_sla_seconds()) l.Int("freshness_sla_seconds", r.freshness_sla_seconds());
}

void WriteEvalSet(const v1::EvalSet& r, std::string* out) {
  Line(out, "eval_set")
      .Str("service", r.service(), false)
      .Str("name", r.name(), false)
      .Time("time", r.time())
      .Time("refreshed_at", r.refreshed_at())
      .Num("catalog_turnover", r.catalog_turnover());
}

void WriteDependencyHealth(const v1::DependencyHealth& r, std::string* out) {
  Line l(out, "dependency_health");
  l.Str("service", r.service(), false)
      .Str("check", r.check(), false)
      .Time("time", r.time())
      .Num("value", r.value());
  if (r.has_min()) l.Num("min", r.min());
  if (r.has_max()) l.Num("max", r.max());
}

void WriteRecords(const v1::RecordBatch& b, std::string* out) {
  for (const auto& r : b.dependencies()) WriteDependency(r, out);
  for (const auto& r : b.changes()) WriteChange(r, out);
  for (const auto& r : b.series()) WriteSeries(r, out);
  for (const auto& r : b.histograms()) WriteHistogram(r, out);
  for (const auto& r : b.upstreams()) WriteUpstream(r, out);
  for (const auto& r : b.eval_sets()) WriteEvalSet(r, out);
  for (const auto& r : b.dependency_health()) WriteDependencyHealth(r, out);
}

}  // namespace triage::collectors
