#include "collectors/validate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/names.h"
#include "proto/model/time.h"

namespace triage::collectors {

namespace {

constexpr char kInputErrorsType[] = "type.googleapis.com/triage.v1.InputErrors";
constexpr char kNamePattern[] = "[A-Za-z0-9_.:-]{1,128}";

// User input shown inside a message: at most 64 bytes, with anything that
// is not printable ASCII or valid UTF-8 escaped, so that every message is
// itself valid UTF-8.
std::string Shown(std::string_view s) {
  bool cut = s.size() > 64;
  if (cut) s = s.substr(0, 61);
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (c >= 0x80 && i + len <= s.size() && IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
    }
  }
  if (cut) out += "...";
  return out;
}

// Checks shared by every record kind, reporting under one origin.
class Check {
 public:
  Check(const Origin& at, const Limits& limits, InputErrorList* out)
      : at_(at), limits_(limits), out_(out) {}

  void Add(std::string_view field, std::string message, std::string_view limit = {}) {
    out_->Add(at_, field, std::move(message), limit);
  }

  void Missing(std::string_view field) { Add(field, "missing required field"); }

  // A spec name; `required` reports an empty one as missing.
  void Name(std::string_view field, const std::string& name, bool required = true,
            bool allow_star = false) {
    if (name.empty()) {
      if (required) Missing(field);
      return;
    }
    if (allow_star && name == "*") return;
    if (!IsValidName(name)) {
      Add(field, absl::StrFormat("\"%s\" is not a valid name (%s)", Shown(name), kNamePattern));
    }
  }

  // Free text: valid UTF-8, at most `max` bytes.
  void Text(std::string_view field, const std::string& text, size_t max = 0,
            std::string_view limit = "max_text_bytes") {
    if (max == 0) max = limits_.max_text_bytes;
    if (text.size() > max) {
      Add(field, absl::StrFormat("longer than %d bytes", max), limit);
    } else if (!IsValidUtf8(text)) {
      Add(field, absl::StrFormat("\"%s\" is not valid UTF-8", Shown(text)));
    }
  }

  void Id(std::string_view field, const std::string& id) {
    if (id.empty()) {
      Add(field, at_.bundle ? "must not be empty" : "missing required field");
      return;
    }
    Text(field, id, limits_.max_id_bytes, "max_id_bytes");
  }

  void TimeMs(std::string_view field, int64_t ms) {
    if (ms < limits_.min_time_ms || ms > limits_.max_time_ms) {
      Add(field,
          absl::StrFormat("%d ms is outside the supported range [%s, %s]", ms,
                          FormatRfc3339(limits_.min_time_ms), FormatRfc3339(limits_.max_time_ms)));
    }
  }

  void Time(std::string_view field, bool present, const google::protobuf::Timestamp& t) {
    if (!present) {
      Missing(field);
      return;
    }
    if (t.nanos() < 0 || t.nanos() > 999'999'999) {
      Add(field, absl::StrFormat("nanos %d is outside [0, 999999999]", t.nanos()));
      return;
    }
    // Seconds beyond what milliseconds hold are out of range too.
    if (t.seconds() < limits_.min_time_ms / 1000 || t.seconds() > limits_.max_time_ms / 1000) {
      Add(field,
          absl::StrFormat("%d s is outside the supported range [%s, %s]", t.seconds(),
                          FormatRfc3339(limits_.min_time_ms), FormatRfc3339(limits_.max_time_ms)));
    }
  }

  void Finite(std::string_view field, double v) {
    if (!std::isfinite(v)) Add(field, absl::StrFormat("%g is not a finite number", v));
  }

  void Count(std::string_view field, double v) {
    if (!std::isfinite(v)) {
      Finite(field, v);
    } else if (v < 0) {
      Add(field, absl::StrFormat("negative count %g", v));
    }
  }

  void NonNegative(std::string_view field, int64_t v) {
    if (v < 0) Add(field, absl::StrFormat("negative value %d (must be >= 0)", v));
  }

  const Origin& at() const { return at_; }
  const Limits& limits() const { return limits_; }
  InputErrorList* out() { return out_; }

 private:
  const Origin& at_;
  const Limits& limits_;
  InputErrorList* out_;
};

}  // namespace

std::string Origin::Field(std::string_view field) const {
  if (prefix.empty()) return std::string(field);
  if (field.empty()) return prefix;
  return absl::StrFormat("%s.%s", prefix, field);
}

void InputErrorList::Add(const Origin& at, std::string_view field, std::string message,
                         std::string_view limit) {
  if (full()) {
    errors_.set_truncated(true);
    return;
  }
  v1::InputError* e = errors_.add_errors();
  e->set_source(at.source);
  e->set_line(at.line);
  e->set_field(at.Field(field));
  e->set_message(std::move(message));
  e->set_limit(std::string(limit));
}

