#include "collectors/bundle_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/json.h"
#include "triage/base/graph.h"
#include "triage/base/names.h"
#include "triage/base/time.h"

namespace triage::collectors {

std::string BundleError::ToString() const {
  return absl::StrFormat("%s:%d: %s: %s", file, line, field, message);
}

absl::Status BundleReadResult::ToStatus() const {
  if (ok()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const BundleError& e : errors) lines.push_back(e.ToString());
  if (truncated) lines.push_back(absl::StrFormat("(stopped after %d errors)", errors.size()));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

namespace {

constexpr size_t kMaxIdLength = 256;
constexpr int64_t kMaxSafeInteger = int64_t{1} << 53;

class Errors {
 public:
  Errors(std::string_view file, BundleReadResult* result, size_t max)
      : file_(file), result_(result), max_(max) {}
  void Add(int line, std::string field, std::string message) {
    if (result_->errors.size() >= max_) {
      result_->truncated = true;
      return;
    }
    result_->errors.push_back({file_, line, std::move(field), std::move(message)});
  }
  bool full() const { return result_->errors.size() >= max_; }
  size_t count() const { return result_->errors.size(); }

 private:
  std::string file_;
  BundleReadResult* result_;
  size_t max_;
};

// Reads the fields of one JSON object, reporting each problem by field path.
class Fields {
 public:
  Fields(const JsonValue& obj, int line, Errors* errors, std::string prefix = "")
      : obj_(obj), line_(line), errors_(errors), prefix_(std::move(prefix)) {}

  std::string Path(std::string_view key) const { return prefix_ + std::string(key); }
  void Error(std::string_view key, std::string message) {
    errors_->Add(line_, Path(key), std::move(message));
    ok_ = false;
  }
  bool ok() const { return ok_; }

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

  std::optional<std::string> String(std::string_view key, bool required, size_t max_len = 4096) {
    const JsonValue* v = Typed(key, required, JsonValue::Type::kString, "a string");
    if (v == nullptr) return std::nullopt;
    if (v->text.size() > max_len) {
      Error(key, absl::StrFormat("longer than %d bytes", max_len));
      return std::nullopt;
    }
    return v->text;
  }

  std::optional<std::string> Name(std::string_view key, bool required, bool allow_star = false) {
    std::optional<std::string> s = String(key, required, 1 << 20);
    if (!s) return s;
    if (allow_star && *s == "*") return s;
    if (!IsValidName(*s)) {
      Error(key,
            absl::StrFormat("\"%s\" is not a valid name ([A-Za-z0-9_.:-]{1,128})", Truncate(*s)));
      return std::nullopt;
    }
    return s;
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
    return CheckNumber(*v, Path(key));
  }

  // A finite number; reports NaN/Infinity and non-numbers under `path`.
  std::optional<double> CheckNumber(const JsonValue& v, const std::string& path) {
    if (v.type != JsonValue::Type::kNumber) {
      errors_->Add(line_, path, absl::StrFormat("expected a number, got %s", v.TypeName()));
      ok_ = false;
      return std::nullopt;
    }
    if (!std::isfinite(v.number)) {
      errors_->Add(
          line_, path,
          absl::StrFormat("%s is not a finite number (NaN and Infinity are not allowed)", v.text));
      ok_ = false;
      return std::nullopt;
    }
    return v.number;
  }

  std::optional<int64_t> NonNegativeInteger(std::string_view key, bool required) {
    std::optional<double> d = Number(key, required);
    if (!d) return std::nullopt;
    if (*d < 0) {
      Error(key, absl::StrFormat("negative value %g (must be >= 0)", *d));
      return std::nullopt;
    }
    if (*d != std::floor(*d) || *d > static_cast<double>(kMaxSafeInteger)) {
      Error(key, absl::StrFormat("%g is not a whole number", *d));
      return std::nullopt;
    }
    return static_cast<int64_t>(*d);
  }

  // An object of string values.
  std::optional<std::map<std::string, std::string>> Labels(std::string_view key) {
    const JsonValue* v = Typed(key, false, JsonValue::Type::kObject, "an object");
    if (v == nullptr) return std::nullopt;
    std::map<std::string, std::string> out;
    for (const auto& [k, val] : v->members) {
      std::string path = absl::StrFormat("%s.%s", Path(key), k);
      if (k.empty() || k.size() > kMaxNameLength) {
        errors_->Add(line_, path, "label names are 1 to 128 bytes");
        ok_ = false;
      } else if (val.type != JsonValue::Type::kString) {
        errors_->Add(line_, path, absl::StrFormat("expected a string, got %s", val.TypeName()));
        ok_ = false;
      } else if (val.text.size() > 4096) {
        errors_->Add(line_, path, "label values are at most 4096 bytes");
        ok_ = false;
      } else {
        out[k] = val.text;
      }
    }
    return out;
  }

  static std::string Truncate(const std::string& s) {
    return s.size() <= 64 ? s : s.substr(0, 61) + "...";
  }

  int line() const { return line_; }
  Errors* errors() { return errors_; }

 private:
  const JsonValue& obj_;
  int line_;
  Errors* errors_;
  std::string prefix_;
  bool ok_ = true;
};

class BundleParser {
 public:
  BundleParser(std::string_view name, const BundleReadOptions& options, BundleReadResult* result)
      : options_(options), result_(result), errors_(name, result, options.max_errors) {}

  void Line(int line, std::string_view text) {
    absl::StatusOr<JsonValue> doc = ParseJson(text);
    if (!doc.ok()) {
      errors_.Add(line, "json", absl::StrFormat("invalid JSON: %s", doc.status().message()));
      return;
    }
    if (doc->type != JsonValue::Type::kObject) {
      errors_.Add(line, "json", absl::StrFormat("expected an object, got %s", doc->TypeName()));
      return;
    }
    Fields f(*doc, line, &errors_);
    std::optional<std::string> type = f.String("type", true);
    if (!type) return;
    if (*type == "incident") return Incident(f, *doc);
    if (*type == "dependency") return Dependency(f);
    if (*type == "change") return Change(f);
    if (*type == "series") return Series(f, *doc);
    if (*type == "histogram") return Histogram(f, *doc);
    if (*type == "upstream") return Upstream(f);
    if (*type == "eval_set") return EvalSet(f);
    if (*type == "dependency_health") return DependencyHealth(f);
    std::string msg = absl::StrFormat(
        "unknown record type \"%s\" (known: incident, dependency, change, series, histogram, "
        "upstream, eval_set, dependency_health)",
        Fields::Truncate(*type));
    if (options_.lenient) {
      result_->warnings.push_back(BundleError{"", line, "type", msg}.ToString());
    } else {
      f.Error("type", msg);
    }
  }

  void Finish(std::string_view name, int last_line) {
    if (incident_line_ == 0 && options_.require_incident) {
      errors_.Add(last_line > 0 ? 1 : 0, "type",
                  "the bundle has no incident record (exactly one is required)");
    }
    std::vector<std::string> cycle = graph_.FindCycle();
    if (!cycle.empty()) {
      errors_.Add(dependency_lines_[cycle.front()], "depends_on",
                  absl::StrFormat("dependency cycle: %s", absl::StrJoin(cycle, " -> ")));
    }
    (void)name;
    result_->has_incident = incident_line_ != 0;
  }

  bool full() const { return errors_.full(); }
  v1::Bundle& bundle() { return result_->bundle; }

 private:
  void Incident(Fields& f, const JsonValue& doc) {
    if (incident_line_ != 0) {
      f.Error("type", absl::StrFormat("a second incident record (the first is at line %d); a "
                                      "bundle holds exactly one",
                                      incident_line_));
      return;
    }
    incident_line_ = f.line();
    v1::Incident* inc = bundle().mutable_incident();
    if (auto id = f.String("id", true, kMaxIdLength)) {
      if (id->empty()) f.Error("id", "must not be empty");
      inc->set_id(*id);
    }
    if (auto title = f.String("title", false)) inc->set_title(*title);
    const JsonValue* alerts = f.Typed("alerts", true, JsonValue::Type::kArray, "an array");
    if (alerts != nullptr && alerts->items.empty()) f.Error("alerts", "needs at least one alert");
    if (alerts != nullptr) {
      for (size_t i = 0; i < alerts->items.size(); ++i) {
        std::string prefix = absl::StrFormat("alerts[%d].", i);
        const JsonValue& a = alerts->items[i];
        if (a.type != JsonValue::Type::kObject) {
          f.Error(absl::StrFormat("alerts[%d]", i),
                  absl::StrFormat("expected an object, got %s", a.TypeName()));
          continue;
        }
        Fields af(a, f.line(), f.errors(), prefix);
        v1::Alert* alert = inc->add_alerts();
        if (auto v = af.String("name", false)) alert->set_name(*v);
        if (auto v = af.Name("service", true)) alert->set_service(*v);
        if (auto v = af.Name("metric", true)) alert->set_metric(*v);
        if (auto v = af.Labels("labels")) alert->mutable_labels()->insert(v->begin(), v->end());
        if (auto v = af.Time("fired_at", true)) *alert->mutable_fired_at() = FromMs(*v);
        if (auto v = af.String("severity", false)) alert->set_severity(*v);
      }
    }
    const JsonValue* expected = f.Typed("expected", false, JsonValue::Type::kObject, "an object");
    if (expected != nullptr) {
      Fields ef(*expected, f.line(), f.errors(), "expected.");
      v1::Expected* e = inc->mutable_expected();
      if (auto v = ef.String("category", false)) e->set_category(*v);
      if (auto v = ef.String("change_id", false, kMaxIdLength)) e->set_change_id(*v);
      if (auto v = ef.NonNegativeInteger("mttr_target_minutes", false)) {
        e->set_mttr_target_minutes(static_cast<int32_t>(*v));
      }
    }
    (void)doc;
  }

  void Dependency(Fields& f) {
    v1::Dependency d;
    std::optional<std::string> service = f.Name("service", true);
    const JsonValue* deps = f.Typed("depends_on", true, JsonValue::Type::kArray, "an array");
    if (deps != nullptr) {
      for (size_t i = 0; i < deps->items.size(); ++i) {
        const JsonValue& v = deps->items[i];
        std::string path = absl::StrFormat("depends_on[%d]", i);
        if (v.type != JsonValue::Type::kString) {
          f.Error(path, absl::StrFormat("expected a string, got %s", v.TypeName()));
        } else if (!IsValidName(v.text)) {
          f.Error(path, absl::StrFormat("\"%s\" is not a valid name ([A-Za-z0-9_.:-]{1,128})",
                                        Fields::Truncate(v.text)));
        } else {
          d.add_depends_on(v.text);
        }
      }
    }
    if (!f.ok() || !service) return;
    d.set_service(*service);
    // A service's records add up: two records for one service mean both edges.
    std::vector<std::string> edges;
    if (auto it = graph_.edges().find(*service); it != graph_.edges().end()) edges = it->second;
    edges.insert(edges.end(), d.depends_on().begin(), d.depends_on().end());
    graph_.Set(*service, edges);
    dependency_lines_.emplace(*service, f.line());
    *bundle().mutable_records()->add_dependencies() = std::move(d);
  }

  void Change(Fields& f) {
    v1::Change c;
    if (auto v = f.String("id", true, kMaxIdLength)) {
      if (v->empty()) f.Error("id", "must not be empty");
      c.set_id(*v);
    }
    if (auto v = f.Time("time", true)) *c.mutable_time() = FromMs(*v);
    if (auto v = f.String("kind", true)) {
      if (!IsChangeKind(*v)) {
        f.Error("kind", absl::StrFormat("unknown change kind \"%s\" (known: %s)",
                                        Fields::Truncate(*v), absl::StrJoin(ChangeKinds(), ", ")));
      }
      c.set_kind(*v);
    }
    if (auto v = f.Name("service", true, /*allow_star=*/true)) c.set_service(*v);
    if (auto v = f.String("version", false)) c.set_version(*v);
    if (auto v = f.String("previous_version", false)) c.set_previous_version(*v);
    if (auto v = f.String("actor", false)) c.set_actor(*v);
    if (auto v = f.String("summary", false)) c.set_summary(*v);
    if (auto v = f.Name("source", false)) c.set_source(*v);
    if (auto v = f.String("url", false)) c.set_url(*v);
    if (f.ok()) *bundle().mutable_records()->add_changes() = std::move(c);
  }

  void Series(Fields& f, const JsonValue& doc) {
    v1::Series s;
    if (auto v = f.Name("metric", true)) s.set_metric(*v);
    if (auto labels = f.Labels("labels")) {
      auto svc = labels->find("service");
      if (svc != labels->end() && !IsValidName(svc->second)) {
        f.Error("labels.service",
                absl::StrFormat("\"%s\" is not a valid name ([A-Za-z0-9_.:-]{1,128})",
                                Fields::Truncate(svc->second)));
      }
      s.mutable_labels()->insert(labels->begin(), labels->end());
    }
    const JsonValue* points = f.Typed("points", true, JsonValue::Type::kArray, "an array");
    std::map<int64_t, double> sorted;  // A repeated timestamp keeps the last value.
    if (points != nullptr) {
      for (size_t i = 0; i < points->items.size() && !errors_.full(); ++i) {
        const JsonValue& p = points->items[i];
        std::string path = absl::StrFormat("points[%d]", i);
        if (p.type != JsonValue::Type::kArray || p.items.size() != 2) {
          f.Error(path, "expected [unix_milliseconds, value]");
          continue;
        }
        std::optional<double> t = f.CheckNumber(p.items[0], path + "[0]");
        std::optional<double> v = f.CheckNumber(p.items[1], path + "[1]");
        if (t && (*t != std::floor(*t) || std::fabs(*t) > static_cast<double>(kMaxSafeInteger))) {
          f.Error(path + "[0]",
                  absl::StrFormat("%s is not a whole number of milliseconds", p.items[0].text));
          t.reset();
        }
        if (t && v) sorted[static_cast<int64_t>(*t)] = *v;
      }
    }
    (void)doc;
    if (!f.ok()) return;
    for (const auto& [t, v] : sorted) {
      v1::Point* p = s.add_points();
      p->set_t_ms(t);
      p->set_value(v);
    }
    *bundle().mutable_records()->add_series() = std::move(s);
  }

  void Histogram(Fields& f, const JsonValue& doc) {
    v1::Histogram h;
    std::optional<std::string> feature = f.Name("feature", true);
    std::optional<std::string> service = f.Name("service", true);
    std::optional<int64_t> start = f.Time("start", true);
    std::optional<int64_t> end = f.Time("end", true);
    if (start && end && *end <= *start) f.Error("end", "must be after start");
    const JsonValue* edges = f.Typed("edges", false, JsonValue::Type::kArray, "an array");
    const JsonValue* counts = f.Typed("counts", false, JsonValue::Type::kArray, "an array");
    const JsonValue* cats = f.Typed("categories", false, JsonValue::Type::kObject, "an object");
    bool numeric = doc.Find("edges") != nullptr || doc.Find("counts") != nullptr;
    if (numeric && cats != nullptr) {
      f.Error("categories", "a histogram has either edges and counts, or categories, not both");
    } else if (numeric) {
      if (edges == nullptr && doc.Find("edges") == nullptr)
        f.Error("edges", "missing required field");
      if (counts == nullptr && doc.Find("counts") == nullptr) {
        f.Error("counts", "missing required field");
      }
      if (edges != nullptr) {
        if (edges->items.size() < 2) f.Error("edges", "needs at least 2 edges");
        for (size_t i = 0; i < edges->items.size(); ++i) {
          std::optional<double> e = f.CheckNumber(edges->items[i], absl::StrFormat("edges[%d]", i));
          if (!e) continue;
          if (h.edges_size() > 0 && *e <= h.edges(h.edges_size() - 1)) {
            f.Error(absl::StrFormat("edges[%d]", i),
                    absl::StrFormat("edges must be strictly increasing (%g after %g)", *e,
                                    h.edges(h.edges_size() - 1)));
          }
          h.add_edges(*e);
        }
      }
      if (counts != nullptr) {
        for (size_t i = 0; i < counts->items.size(); ++i) {
          std::string path = absl::StrFormat("counts[%d]", i);
          std::optional<double> c = f.CheckNumber(counts->items[i], path);
          if (!c) continue;
          if (*c < 0) f.Error(path, absl::StrFormat("negative count %g", *c));
          h.add_counts(*c);
        }
      }
      if (edges != nullptr && counts != nullptr &&
          counts->items.size() + 1 != edges->items.size()) {
        f.Error("counts", absl::StrFormat("%d counts for %d edges (n edges need n-1 counts)",
                                          counts->items.size(), edges->items.size()));
      }
    } else if (cats != nullptr) {
      for (const auto& [k, v] : cats->members) {
        std::string path = absl::StrFormat("categories.%s", k);
        std::optional<double> c = f.CheckNumber(v, path);
        if (!c) continue;
        if (*c < 0) f.Error(path, absl::StrFormat("negative count %g", *c));
        (*h.mutable_categories())[k] = *c;
      }
    } else {
      f.Error("edges", "missing required field: a histogram needs edges and counts, or categories");
    }
    if (!f.ok()) return;
    h.set_feature(*feature);
    h.set_service(*service);
    *h.mutable_start() = FromMs(*start);
    *h.mutable_end() = FromMs(*end);
    std::string key = *service + "/" + *feature;
    auto [it, inserted] = feature_edges_.try_emplace(key, FeatureEdges{f.line(), h});
    if (!inserted) {
      const v1::Histogram& first = it->second.first;
      bool same = first.edges_size() == h.edges_size();
      for (int i = 0; same && i < h.edges_size(); ++i) same = first.edges(i) == h.edges(i);
      if (!same) {
        f.Error("edges",
                absl::StrFormat("edges [%s] differ from feature %s's edges [%s] (first at line %d)",
                                absl::StrJoin(h.edges(), ","), key,
                                absl::StrJoin(first.edges(), ","), it->second.line));
        return;
      }
    }
    *bundle().mutable_records()->add_histograms() = std::move(h);
  }

  void Upstream(Fields& f) {
    v1::Upstream u;
    if (auto v = f.Name("source", true)) u.set_source(*v);
    if (auto v = f.Name("consumer", true)) u.set_consumer(*v);
    if (auto v = f.Time("time", true)) *u.mutable_time() = FromMs(*v);
    if (auto v = f.NonNegativeInteger("row_count", false)) u.set_row_count(*v);
    if (auto v = f.String("schema_fingerprint", false)) u.set_schema_fingerprint(*v);
    if (auto v = f.Time("last_seen", false)) *u.mutable_last_seen() = FromMs(*v);
    if (auto v = f.NonNegativeInteger("freshness_sla_seconds", false)) {
      u.set_freshness_sla_seconds(*v);
    }
    if (f.ok()) *bundle().mutable_records()->add_upstreams() = std::move(u);
  }

  void EvalSet(Fields& f) {
    v1::EvalSet e;
    if (auto v = f.Name("service", true)) e.set_service(*v);
    if (auto v = f.String("name", true, kMaxNameLength)) e.set_name(*v);
    if (auto v = f.Time("time", true)) *e.mutable_time() = FromMs(*v);
    if (auto v = f.Time("refreshed_at", true)) *e.mutable_refreshed_at() = FromMs(*v);
    if (auto v = f.Number("catalog_turnover", false)) {
      if (*v < 0) f.Error("catalog_turnover", absl::StrFormat("negative value %g", *v));
      e.set_catalog_turnover(*v);
    }
    if (f.ok()) *bundle().mutable_records()->add_eval_sets() = std::move(e);
  }

  void DependencyHealth(Fields& f) {
    v1::DependencyHealth d;
    if (auto v = f.Name("service", true)) d.set_service(*v);
    if (auto v = f.String("check", true, kMaxNameLength)) {
      if (v->empty()) f.Error("check", "must not be empty");
      d.set_check(*v);
    }
    if (auto v = f.Time("time", true)) *d.mutable_time() = FromMs(*v);
    if (auto v = f.Number("value", true)) d.set_value(*v);
    if (auto v = f.Number("min", false)) d.set_min(*v);
    if (auto v = f.Number("max", false)) d.set_max(*v);
    if (d.has_min() && d.has_max() && d.min() > d.max()) {
      f.Error("max", absl::StrFormat("max %g is below min %g", d.max(), d.min()));
    }
    if (f.ok()) *bundle().mutable_records()->add_dependency_health() = std::move(d);
  }

  struct FeatureEdges {
    int line;
    v1::Histogram first;
  };

  const BundleReadOptions& options_;
  BundleReadResult* result_;
  Errors errors_;
  int incident_line_ = 0;
  DependencyGraph graph_;
  std::map<std::string, int> dependency_lines_;
  std::map<std::string, FeatureEdges> feature_edges_;
};

}  // namespace

BundleReadResult ReadBundle(std::string_view name, std::string_view content,
                            const BundleReadOptions& options) {
  BundleReadResult result;
  BundleParser parser(name, options, &result);
  int line = 0;
  size_t pos = 0;
  while (pos < content.size() && !parser.full()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) nl = content.size();
    std::string_view text = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    parser.Line(line, text);
  }
  if (!parser.full()) parser.Finish(name, line);
  if (!result.ok()) result.bundle.Clear();
  return result;
}

BundleReadResult ReadBundleFile(const std::string& path, const BundleReadOptions& options) {
  // gzread reads plain files as they are and gunzips gzip ones.
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    BundleReadResult r;
    r.errors.push_back({path, 0, "file", "cannot open: " + std::string(std::strerror(errno))});
    return r;
  }
  std::string content;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) content.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = n < 0 ? gzerror(f, &err) : nullptr;
  gzclose(f);
  if (n < 0) {
    BundleReadResult r;
    r.errors.push_back({path, 0, "file", std::string("cannot read: ") + msg});
    return r;
  }
  return ReadBundle(path, content, options);
}

}  // namespace triage::collectors
