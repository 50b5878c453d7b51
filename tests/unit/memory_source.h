// An in-memory implementation of the engine's sources (rules/sources.h),
// over the records of a RecordBatch, answering with the store's ordering
// rules. The engine's unit tests walk over it: no RocksDB.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "proto/model/time.h"
#include "rules/sources.h"
#include "triage/v1/records.pb.h"

namespace triage::testing {

class MemorySource : public rules::RecordSource,
                     public rules::MetricSource,
                     public rules::FeatureSource {
 public:
  // Adds every record of `b` (a repeated change id replaces the earlier one;
  // a service's dependency record replaces its earlier one).
  void Write(const v1::RecordBatch& b) {
    for (const v1::Dependency& d : b.dependencies()) {
      graph_.Set(d.service(), {d.depends_on().begin(), d.depends_on().end()});
    }
    for (const v1::Change& c : b.changes()) changes_[c.id()] = c;
    for (const v1::Series& s : b.series()) series_.push_back(s);
    for (const v1::Histogram& h : b.histograms()) histograms_.push_back(h);
    for (const v1::Upstream& u : b.upstreams()) upstreams_.push_back(u);
    for (const v1::EvalSet& e : b.eval_sets()) eval_sets_.push_back(e);
    for (const v1::DependencyHealth& d : b.dependency_health()) probes_.push_back(d);
  }

  rules::Sources sources() const { return {this, this, this}; }

  absl::StatusOr<rules::DependencyGraph> Dependencies() const override { return graph_; }

  absl::StatusOr<std::vector<v1::Change>> ChangesBetween(int64_t from, int64_t to) const override {
    std::vector<v1::Change> out;
    for (const auto& [id, c] : changes_) {
      if (ToMs(c.time()) >= from && ToMs(c.time()) <= to) out.push_back(c);
    }
    std::stable_sort(out.begin(), out.end(), [](const v1::Change& a, const v1::Change& b) {
      return std::make_pair(ToMs(a.time()), a.id()) < std::make_pair(ToMs(b.time()), b.id());
    });
    return out;
  }

  absl::StatusOr<std::vector<v1::Upstream>> UpstreamReports(const std::string& consumer,
                                                            int64_t from,
                                                            int64_t to) const override {
    std::vector<v1::Upstream> out;
    for (const v1::Upstream& u : upstreams_) {
      if (u.consumer() == consumer && ToMs(u.time()) >= from && ToMs(u.time()) <= to) {
        out.push_back(u);
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const v1::Upstream& a, const v1::Upstream& b) {
      return std::make_pair(a.source(), ToMs(a.time())) <
             std::make_pair(b.source(), ToMs(b.time()));
    });
    return out;
  }

  absl::StatusOr<std::vector<v1::EvalSet>> EvalSets(const std::string& service,
                                                    int64_t to) const override {
    std::vector<v1::EvalSet> out;
    for (const v1::EvalSet& e : eval_sets_) {
      if (e.service() == service && ToMs(e.time()) <= to) out.push_back(e);
    }
    std::stable_sort(out.begin(), out.end(), [](const v1::EvalSet& a, const v1::EvalSet& b) {
      return std::make_pair(ToMs(a.time()), a.name()) < std::make_pair(ToMs(b.time()), b.name());
    });
    return out;
  }

  absl::StatusOr<std::vector<v1::DependencyHealth>> Probes(const std::string& service, int64_t from,
                                                           int64_t to) const override {
    std::vector<v1::DependencyHealth> out;
    for (const v1::DependencyHealth& d : probes_) {
      if (d.service() == service && ToMs(d.time()) >= from && ToMs(d.time()) <= to) {
        out.push_back(d);
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const v1::DependencyHealth& a, const v1::DependencyHealth& b) {
                       return std::make_pair(a.check(), ToMs(a.time())) <
                              std::make_pair(b.check(), ToMs(b.time()));
                     });
    return out;
  }

  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const rules::SeriesQuery& q) const override {
    return ReadSeries(q.service, q.metric, q.from_ms, q.to_ms);
  }
  absl::StatusOr<std::vector<v1::Series>> ReadSeries(const std::string& service,
                                                     const std::string& metric, int64_t from,
                                                     int64_t to) const {
    // Series with the same labels are one (a later point wins a timestamp).
    std::map<std::map<std::string, std::string>, std::map<int64_t, double>> merged;
    for (const v1::Series& s : series_) {
      auto svc = s.labels().find("service");
      if (s.metric() != metric || svc == s.labels().end() || svc->second != service) continue;
      auto& points = merged[{s.labels().begin(), s.labels().end()}];
      for (const v1::Point& p : s.points()) {
        if (p.t_ms() >= from && p.t_ms() <= to) points[p.t_ms()] = p.value();
      }
    }
    std::vector<v1::Series> out;
    for (const auto& [labels, points] : merged) {
      v1::Series& s = out.emplace_back();
      s.set_metric(metric);
      s.mutable_labels()->insert(labels.begin(), labels.end());
      for (const auto& [t, v] : points) {
        v1::Point* p = s.add_points();
        p->set_t_ms(t);
        p->set_value(v);
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<rules::FeatureSums>> FeatureDistributions(
      const std::string& service, const rules::DriftWindow& window) const override {
    rules::FeatureAccumulator sums(window);
    for (const v1::Histogram& h : histograms_) {
      if (h.service() == service) sums.Add(h);
    }
    return sums.Finish();
  }

 private:
  rules::DependencyGraph graph_;
  std::map<std::string, v1::Change> changes_;
  std::vector<v1::Series> series_;
  std::vector<v1::Histogram> histograms_;
  std::vector<v1::Upstream> upstreams_;
  std::vector<v1::EvalSet> eval_sets_;
  std::vector<v1::DependencyHealth> probes_;
};

}  // namespace triage::testing