absl::Status InputErrorList::ToStatus() const {
  if (empty()) return absl::OkStatus();
  return InputErrorStatus(errors_);
}

std::string Render(const v1::InputError& e) {
  if (e.line() > 0 || !e.source().empty()) {
    return absl::StrFormat("%s:%d: %s: %s", e.source(), e.line(), e.field(), e.message());
  }
  return absl::StrFormat("%s: %s", e.field(), e.message());
}

absl::Status InputErrorStatus(const v1::InputErrors& errors) {
  std::vector<std::string> lines;
  for (const v1::InputError& e : errors.errors()) lines.push_back(Render(e));
  if (errors.truncated()) {
    lines.push_back(absl::StrFormat("(stopped after %d errors)", errors.errors_size()));
  }
  absl::Status status = absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  status.SetPayload(kInputErrorsType, absl::Cord(errors.SerializeAsString()));
  return status;
}

absl::Status InvalidField(std::string_view field, std::string message) {
  InputErrorList list;
  list.Add(Origin{}, field, std::move(message));
  return list.ToStatus();
}

std::optional<v1::InputErrors> InputErrorsOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kInputErrorsType);
  if (!payload) return std::nullopt;
  v1::InputErrors errors;
  if (!errors.ParseFromString(std::string(*payload))) return std::nullopt;
  return errors;
}

