#include "collectors/bundle_reader.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/gzip.h"
#include "collectors/json.h"
#include "proto/model/time.h"

namespace triage::collectors {

absl::Status BundleReadResult::ToStatus() const {
  if (ok()) return absl::OkStatus();
  return InputErrorStatus(errors);
}

namespace {

constexpr int64_t kMaxSafeInteger = int64_t{1} << 53;

}  // namespace

// Reads the fields of one JSON object into a record, reporting problems of
// the encoding (types, missing fields, times, non-finite numbers) by path.
class BundleDecoder::Fields {
 public:
  Fields(const JsonValue& obj, const Origin& at, InputErrorList* errors, std::string prefix = "")
      : obj_(obj), at_(at), errors_(errors), prefix_(std::move(prefix)) {}

  void Error(std::string_view key, std::string message) {
    errors_->Add(at_, prefix_ + std::string(key), std::move(message));
    ok_ = false;
  }
  bool ok() const { return ok_; }
  void MarkBad() { ok_ = false; }  // A nested reader reported the problem.
  const Origin& at() const { return at_; }
  InputErrorList* errors() { return errors_; }
  bool Has(std::string_view key) const { return obj_.Find(key) != nullptr; }

  // The value of `key`, or nullptr (reporting it when required). A JSON null
  // counts as absent.
  const JsonValue* Get(std::string_view key, bool required) {
    const JsonValue* v = obj_.Find(key);
    if (v != nullptr && v->is_null()) v = nullptr;
    if (v == nullptr && required) Error(key, "missing required field");
    return v;
  }

  const JsonValue* Typed(std::string_view key, bool required, JsonValue::Type type,
                         const char* want) {
    const JsonValue* v = Get(key, required);
    if (v != nullptr && v->type != type) {
      Error(key, absl::StrFormat("expected %s, got %s", want, v->TypeName()));
      return nullptr;
    }
    return v;
  }

  std::optional<std::string> String(std::string_view key, bool required) {
    const JsonValue* v = Typed(key, required, JsonValue::Type::kString, "a string");
    if (v == nullptr) return std::nullopt;
    return v->text;
  }

  std::optional<int64_t> Time(std::string_view key, bool required) {
    std::optional<std::string> s = String(key, required);
    if (!s) return std::nullopt;
    absl::StatusOr<int64_t> t = ParseRfc3339(*s);
    if (!t.ok()) {
      Error(key, std::string(t.status().message()));
      return std::nullopt;
    }
    return *t;
  }

  std::optional<double> Number(std::string_view key, bool required) {
    const JsonValue* v = Get(key, required);
    if (v == nullptr) return std::nullopt;
    return CheckNumber(*v, prefix_ + std::string(key));
  }

  // A finite number; reports NaN/Infinity (by the token as written) and
  // non-numbers under `path`.
  std::optional<double> CheckNumber(const JsonValue& v, const std::string& path) {
    if (v.type != JsonValue::Type::kNumber) {
      errors_->Add(at_, path, absl::StrFormat("expected a number, got %s", v.TypeName()));
      ok_ = false;
      return std::nullopt;
    }
    if (!std::isfinite(v.number)) {
      errors_->Add(
          at_, path,
          absl::StrFormat("%s is not a finite number (NaN and Infinity are not allowed)", v.text));
      ok_ = false;
      return std::nullopt;
    }
    return v.number;
  }

  // A whole number (the validator checks its sign).
  std::optional<int64_t> Integer(std::string_view key, bool required) {
    std::optional<double> d = Number(key, required);
    if (!d) return std::nullopt;
    if (*d != std::floor(*d) || std::fabs(*d) > static_cast<double>(kMaxSafeInteger)) {
      Error(key, absl::StrFormat("%g is not a whole number", *d));
      return std::nullopt;
    }
    return static_cast<int64_t>(*d);
  }

  // An object of string values (names and values are the validator's).
  void Labels(std::string_view key, google::protobuf::Map<std::string, std::string>* out) {
    const JsonValue* v = Typed(key, false, JsonValue::Type::kObject, "an object");
    if (v == nullptr) return;
    for (const auto& [k, val] : v->members) {
      if (val.type != JsonValue::Type::kString) {
        Error(absl::StrFormat("%s.%s", key, k),
              absl::StrFormat("expected a string, got %s", val.TypeName()));
      } else {
        (*out)[k] = val.text;
      }
    }
  }

