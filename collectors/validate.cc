#include "collectors/validate.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "triage/base/names.h"

namespace triage::collectors {

namespace {

class Problems {
 public:
  explicit Problems(size_t max) : max_(max) {}
  void Add(std::string path, std::string what) {
    if (out_.size() < max_) out_.push_back(absl::StrFormat("%s: %s", path, what));
  }
  void Name(const std::string& path, const std::string& name, bool allow_star = false) {
    if (allow_star && name == "*") return;
    if (name.empty()) {
      Add(path, "missing required field");
    } else if (!IsValidName(name)) {
      Add(path, absl::StrFormat("\"%s\" is not a valid name ([A-Za-z0-9_.:-]{1,128})",
                                name.size() > 64 ? name.substr(0, 61) + "..." : name));
    }
  }
  void Finite(const std::string& path, double v) {
    if (!std::isfinite(v)) Add(path, absl::StrFormat("%g is not a finite number", v));
  }
  void Count(const std::string& path, double v) {
    Finite(path, v);
    if (v < 0) Add(path, absl::StrFormat("negative count %g", v));
  }
  void Time(const std::string& path, bool present) {
    if (!present) Add(path, "missing required field");
  }
  std::vector<std::string> Take() { return std::move(out_); }

 private:
  size_t max_;
  std::vector<std::string> out_;
};

}  // namespace

std::vector<std::string> ValidateRecords(const v1::RecordBatch& b, size_t max_errors) {
  Problems p(max_errors);
  for (int i = 0; i < b.dependencies_size(); ++i) {
    const v1::Dependency& d = b.dependencies(i);
    std::string at = absl::StrFormat("dependencies[%d]", i);
    p.Name(at + ".service", d.service());
    for (int j = 0; j < d.depends_on_size(); ++j) {
      p.Name(absl::StrFormat("%s.depends_on[%d]", at, j), d.depends_on(j));
    }
  }
  for (int i = 0; i < b.changes_size(); ++i) {
    const v1::Change& c = b.changes(i);
    std::string at = absl::StrFormat("changes[%d]", i);
    if (c.id().empty()) p.Add(at + ".id", "missing required field");
    if (c.id().size() > 256) p.Add(at + ".id", "longer than 256 bytes");
    p.Time(at + ".time", c.has_time());
    if (!IsChangeKind(c.kind())) {
      p.Add(at + ".kind", absl::StrFormat("unknown change kind \"%s\" (known: %s)", c.kind(),
                                          absl::StrJoin(ChangeKinds(), ", ")));
    }
    p.Name(at + ".service", c.service(), /*allow_star=*/true);
  }
  for (int i = 0; i < b.series_size(); ++i) {
    const v1::Series& s = b.series(i);
    std::string at = absl::StrFormat("series[%d]", i);
    p.Name(at + ".metric", s.metric());
    if (auto it = s.labels().find("service"); it != s.labels().end()) {
      p.Name(at + ".labels.service", it->second);
    }
    for (const auto& [k, v] : s.labels()) {
      if (k.empty() || k.size() > kMaxNameLength)
        p.Add(at + ".labels", "label names are 1 to 128 bytes");
      if (v.size() > 4096) p.Add(at + ".labels." + k, "label values are at most 4096 bytes");
    }
    for (int j = 0; j < s.points_size(); ++j) {
      p.Finite(absl::StrFormat("%s.points[%d].value", at, j), s.points(j).value());
    }
  }
  for (int i = 0; i < b.histograms_size(); ++i) {
    const v1::Histogram& h = b.histograms(i);
    std::string at = absl::StrFormat("histograms[%d]", i);
    p.Name(at + ".feature", h.feature());
    p.Name(at + ".service", h.service());
    p.Time(at + ".start", h.has_start());
    p.Time(at + ".end", h.has_end());
    if (h.has_start() && h.has_end() &&
        std::make_pair(h.end().seconds(), h.end().nanos()) <=
            std::make_pair(h.start().seconds(), h.start().nanos())) {
      p.Add(at + ".end", "must be after start");
    }
    bool numeric = h.edges_size() > 0 || h.counts_size() > 0;
    if (numeric && !h.categories().empty()) {
      p.Add(at + ".categories", "a histogram has either edges and counts, or categories, not both");
    } else if (numeric) {
      if (h.edges_size() < 2) p.Add(at + ".edges", "needs at least 2 edges");
      for (int j = 0; j < h.edges_size(); ++j) {
        p.Finite(absl::StrFormat("%s.edges[%d]", at, j), h.edges(j));
        if (j > 0 && !(h.edges(j) > h.edges(j - 1))) {
          p.Add(absl::StrFormat("%s.edges[%d]", at, j),
                absl::StrFormat("edges must be strictly increasing (%g after %g)", h.edges(j),
                                h.edges(j - 1)));
        }
      }
      for (int j = 0; j < h.counts_size(); ++j) {
        p.Count(absl::StrFormat("%s.counts[%d]", at, j), h.counts(j));
      }
      if (h.counts_size() + 1 != h.edges_size()) {
        p.Add(at + ".counts", absl::StrFormat("%d counts for %d edges (n edges need n-1 counts)",
                                              h.counts_size(), h.edges_size()));
      }
    } else if (h.categories().empty()) {
      p.Add(at + ".edges",
            "missing required field: a histogram needs edges and counts, or categories");
    }
    for (const auto& [k, v] : h.categories()) p.Count(at + ".categories." + k, v);
  }
  for (int i = 0; i < b.upstreams_size(); ++i) {
    const v1::Upstream& u = b.upstreams(i);
    std::string at = absl::StrFormat("upstreams[%d]", i);
    p.Name(at + ".source", u.source());
    p.Name(at + ".consumer", u.consumer());
    p.Time(at + ".time", u.has_time());
    if (u.has_row_count() && u.row_count() < 0) p.Add(at + ".row_count", "negative value");
    if (u.has_freshness_sla_seconds() && u.freshness_sla_seconds() < 0) {
      p.Add(at + ".freshness_sla_seconds", "negative value");
    }
  }
  for (int i = 0; i < b.eval_sets_size(); ++i) {
    const v1::EvalSet& e = b.eval_sets(i);
    std::string at = absl::StrFormat("eval_sets[%d]", i);
    p.Name(at + ".service", e.service());
    if (e.name().empty() || e.name().size() > kMaxNameLength) p.Add(at + ".name", "1 to 128 bytes");
    p.Time(at + ".time", e.has_time());
    p.Time(at + ".refreshed_at", e.has_refreshed_at());
    p.Finite(at + ".catalog_turnover", e.catalog_turnover());
    if (e.catalog_turnover() < 0) p.Add(at + ".catalog_turnover", "negative value");
  }
  for (int i = 0; i < b.dependency_health_size(); ++i) {
    const v1::DependencyHealth& d = b.dependency_health(i);
    std::string at = absl::StrFormat("dependency_health[%d]", i);
    p.Name(at + ".service", d.service());
    if (d.check().empty() || d.check().size() > kMaxNameLength)
      p.Add(at + ".check", "1 to 128 bytes");
    p.Time(at + ".time", d.has_time());
    p.Finite(at + ".value", d.value());
    if (d.has_min()) p.Finite(at + ".min", d.min());
    if (d.has_max()) p.Finite(at + ".max", d.max());
  }
  return p.Take();
}

std::vector<std::string> ValidateIncident(const v1::Incident& incident) {
  Problems p(100);
  if (incident.id().empty()) p.Add("id", "missing required field");
  if (incident.id().size() > 256) p.Add("id", "longer than 256 bytes");
  if (incident.alerts_size() == 0) p.Add("alerts", "needs at least one alert");
  for (int i = 0; i < incident.alerts_size(); ++i) {
    const v1::Alert& a = incident.alerts(i);
    std::string at = absl::StrFormat("alerts[%d]", i);
    p.Name(at + ".service", a.service());
    p.Name(at + ".metric", a.metric());
    p.Time(at + ".fired_at", a.has_fired_at());
  }
  return p.Take();
}

}  // namespace triage::collectors
