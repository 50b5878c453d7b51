// Core's change-log overlay: the metric over a window, downsampled, with
// every change drawn on it, and the vocabulary a client draws it with.
#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collectors/validate.h"
#include "proto/model/names.h"
#include "proto/model/time.h"
#include "rules/promql.h"
#include "rules/stats.h"
#include "triage/core/core.h"

namespace triage::core {

std::vector<rules::TimedValue> Downsample(const std::vector<rules::TimedValue>& points,
                                          int32_t max_points) {
  if (points.size() <= static_cast<size_t>(max_points) || max_points < 2) return points;
  const int64_t first = points.front().t, last = points.back().t;
  const int64_t buckets = max_points / 2;
  const double width = static_cast<double>(last - first + 1) / static_cast<double>(buckets);
  std::vector<rules::TimedValue> out;
  out.reserve(static_cast<size_t>(max_points));
  size_t i = 0;
  for (int64_t b = 0; b < buckets && i < points.size(); ++b) {
    const double end = static_cast<double>(first) + width * static_cast<double>(b + 1);
    size_t lo = i, hi = i;
    for (; i < points.size() && (static_cast<double>(points[i].t) < end || b == buckets - 1); ++i) {
      if (points[i].v < points[lo].v) lo = i;
      if (points[i].v > points[hi].v) hi = i;
    }
    if (i == lo && lo == hi) continue;  // Empty bucket.
    out.push_back(points[std::min(lo, hi)]);
    if (lo != hi) out.push_back(points[std::max(lo, hi)]);
  }
  return out;
}

namespace {

constexpr int32_t kDefaultMaxOtherChanges = 100;
constexpr int32_t kMaxOtherChanges = 5000;

}  // namespace

absl::StatusOr<Core::OverlayMeans> Core::OverlaySeries(const v1::OverlayRequest& request,
                                                       int64_t start, int64_t end,
                                                       v1::OverlayResponse* response) {
  const rules::MetricSource& source =
      options_.metric_source != nullptr ? *options_.metric_source : store_;
  response->set_source(source.Name());
  std::string expr;
  if (!request.incident_id().empty()) {
    absl::StatusOr<v1::Incident> incident = store_.GetIncident(request.incident_id());
    if (!incident.ok()) return incident.status();
    for (const v1::Alert& a : incident->alerts()) {
      if (a.service() == request.service() && a.metric() == request.metric()) expr = a.expr();
    }
  }
  response->set_query(rules::QueryOf(tree()->settings().metric_queries(), request.service(),
                                     request.metric(), expr));
  // Each series' labels and samples, from the store (no message per point)
  // or the metrics source.
  std::vector<std::pair<const google::protobuf::Map<std::string, std::string>*,
                        std::span<const rules::TimedValue>>>
      series;
  std::vector<store::Store::SampleSeries> stored;
  std::vector<v1::Series> drawn;
  std::vector<std::vector<rules::TimedValue>> samples;
  if (options_.metric_source == nullptr) {
    absl::StatusOr<std::vector<store::Store::SampleSeries>> s =
        store_.ReadSamples(request.service(), request.metric(), start, end);
    if (!s.ok()) return s.status();
    stored = std::move(*s);
    for (const store::Store::SampleSeries& x : stored) {
      series.emplace_back(&x.meta.labels(), x.samples);
    }
  } else {
    absl::StatusOr<std::vector<v1::Series>> s = source.ReadSeries({.service = request.service(),
                                                                   .metric = request.metric(),
                                                                   .query = response->query(),
                                                                   .from_ms = start,
                                                                   .to_ms = end});
    if (!s.ok()) return s.status();
    drawn = std::move(*s);
    for (const v1::Series& x : drawn) {
      std::vector<rules::TimedValue>& out = samples.emplace_back();
      out.reserve(x.points_size());
      for (const v1::Point& p : x.points()) out.push_back({p.t_ms(), p.value()});
    }
    for (size_t i = 0; i < drawn.size(); ++i) series.emplace_back(&drawn[i].labels(), samples[i]);
  }
  // The mean of every series (staleness markers are gaps), or of the
  // cohort's against the rest carrying its dimension.
  std::vector<std::span<const rules::TimedValue>> chosen, rest;
  const std::string& d = request.cohort_dimension();
  for (const auto& [labels, points] : series) {
    if (d.empty()) {
      chosen.push_back(points);
      continue;
    }
    auto v = labels->find(d);
    if (v == labels->end()) continue;
    (v->second == request.cohort_value() ? chosen : rest).push_back(points);
  }
  response->set_series_count(static_cast<int32_t>(chosen.size()));
  OverlayMeans out{rules::MeanSamples(chosen), {}};
  if (!d.empty()) out.rest = rules::MeanSamples(rest);
  return out;
}

absl::StatusOr<v1::OverlayResponse> Core::Overlay(const v1::OverlayRequest& request) {
  const collectors::Limits& limits = options_.limits;
  collectors::InputErrorList errors;
  const collectors::Origin at;
  if (request.service().empty()) errors.Add(at, "service", "missing required field");
  if (request.metric().empty()) errors.Add(at, "metric", "missing required field");
  std::string window = request.window().empty() ? kDefaultOverlayWindow : request.window();
  absl::StatusOr<int64_t> window_ms = ParseDurationMs(window);
  if (!window_ms.ok()) {
    errors.Add(at, "window", std::string(window_ms.status().message()));
  } else if (*window_ms <= 0 || *window_ms > options_.max_window_ms) {
    errors.Add(
        at, "window",
        absl::StrFormat("%s is outside (0, %s]", window, FormatDuration(options_.max_window_ms)));
  }
  int32_t max_points =
      request.max_points() == 0 ? options_.default_max_points : request.max_points();
  if (max_points < 2 || max_points > 100000) {
    errors.Add(at, "max_points", absl::StrFormat("%d is outside [2, 100000]", max_points));
  }
  const int32_t max_other =
      request.max_other_changes() == 0 ? kDefaultMaxOtherChanges : request.max_other_changes();
  if (max_other < -1 || max_other > kMaxOtherChanges) {
    errors.Add(at, "max_other_changes",
               absl::StrFormat("%d is outside [-1, %d]", max_other, kMaxOtherChanges));
  }
  int32_t offset = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &offset) || offset <= 0)) {
    errors.Add(at, "page_token", "not a next_page_token of this request");
  }
  const int64_t end = request.has_end() ? ToMs(request.end()) : clock_.NowMs();
  if (window_ms.ok() && (end - *window_ms < limits.min_time_ms || end > limits.max_time_ms)) {
    errors.Add(at, "end",
               absl::StrFormat("the window [%d ms, %d ms] is outside the supported range [%s, %s]",
                               end - *window_ms, end, FormatRfc3339(limits.min_time_ms),
                               FormatRfc3339(limits.max_time_ms)));
  }
  if (!errors.empty()) return errors.ToStatus();
  const int64_t start = end - *window_ms;
  v1::OverlayResponse response;
  response.set_service(request.service());
  response.set_metric(request.metric());
  *response.mutable_start() = FromMs(start);
  *response.mutable_end() = FromMs(end);
  if (offset == 0) {
    absl::StatusOr<OverlayMeans> means = OverlaySeries(request, start, end, &response);
    if (!means.ok()) return means.status();
    response.set_raw_points(static_cast<int32_t>(means->all.size()));
    for (const auto& [points, out] : {std::pair{&means->all, response.mutable_points()},
                                      std::pair{&means->rest, response.mutable_rest_points()}}) {
      std::vector<rules::TimedValue> shown = Downsample(*points, max_points);
      out->Reserve(static_cast<int>(shown.size()));
      for (const rules::TimedValue& x : shown) {
        v1::Point* p = out->Add();
        p->set_t_ms(x.t);
        p->set_value(x.v);
      }
    }
  }
  absl::StatusOr<rules::DependencyGraph> graph = store_.Dependencies();
  if (!graph.ok()) return graph.status();
  std::set<std::string, std::less<>> scope;
  for (const std::string& s : graph->Deps(request.service())) scope.insert(s);
  for (const std::string& c : graph->Consumers(request.service())) scope.insert(c);
  // In scope: the service, its deps and consumers, and "*"; oldest first.
  // Then the others, newest first, capped; a later page holds only those.
  absl::StatusOr<store::Store::ChangeView> changes = store_.ChangesFor(
      start, end,
      [&](std::string_view service) { return service == "*" || scope.contains(service); }, offset,
      std::max(0, max_other));
  if (!changes.ok()) return changes.status();
  if (offset == 0) {
    for (v1::Change& c : changes->in_scope) {
      response.add_in_scope_change_ids(c.id());
      *response.add_changes() = std::move(c);
    }
  }
  for (v1::Change& c : changes->others) *response.add_changes() = std::move(c);
  response.set_other_changes(static_cast<int32_t>(changes->other_count));
  const int64_t sent = offset + static_cast<int64_t>(changes->others.size());
  if (sent < changes->other_count) response.set_next_page_token(absl::StrCat(sent));
  return response;
}

v1::Vocabulary Core::Vocabulary() const {
  v1::Vocabulary v;
  for (const std::string& kind : ChangeKinds()) v.add_change_kinds(kind);
  for (const std::string& window : OverlayWindows()) {
    v1::OverlayWindow* w = v.add_windows();
    w->set_name(window);
    w->set_duration_ms(*ParseDurationMs(window));
  }
  v.set_default_window(kDefaultOverlayWindow);
  v.set_max_window(FormatDuration(options_.max_window_ms));
  return v;
}

}  // namespace triage::core
