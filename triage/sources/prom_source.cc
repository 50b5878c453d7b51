#include "triage/sources/prom_source.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collectors/json.h"
#include "rules/promql.h"

namespace triage::sources {

namespace {

using collectors::JsonValue;

// application/x-www-form-urlencoded: every byte but the unreserved ones as %XX.
std::string FormEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string Seconds(int64_t ms) { return absl::StrFormat("%.3f", static_cast<double>(ms) / 1000); }

double SampleValue(const JsonValue& v) {
  if (v.type == JsonValue::Type::kNumber) return v.number;
  return v.type == JsonValue::Type::kString ? std::strtod(v.text.c_str(), nullptr)
                                            : std::numeric_limits<double>::quiet_NaN();
}

// [time, "value"] as (ms, value); false when it is not one.
bool ReadPoint(const JsonValue& pair, std::pair<int64_t, double>* out) {
  if (pair.type != JsonValue::Type::kArray || pair.items.size() != 2 ||
      pair.items[0].type != JsonValue::Type::kNumber) {
    return false;
  }
  *out = {std::llround(pair.items[0].number * 1000), SampleValue(pair.items[1])};
  return true;
}

absl::Status NotAnAnswer(int status, std::string_view why) {
  return absl::UnavailableError(
      absl::StrFormat("HTTP %d: not a query API answer (%s)", status, why));
}

double LeValue(const std::string& le) {
  if (le == "+Inf" || le == "Inf") return std::numeric_limits<double>::infinity();
  return std::strtod(le.c_str(), nullptr);
}

// One feature's cumulative bucket counts by le, current and baseline.
struct Buckets {
  std::map<double, double> current, baseline;
};

// De-cumulates counts by le (over every le either side has) into bins.
std::vector<double> Bins(const std::map<double, double>& cumulative, const std::set<double>& les) {
  std::vector<double> bins;
  double previous = 0;
  for (double le : les) {
    auto it = cumulative.find(le);
    double c = it == cumulative.end() ? previous : it->second;
    bins.push_back(std::max(0.0, c - previous));
    previous = std::max(previous, c);
  }
  return bins;
}

}  // namespace

int64_t StepFor(int64_t from_ms, int64_t to_ms, int64_t min_step_ms, int64_t max_points) {
  const int64_t span = std::max<int64_t>(0, to_ms - from_ms);
  int64_t step = std::max<int64_t>(1000, min_step_ms);
  if (span / step + 1 > max_points) {
    step = (span / (max_points - 1) + 999) / 1000 * 1000;
    while (span / step + 1 > max_points) step += 1000;
  }
  return step;
}

absl::StatusOr<std::vector<PromSample>> ParsePromAnswer(int http_status, std::string_view body) {
  absl::StatusOr<JsonValue> doc = collectors::ParseJson(body);
  if (!doc.ok()) return NotAnAnswer(http_status, std::string(doc.status().message()));
  if (doc->type != JsonValue::Type::kObject) return NotAnAnswer(http_status, "not an object");
  const JsonValue* status = doc->Find("status");
  if (status == nullptr || status->text != "success" || http_status / 100 != 2) {
    const JsonValue* type = doc->Find("errorType");
    const JsonValue* error = doc->Find("error");
    return absl::UnavailableError(
        absl::StrFormat("HTTP %d: %s: %s", http_status, type != nullptr ? type->text : "error",
                        error != nullptr ? error->text : std::string(body.substr(0, 200))));
  }
  const JsonValue* data = doc->Find("data");
  const JsonValue* type = data != nullptr ? data->Find("resultType") : nullptr;
  const JsonValue* result = data != nullptr ? data->Find("result") : nullptr;
  if (type == nullptr || result == nullptr) return NotAnAnswer(http_status, "no data.result");
  std::vector<PromSample> out;
  if (type->text == "scalar") {
    PromSample s;
    std::pair<int64_t, double> p;
    if (!ReadPoint(*result, &p)) return NotAnAnswer(http_status, "bad scalar");
    s.points.push_back(p);
    out.push_back(std::move(s));
    return out;
  }
  if (result->type != JsonValue::Type::kArray) return NotAnAnswer(http_status, "result");
  for (const JsonValue& item : result->items) {
    PromSample s;
    if (const JsonValue* metric = item.Find("metric"); metric != nullptr) {
      for (const collectors::JsonMember& m : metric->members) s.labels[m.first] = m.second.text;
    }
    if (const JsonValue* values = item.Find("values"); values != nullptr) {
      for (const JsonValue& v : values->items) {
        std::pair<int64_t, double> p;
        if (!ReadPoint(v, &p)) return NotAnAnswer(http_status, "bad point in values");
        s.points.push_back(p);
      }
    } else if (const JsonValue* value = item.Find("value"); value != nullptr) {
      std::pair<int64_t, double> p;
      if (!ReadPoint(*value, &p)) return NotAnAnswer(http_status, "bad value");
      s.points.push_back(p);
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PromSource>> PromSource::Create(PromSourceOptions options,
                                                               const store::Store& store,
                                                               Metrics& metrics) {
  absl::StatusOr<net::Url> url = net::ParseUrl(options.url);
  if (!url.ok())
    return absl::InvalidArgumentError("--metrics-url: " + std::string(url.status().message()));
  while (!options.url.empty() && options.url.back() == '/') options.url.pop_back();
  if (options.max_points < 2) return absl::InvalidArgumentError("max_points must be >= 2");
  absl::StatusOr<std::unique_ptr<net::HttpClient>> http = net::HttpClient::Create(options.http);
  if (!http.ok()) return http.status();
  return std::unique_ptr<PromSource>(
      new PromSource(std::move(options), std::move(*http), store, metrics));
}

absl::StatusOr<std::vector<PromSample>> PromSource::Ask(const std::string& endpoint,
                                                        const std::string& form) const {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<net::HttpClientResponse> response = http_->Post(
      absl::StrCat(options_.url, "/api/v1/", endpoint), "application/x-www-form-urlencoded", form);
  absl::StatusOr<std::vector<PromSample>> answer =
      response.ok() ? ParsePromAnswer(response->status, response->body) : response.status();
  metrics_.metrics_source_seconds
      .Add({{"endpoint", endpoint}},
           prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                   5, 10})
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  metrics_.metrics_source_queries
      .Add({{"endpoint", endpoint}, {"outcome", answer.ok() ? "ok" : "error"}})
      .Increment();
  if (!answer.ok()) {
    return absl::Status(answer.status().code(),
                        absl::StrCat("metrics source: ", answer.status().message()));
  }
  return answer;
}

absl::StatusOr<std::vector<v1::Series>> PromSource::ReadSeries(const rules::SeriesQuery& q) const {
  const int64_t step = StepFor(q.from_ms, q.to_ms, options_.min_step_ms, options_.max_points);
  // Steps on multiples of the step, as the engine's own graphs align them.
  const int64_t start = q.from_ms >= 0 ? (q.from_ms + step - 1) / step * step : q.from_ms;
  std::vector<v1::Series> out;
  if (start <= q.to_ms) {
    const std::string query = q.query.empty() ? rules::SelectorOf(q.service, q.metric) : q.query;
    absl::StatusOr<std::vector<PromSample>> answer =
        Ask("query_range", absl::StrCat("query=", FormEncode(query), "&start=", Seconds(start),
                                        "&end=", Seconds(q.to_ms), "&step=", Seconds(step)));
    if (!answer.ok()) return answer.status();
    for (PromSample& s : *answer) {
      v1::Series series;
      series.set_metric(q.metric);
      s.labels.erase("__name__");
      s.labels.emplace("service", q.service);  // What the query was drawn for.
      series.mutable_labels()->insert(s.labels.begin(), s.labels.end());
      series.mutable_points()->Reserve(static_cast<int>(s.points.size()));
      for (const auto& [t, v] : s.points) {
        v1::Point* p = series.add_points();
        p->set_t_ms(t);
        p->set_value(v);
      }
      out.push_back(std::move(series));
    }
  }
  if (!out.empty()) return out;
  return store_.ReadSeries(q);  // The engine does not have it: what was written to triaged.
}

absl::StatusOr<std::vector<rules::FeatureSums>> PromSource::HistogramFeatures(
    const std::string& service, const rules::DriftWindow& w) const {
  const std::string& label = w.feature_label;
  const std::string buckets =
      absl::StrCat(w.histogram_metric, "_bucket{service=", rules::PromqlString(service), "}");
  auto increase = [&](int64_t range_ms) {
    return absl::StrFormat("sum by (%s, le) (increase(%s[%ds]))", label, buckets,
                           std::max<int64_t>(1, range_ms / 1000));
  };
  auto ask = [this](std::string query, int64_t at_ms) {
    return std::async(std::launch::async, [this, query = std::move(query), at_ms] {
      return Ask("query", absl::StrCat("query=", FormEncode(query), "&time=", Seconds(at_ms)));
    });
  };
  const int64_t base_range = w.baseline_to - w.baseline_from;
  std::string inf_buckets = buckets;
  inf_buckets.insert(inf_buckets.size() - 1, ",le=\"+Inf\"");
  auto current = ask(increase(w.now - w.current_from), w.now);
  auto baseline = ask(increase(base_range), w.baseline_to);
  auto first = ask(absl::StrFormat("min by (%s) (min_over_time(timestamp(%s)[%ds:1h]))", label,
                                   inf_buckets, std::max<int64_t>(1, base_range / 1000)),
                   w.baseline_to);
  absl::StatusOr<std::vector<PromSample>> cur = current.get(), base = baseline.get(),
                                          seen = first.get();
  for (const auto* a : {&cur, &base, &seen}) {
    if (!a->ok()) return a->status();
  }
  std::map<std::string, Buckets> features;
  for (const auto& [answer, current_side] : {std::pair{&*cur, true}, std::pair{&*base, false}}) {
    for (const PromSample& s : *answer) {
      auto f = s.labels.find(label);
      auto le = s.labels.find("le");
      if (f == s.labels.end() || le == s.labels.end() || s.points.empty()) continue;
      double v = s.points[0].second;
      if (!std::isfinite(v)) continue;
      Buckets& b = features[f->second];
      (current_side ? b.current : b.baseline)[LeValue(le->second)] = v;
    }
  }
  std::map<std::string, int64_t> first_seen;
  for (const PromSample& s : *seen) {
    auto f = s.labels.find(label);
    if (f != s.labels.end() && !s.points.empty() && std::isfinite(s.points[0].second)) {
      first_seen[f->second] = std::llround(s.points[0].second * 1000);
    }
  }
  std::vector<rules::FeatureSums> out;
  for (const auto& [name, b] : features) {
    std::set<double> les;
    for (const auto& [le, _] : b.current) les.insert(le);
    for (const auto& [le, _] : b.baseline) les.insert(le);
    rules::FeatureSums f;
    f.service = service;
    f.feature = name;
    f.edges.push_back(-std::numeric_limits<double>::infinity());
    f.edges.insert(f.edges.end(), les.begin(), les.end());
    if (!std::isinf(f.edges.back())) f.edges.push_back(std::numeric_limits<double>::infinity());
    f.current = Bins(b.current, les);
    f.baseline = Bins(b.baseline, les);
    f.current.resize(f.edges.size() - 1);
    f.baseline.resize(f.edges.size() - 1);
    for (double c : f.current) f.current_total += c;
    for (double c : f.baseline) f.baseline_total += c;
    if (auto s = first_seen.find(name); s != first_seen.end() && f.baseline_total > 0) {
      f.baseline_covered_ms = std::clamp<int64_t>(w.baseline_to - s->second, 0, base_range);
    }
    out.push_back(std::move(f));
  }
  return out;
}

absl::StatusOr<std::vector<rules::FeatureSums>> PromSource::FeatureDistributions(
    const std::string& service, const rules::DriftWindow& window) const {
  absl::StatusOr<std::vector<rules::FeatureSums>> pushed =
      store_.FeatureDistributions(service, window);
  if (!pushed.ok() || window.histogram_metric.empty() || window.feature_label.empty()) {
    return pushed;
  }
  absl::StatusOr<std::vector<rules::FeatureSums>> kept = HistogramFeatures(service, window);
  if (!kept.ok()) return kept.status();
  std::map<std::string, rules::FeatureSums> by_name;
  for (rules::FeatureSums& f : *pushed) by_name[f.feature] = std::move(f);
  for (rules::FeatureSums& f : *kept) by_name[f.feature] = std::move(f);
  std::vector<rules::FeatureSums> out;
  for (auto& [_, f] : by_name) out.push_back(std::move(f));
  return out;
}

}  // namespace triage::sources