  // An array of strings.
  void Strings(std::string_view key, bool required,
               google::protobuf::RepeatedPtrField<std::string>* out) {
    const JsonValue* v = Typed(key, required, JsonValue::Type::kArray, "an array");
    if (v == nullptr) return;
    for (size_t i = 0; i < v->items.size(); ++i) {
      if (v->items[i].type != JsonValue::Type::kString) {
        Error(absl::StrFormat("%s[%d]", key, i),
              absl::StrFormat("expected a string, got %s", v->items[i].TypeName()));
      } else {
        out->Add(std::string(v->items[i].text));
      }
    }
  }

  // Numbers of an array into `out`.
  void Numbers(const JsonValue& array, std::string_view key,
               google::protobuf::RepeatedField<double>* out) {
    for (size_t i = 0; i < array.items.size(); ++i) {
      std::optional<double> x = CheckNumber(array.items[i], absl::StrFormat("%s[%d]", key, i));
      if (x) out->Add(*x);
    }
  }

 private:
  const JsonValue& obj_;
  const Origin& at_;
  InputErrorList* errors_;
  std::string prefix_;
  bool ok_ = true;
};

BundleDecoder::BundleDecoder(std::string_view name, BundleReadOptions options)
    : name_(name), options_(std::move(options)), errors_(options_.max_errors) {}

void BundleDecoder::Feed(std::string_view bytes) {
  while (!bytes.empty() && !full()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + bytes.size() > options_.max_line_bytes) {
        errors_.Add(Origin{name_, line_ + 1}, "json",
                    absl::StrFormat("line longer than %d bytes", options_.max_line_bytes));
        partial_.clear();
        return;
      }
      partial_.append(bytes);
      return;
    }
    std::string_view text = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    if (!partial_.empty()) {
      partial_.append(text);
      std::string whole = std::move(partial_);
      partial_.clear();
      Line(whole);
    } else {
      Line(text);
    }
  }
}

template <typename Record>
bool BundleDecoder::Valid(const Record& r, bool allow_nan) {
  size_t before = errors_.size();
  Origin at{name_, line_, "", /*bundle=*/true};
  if constexpr (std::is_same_v<Record, v1::Series>) {
    Validate(r, at, options_.limits, &errors_, allow_nan);
  } else {
    Validate(r, at, options_.limits, &errors_);
  }
  return errors_.size() == before;
}

void BundleDecoder::Line(std::string_view text) {
  ++line_;
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find_first_not_of(" \t") == std::string_view::npos) return;
  const Origin at{name_, line_, "", /*bundle=*/true};
  absl::StatusOr<JsonValue> doc = ParseJson(text, JsonOptions{.pairs_member = "points"});
  if (!doc.ok()) {
    errors_.Add(at, "json", absl::StrFormat("invalid JSON: %s", doc.status().message()));
    return;
  }
  if (doc->type != JsonValue::Type::kObject) {
    errors_.Add(at, "json", absl::StrFormat("expected an object, got %s", doc->TypeName()));
    return;
  }
  Fields f(*doc, at, &errors_);
  std::optional<std::string> type = f.String("type", true);
  if (!type) return;
  if (*type == "incident") return Incident(f);
  if (*type == "dependency") return Dependency(f);
  if (*type == "change") return Change(f);
  if (*type == "series") return Series(f);
  if (*type == "histogram") return Histogram(f);
  if (*type == "upstream") return Upstream(f);
  if (*type == "eval_set") return EvalSet(f);
  if (*type == "dependency_health") return DependencyHealth(f);
  v1::InputError unknown;
  unknown.set_line(line_);
  unknown.set_field("type");
  unknown.set_message(absl::StrFormat(
      "unknown record type \"%s\" (known: incident, dependency, change, series, histogram, "
      "upstream, eval_set, dependency_health)",
      type->size() > 64 ? type->substr(0, 61) + "..." : *type));
  if (options_.lenient) {
    warnings_.push_back(Render(unknown));
  } else {
    f.Error("type", unknown.message());
  }
}