void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                    std::string_view field, size_t extra, const Origin& at, const Limits& limits,
                    InputErrorList* out) {
  Check c(at, limits, out);
  if (labels.size() + extra > limits.max_labels_per_series) {
    c.Add(field,
          absl::StrFormat("%d labels, more than the limit of %d", labels.size() + extra,
                          limits.max_labels_per_series),
          "max_labels_per_series");
  }
  // In name order, so that the same input always gets the same errors.
  std::vector<std::pair<std::string_view, std::string_view>> sorted(labels.begin(), labels.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, value] : sorted) {
    if (name.size() > limits.max_label_name_bytes) {
      c.Add(field,
            absl::StrFormat("label name \"%s\" is longer than %d bytes", Shown(name),
                            limits.max_label_name_bytes),
            "max_label_name_bytes");
      continue;
    }
    if (!IsValidLabelName(name)) {
      c.Add(field, absl::StrFormat("\"%s\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                                   Shown(name)));
      continue;
    }
    const std::string_view label =
        name;  // (A lambda cannot capture a structured binding in clang 14.)
    auto path = [&] { return std::string(field) + "." + std::string(label); };  // For errors.
    if (value.size() > limits.max_label_value_bytes) {
      c.Add(path(), absl::StrFormat("value longer than %d bytes", limits.max_label_value_bytes),
            "max_label_value_bytes");
    } else if (!IsValidUtf8(value)) {
      c.Add(path(), absl::StrFormat("\"%s\" is not valid UTF-8", Shown(value)));
    }
  }
}

void Validate(const v1::Dependency& d, const Origin& at, const Limits& limits,
              InputErrorList* out) {
  Check c(at, limits, out);
  c.Name("service", d.service());
  if (static_cast<size_t>(d.depends_on_size()) > limits.max_depends_on) {
    c.Add("depends_on",
          absl::StrFormat("%d entries, more than the limit of %d", d.depends_on_size(),
                          limits.max_depends_on),
          "max_depends_on");
    return;
  }
  for (int j = 0; j < d.depends_on_size() && !out->full(); ++j) {
    c.Name(absl::StrFormat("depends_on[%d]", j), d.depends_on(j));
  }
}

void Validate(const v1::Change& ch, const Origin& at, const Limits& limits, InputErrorList* out) {
  Check c(at, limits, out);
  c.Id("id", ch.id());
  c.Time("time", ch.has_time(), ch.time());
  if (!IsChangeKind(ch.kind())) {
    c.Add("kind", absl::StrFormat("unknown change kind \"%s\" (known: %s)", Shown(ch.kind()),
                                  absl::StrJoin(ChangeKinds(), ", ")));
  }
  c.Name("service", ch.service(), /*required=*/true, /*allow_star=*/true);
  c.Text("version", ch.version());
  c.Text("previous_version", ch.previous_version());
  c.Text("actor", ch.actor());
  c.Text("summary", ch.summary());
  c.Name("source", ch.source(), /*required=*/false);
  c.Text("url", ch.url());
  c.Name("origin", ch.origin(), /*required=*/false);
}

void Validate(const v1::Series& s, const Origin& at, const Limits& limits, InputErrorList* out,
              bool allow_nan) {
  Check c(at, limits, out);
  c.Name("metric", s.metric());
  ValidateLabels(s.labels(), "labels", 1, at, limits, out);
  if (auto it = s.labels().find("service"); it != s.labels().end()) {
    c.Name("labels.service", it->second);
  }
  for (int j = 0; j < s.points_size() && !out->full(); ++j) {
    const v1::Point& p = s.points(j);
    if (!PointTimeOk(limits, p.t_ms())) {
      c.TimeMs(
          at.bundle ? absl::StrFormat("points[%d][0]", j) : absl::StrFormat("points[%d].t_ms", j),
          p.t_ms());
    }
    if (!allow_nan && !std::isfinite(p.value())) {
      c.Finite(
          at.bundle ? absl::StrFormat("points[%d][1]", j) : absl::StrFormat("points[%d].value", j),
          p.value());
    }
  }
}

void Validate(const v1::Histogram& h, const Origin& at, const Limits& limits, InputErrorList* out) {
  Check c(at, limits, out);
  c.Name("feature", h.feature());
  c.Name("service", h.service());
  c.Time("start", h.has_start(), h.start());
  c.Time("end", h.has_end(), h.end());
  if (h.has_start() && h.has_end() &&
      std::make_pair(h.end().seconds(), h.end().nanos()) <=
          std::make_pair(h.start().seconds(), h.start().nanos())) {
    c.Add("end", "must be after start");
  }
  const size_t bins = static_cast<size_t>(h.counts_size()) + h.categories().size();
  if (bins > limits.max_histogram_bins) {
    c.Add(h.categories().empty() ? "counts" : "categories",
          absl::StrFormat("%d bins, more than the limit of %d", bins, limits.max_histogram_bins),
          "max_histogram_bins");
    return;
  }
  bool numeric = h.edges_size() > 0 || h.counts_size() > 0;
  if (numeric && !h.categories().empty()) {
    c.Add("categories", "a histogram has either edges and counts, or categories, not both");
  } else if (numeric) {
    if (h.edges_size() < 2) c.Add("edges", "needs at least 2 edges");
    for (int j = 0; j < h.edges_size(); ++j) {
      std::string path = absl::StrFormat("edges[%d]", j);
      c.Finite(path, h.edges(j));
      if (j > 0 && std::isfinite(h.edges(j)) && !(h.edges(j) > h.edges(j - 1))) {
        c.Add(path, absl::StrFormat("edges must be strictly increasing (%g after %g)", h.edges(j),
                                    h.edges(j - 1)));
      }
    }
    for (int j = 0; j < h.counts_size(); ++j)
      c.Count(absl::StrFormat("counts[%d]", j), h.counts(j));
    if (h.edges_size() >= 2 && h.counts_size() + 1 != h.edges_size()) {
      c.Add("counts", absl::StrFormat("%d counts for %d edges (n edges need n-1 counts)",
                                      h.counts_size(), h.edges_size()));
    }
  } else if (h.categories().empty()) {
    c.Add("edges", "missing required field: a histogram needs edges and counts, or categories");
  }
  for (const auto& [k, v] : h.categories()) {
    std::string path = "categories." + Shown(k);
    if (k.empty() || k.size() > kMaxNameLength || !IsValidUtf8(k)) {
      c.Add(path, "category names are 1 to 128 bytes of UTF-8");
    }
    c.Count(path, v);
  }
}

void Validate(const v1::Upstream& u, const Origin& at, const Limits& limits, InputErrorList* out) {
  Check c(at, limits, out);
  c.Name("source", u.source());
  c.Name("consumer", u.consumer());
  c.Time("time", u.has_time(), u.time());
  if (u.has_row_count()) c.NonNegative("row_count", u.row_count());
  if (u.has_schema_fingerprint()) c.Text("schema_fingerprint", u.schema_fingerprint());
  if (u.has_last_seen()) c.Time("last_seen", true, u.last_seen());
  if (u.has_freshness_sla_seconds()) {
    c.NonNegative("freshness_sla_seconds", u.freshness_sla_seconds());
  }
}

void Validate(const v1::EvalSet& e, const Origin& at, const Limits& limits, InputErrorList* out) {
  Check c(at, limits, out);
  c.Name("service", e.service());
  if (e.name().empty()) {
    c.Missing("name");
  } else {
    c.Text("name", e.name(), kMaxNameLength);
  }
  c.Time("time", e.has_time(), e.time());
  c.Time("refreshed_at", e.has_refreshed_at(), e.refreshed_at());
  c.Finite("catalog_turnover", e.catalog_turnover());
  if (e.catalog_turnover() < 0) {
    c.Add("catalog_turnover", absl::StrFormat("negative value %g", e.catalog_turnover()));
  }
}

void Validate(const v1::DependencyHealth& d, const Origin& at, const Limits& limits,
              InputErrorList* out) {
  Check c(at, limits, out);
  c.Name("service", d.service());
  if (d.check().empty()) {
    c.Add("check", at.bundle ? "must not be empty" : "missing required field");
  } else {
    c.Text("check", d.check(), kMaxNameLength);
  }
  c.Time("time", d.has_time(), d.time());
  c.Finite("value", d.value());
  if (d.has_min()) c.Finite("min", d.min());
  if (d.has_max()) c.Finite("max", d.max());
  if (d.has_min() && d.has_max() && d.min() > d.max()) {
    c.Add("max", absl::StrFormat("max %g is below min %g", d.max(), d.min()));
  }
}

void Validate(const v1::Incident& incident, const Origin& at, const Limits& limits,
              InputErrorList* out) {
  Check c(at, limits, out);
  c.Id("id", incident.id());
  c.Text("title", incident.title());
  if (incident.alerts_size() == 0) c.Add("alerts", "needs at least one alert");
  if (static_cast<size_t>(incident.alerts_size()) > limits.max_alerts) {
    c.Add("alerts",
          absl::StrFormat("%d alerts, more than the limit of %d", incident.alerts_size(),
                          limits.max_alerts),
          "max_alerts");
    return;
  }
  for (int i = 0; i < incident.alerts_size(); ++i) {
    const v1::Alert& a = incident.alerts(i);
    std::string p = absl::StrFormat("alerts[%d].", i);
    c.Text(p + "name", a.name());
    c.Name(p + "service", a.service());
    c.Name(p + "metric", a.metric());
    ValidateLabels(a.labels(), p + "labels", 0, at, limits, out);
    c.Time(p + "fired_at", a.has_fired_at(), a.fired_at());
    c.Text(p + "severity", a.severity());
    c.Text(p + "expr", a.expr());
  }
  c.Text("expected.category", incident.expected().category());
  c.Text("expected.cohort.dimension", incident.expected().cohort().dimension());
  c.Text("expected.cohort.value", incident.expected().cohort().value());
  c.Text("expected.change_id", incident.expected().change_id(), limits.max_id_bytes,
         "max_id_bytes");
  if (incident.expected().mttr_target_minutes() < 0) {
    c.NonNegative("expected.mttr_target_minutes", incident.expected().mttr_target_minutes());
  }
}

void Validate(const v1::AlertmanagerWebhook& hook, const Origin& at, const Limits& limits,
              InputErrorList* out) {
  Check c(at, limits, out);
  if (!hook.version().empty() && hook.version() != "4") {
    c.Add("version",
          absl::StrFormat("webhook version \"%s\" is not supported (4 is)", Shown(hook.version())));
  }
  for (int i = 0; i < hook.alerts_size() && !out->full(); ++i) {
    const v1::WebhookAlert& a = hook.alerts(i);
    std::string p = absl::StrFormat("alerts[%d].", i);
    if (a.status() != "firing" && a.status() != "resolved") {
      c.Add(p + "status",
            absl::StrFormat("\"%s\" is neither firing nor resolved", Shown(a.status())));
    }
    if (a.fingerprint().empty()) {
      c.Add(p + "fingerprint", "missing");
    } else {
      c.Text(p + "fingerprint", a.fingerprint(), limits.max_id_bytes, "max_id_bytes");
    }
    ValidateLabels(a.labels(), p + "labels", 0, at, limits, out);
    for (const auto& [name, value] : a.annotations()) {
      if (!IsValidLabelName(name) || name.size() > limits.max_label_name_bytes) {
        c.Add(p + "annotations",
              absl::StrFormat("\"%s\" is not a valid annotation name", Shown(name)));
      } else {
        c.Text(p + "annotations." + name, value);
      }
    }
    c.Text(p + "generatorURL", a.generator_url());
    if (a.has_starts_at()) c.Time(p + "startsAt", true, a.starts_at());
    if (a.has_ends_at() && a.ends_at().seconds() > 0) c.Time(p + "endsAt", true, a.ends_at());
  }
}

void ValidateBatch(const v1::RecordBatch& b, const Limits& limits, InputErrorList* out) {
  auto each = [&](const auto& records, const char* name, auto&& validate) {
    for (int i = 0; i < records.size() && !out->full(); ++i) {
      Origin at{.prefix = absl::StrFormat("%s[%d]", name, i)};
      validate(records.Get(i), at);
    }
  };
  auto plain = [&](const auto& r, const Origin& at) { Validate(r, at, limits, out); };
  each(b.dependencies(), "dependencies", plain);
  each(b.changes(), "changes", plain);
  each(b.series(), "series", plain);
  each(b.histograms(), "histograms", plain);
  each(b.upstreams(), "upstreams", plain);
  each(b.eval_sets(), "eval_sets", plain);
  each(b.dependency_health(), "dependency_health", plain);
}

}  // namespace triage::collectors