void BundleDecoder::Finish() {
  if (!partial_.empty() && !full()) {
    std::string last = std::move(partial_);
    partial_.clear();
    Line(last);
  }
  if (full()) return;
  if (incident_line_ == 0 && options_.require_incident) {
    errors_.Add(Origin{name_, line_ > 0 ? 1 : 0}, "type",
                "the bundle has no incident record (exactly one is required)");
  }
  std::vector<std::string> cycle = FindDependencyCycle(dependencies_);
  if (!cycle.empty()) {
    errors_.Add(Origin{name_, dependency_lines_[cycle.front()]}, "depends_on",
                absl::StrFormat("dependency cycle: %s", absl::StrJoin(cycle, " -> ")));
  }
}

void BundleDecoder::Incident(Fields& f) {
  if (incident_line_ != 0) {
    f.Error("type", absl::StrFormat("a second incident record (the first is at line %d); a "
                                    "bundle holds exactly one",
                                    incident_line_));
    return;
  }
  v1::Incident inc;
  if (auto id = f.String("id", true)) inc.set_id(*id);
  if (auto title = f.String("title", false)) inc.set_title(*title);
  const JsonValue* alerts = f.Typed("alerts", true, JsonValue::Type::kArray, "an array");
  if (alerts != nullptr) {
    for (size_t i = 0; i < alerts->items.size(); ++i) {
      const JsonValue& a = alerts->items[i];
      if (a.type != JsonValue::Type::kObject) {
        f.Error(absl::StrFormat("alerts[%d]", i),
                absl::StrFormat("expected an object, got %s", a.TypeName()));
        continue;
      }
      Fields af(a, f.at(), f.errors(), absl::StrFormat("alerts[%d].", i));
      v1::Alert* alert = inc.add_alerts();
      if (auto v = af.String("name", false)) alert->set_name(*v);
      if (auto v = af.String("service", true)) alert->set_service(*v);
      if (auto v = af.String("metric", true)) alert->set_metric(*v);
      af.Labels("labels", alert->mutable_labels());
      if (auto v = af.Time("fired_at", true)) *alert->mutable_fired_at() = FromMs(*v);
      if (auto v = af.String("severity", false)) alert->set_severity(*v);
      if (!af.ok()) f.MarkBad();
    }
  }
  const JsonValue* expected = f.Typed("expected", false, JsonValue::Type::kObject, "an object");
  if (expected != nullptr) {
    Fields ef(*expected, f.at(), f.errors(), "expected.");
    v1::Expected* e = inc.mutable_expected();
    if (auto v = ef.String("category", false)) e->set_category(*v);
    if (auto v = ef.String("change_id", false)) e->set_change_id(*v);
    if (auto v = ef.Integer("mttr_target_minutes", false)) {
      e->set_mttr_target_minutes(static_cast<int32_t>(std::clamp<int64_t>(*v, -1, 1 << 30)));
    }
    if (const JsonValue* c = expected->Find("cohort"); c != nullptr && c->is_null()) {
      e->mutable_cohort()->set_spread(true);  // Stated: no cohort carries the drop.
    } else if (ef.Typed("cohort", false, JsonValue::Type::kObject, "an object or null") !=
               nullptr) {
      Fields cf(*c, f.at(), f.errors(), "expected.cohort.");
      v1::ExpectedCohort* ec = e->mutable_cohort();
      if (auto v = cf.String("dimension", true)) ec->set_dimension(*v);
      if (auto v = cf.String("value", true)) ec->set_value(*v);
      if (!cf.ok()) f.MarkBad();
    }
    if (const JsonValue* h = expected->Find("hypothesis"); h != nullptr && h->is_null()) {
      e->mutable_hypothesis()->set_exhausted(true);  // Stated: none is HIT.
    } else if (auto v = ef.String("hypothesis", false)) {
      e->mutable_hypothesis()->set_id(*v);
    }
  }
  incident_line_ = line_;
  if (f.ok() && Valid(inc)) incident_ = std::move(inc);
}

void BundleDecoder::Dependency(Fields& f) {
  v1::Dependency d;
  if (auto v = f.String("service", true)) d.set_service(*v);
  f.Strings("depends_on", true, d.mutable_depends_on());
  if (!f.ok() || !Valid(d)) return;
  // A service's records add up: two records for one service mean both edges.
  std::vector<std::string>& edges = dependencies_[d.service()];
  edges.insert(edges.end(), d.depends_on().begin(), d.depends_on().end());
  dependency_lines_.emplace(d.service(), line_);
  *records_.add_dependencies() = std::move(d);
}

void BundleDecoder::Change(Fields& f) {
  v1::Change c;
  if (auto v = f.String("id", true)) c.set_id(*v);
  if (auto v = f.Time("time", true)) *c.mutable_time() = FromMs(*v);
  if (auto v = f.String("kind", true)) c.set_kind(*v);
  if (auto v = f.String("service", true)) c.set_service(*v);
  if (auto v = f.String("version", false)) c.set_version(*v);
  if (auto v = f.String("previous_version", false)) c.set_previous_version(*v);
  if (auto v = f.String("actor", false)) c.set_actor(*v);
  if (auto v = f.String("summary", false)) c.set_summary(*v);
  if (auto v = f.String("source", false)) c.set_source(*v);
  if (auto v = f.String("url", false)) c.set_url(*v);
  if (f.ok() && Valid(c)) *records_.add_changes() = std::move(c);
}

void BundleDecoder::Series(Fields& f) {
  v1::Series s;
  if (auto v = f.String("metric", true)) s.set_metric(*v);
  f.Labels("labels", s.mutable_labels());
  const JsonValue* points = f.Typed("points", true, JsonValue::Type::kArray, "an array");
  std::vector<std::pair<int64_t, double>> sorted;
  if (points != nullptr && points->paired) {  // Well-formed: read as pairs already.
    sorted = points->pairs;
  } else if (points != nullptr) {
    sorted.reserve(points->items.size());
    for (size_t i = 0; i < points->items.size() && !full(); ++i) {
      const JsonValue& p = points->items[i];
      auto path = [i] { return absl::StrFormat("points[%d]", i); };  // Only for errors.
      if (p.type != JsonValue::Type::kArray || p.items.size() != 2) {
        f.Error(path(), "expected [unix_milliseconds, value]");
        continue;
      }
      const JsonValue &jt = p.items[0], &jv = p.items[1];
      const bool t_ok = jt.type == JsonValue::Type::kNumber && std::isfinite(jt.number);
      const bool v_ok = jv.type == JsonValue::Type::kNumber && std::isfinite(jv.number);
      std::optional<double> t = t_ok ? std::optional(jt.number) : f.CheckNumber(jt, path() + "[0]");
      std::optional<double> v = v_ok ? std::optional(jv.number) : f.CheckNumber(jv, path() + "[1]");
      if (t && (*t != std::floor(*t) || std::fabs(*t) > static_cast<double>(kMaxSafeInteger))) {
        f.Error(path() + "[0]",
                absl::StrFormat("%s is not a whole number of milliseconds", jt.text));
        t.reset();
      }
      if (t && v) sorted.emplace_back(static_cast<int64_t>(*t), *v);
    }
  }
  if (!f.ok()) return;
  // In time order; a repeated timestamp keeps the last value.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  s.mutable_points()->Reserve(static_cast<int>(sorted.size()));
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + 1 < sorted.size() && sorted[i + 1].first == sorted[i].first) continue;
    v1::Point* p = s.add_points();
    p->set_t_ms(sorted[i].first);
    p->set_value(sorted[i].second);
  }
  if (Valid(s)) *records_.add_series() = std::move(s);
}

void BundleDecoder::Histogram(Fields& f) {
  v1::Histogram h;
  if (auto v = f.String("feature", true)) h.set_feature(*v);
  if (auto v = f.String("service", true)) h.set_service(*v);
  if (auto v = f.Time("start", true)) *h.mutable_start() = FromMs(*v);
  if (auto v = f.Time("end", true)) *h.mutable_end() = FromMs(*v);
  const JsonValue* edges = f.Typed("edges", false, JsonValue::Type::kArray, "an array");
  const JsonValue* counts = f.Typed("counts", false, JsonValue::Type::kArray, "an array");
  const JsonValue* cats = f.Typed("categories", false, JsonValue::Type::kObject, "an object");
  bool numeric = f.Has("edges") || f.Has("counts");
  if (numeric && cats == nullptr) {
    if (!f.Has("edges")) f.Error("edges", "missing required field");
    if (!f.Has("counts")) f.Error("counts", "missing required field");
  }
  if (edges != nullptr) f.Numbers(*edges, "edges", h.mutable_edges());
  if (counts != nullptr) f.Numbers(*counts, "counts", h.mutable_counts());
  if (cats != nullptr) {
    for (const auto& [k, v] : cats->members) {
      std::optional<double> c = f.CheckNumber(v, "categories." + k);
      if (c) (*h.mutable_categories())[k] = *c;
    }
  }
  if (!f.ok() || !Valid(h)) return;
  std::string key = h.service() + "/" + h.feature();
  auto [it, inserted] = feature_edges_.try_emplace(
      key, FeatureEdges{line_, std::vector<double>(h.edges().begin(), h.edges().end())});
  if (!inserted && !std::equal(h.edges().begin(), h.edges().end(), it->second.edges.begin(),
                               it->second.edges.end())) {
    f.Error("edges",
            absl::StrFormat("edges [%s] differ from feature %s's edges [%s] (first at line %d)",
                            absl::StrJoin(h.edges(), ","), key,
                            absl::StrJoin(it->second.edges, ","), it->second.line));
    return;
  }
  *records_.add_histograms() = std::move(h);
}

void BundleDecoder::Upstream(Fields& f) {
  v1::Upstream u;
  if (auto v = f.String("source", true)) u.set_source(*v);
  if (auto v = f.String("consumer", true)) u.set_consumer(*v);
  if (auto v = f.Time("time", true)) *u.mutable_time() = FromMs(*v);
  if (auto v = f.Integer("row_count", false)) u.set_row_count(*v);
  if (auto v = f.String("schema_fingerprint", false)) u.set_schema_fingerprint(*v);
  if (auto v = f.Time("last_seen", false)) *u.mutable_last_seen() = FromMs(*v);
  if (auto v = f.Integer("freshness_sla_seconds", false)) u.set_freshness_sla_seconds(*v);
  if (f.ok() && Valid(u)) *records_.add_upstreams() = std::move(u);
}

void BundleDecoder::EvalSet(Fields& f) {
  v1::EvalSet e;
  if (auto v = f.String("service", true)) e.set_service(*v);
  if (auto v = f.String("name", true)) e.set_name(*v);
  if (auto v = f.Time("time", true)) *e.mutable_time() = FromMs(*v);
  if (auto v = f.Time("refreshed_at", true)) *e.mutable_refreshed_at() = FromMs(*v);
  if (auto v = f.Number("catalog_turnover", false)) e.set_catalog_turnover(*v);
  if (f.ok() && Valid(e)) *records_.add_eval_sets() = std::move(e);
}

void BundleDecoder::DependencyHealth(Fields& f) {
  v1::DependencyHealth d;
  if (auto v = f.String("service", true)) d.set_service(*v);
  if (auto v = f.String("check", true)) d.set_check(*v);
  if (auto v = f.Time("time", true)) *d.mutable_time() = FromMs(*v);
  if (auto v = f.Number("value", true)) d.set_value(*v);
  if (auto v = f.Number("min", false)) d.set_min(*v);
  if (auto v = f.Number("max", false)) d.set_max(*v);
  if (f.ok() && Valid(d)) *records_.add_dependency_health() = std::move(d);
}

namespace {

BundleReadResult Result(BundleDecoder& decoder) {
  BundleReadResult result;
  result.errors = decoder.errors();
  result.warnings = decoder.warnings();
  if (result.ok()) {
    result.has_incident = decoder.has_incident();
    if (decoder.has_incident()) *result.bundle.mutable_incident() = decoder.incident();
    result.bundle.mutable_records()->Swap(decoder.records());
  }
  return result;
}

}  // namespace

BundleReadResult ReadBundle(std::string_view name, std::string_view content,
                            const BundleReadOptions& options) {
  BundleDecoder decoder(name, options);
  decoder.Feed(content);
  decoder.Finish();
  return Result(decoder);
}

BundleReadResult ReadBundleFile(const std::string& path, const BundleReadOptions& options) {
  BundleDecoder decoder(path, options);
  absl::Status s = ReadGzipOrPlainFile(path, [&](std::string_view chunk) {
    decoder.Feed(chunk);
    return !decoder.full();
  });
  if (!s.ok()) {
    BundleReadResult r;
    v1::InputError* e = r.errors.add_errors();
    e->set_source(path);
    e->set_field("file");
    e->set_message(std::string(s.message()));
    return r;
  }
  decoder.Finish();
  return Result(decoder);
}

}  // namespace triage::collectors
