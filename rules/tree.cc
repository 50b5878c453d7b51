#include "rules/tree.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "proto/model/names.h"
#include "proto/model/time.h"
#include "rules/promql.h"

namespace triage::rules {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string_view file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    problems.push_back(
        absl::StrFormat("%s:%d:%d: %s", file_, line + 1, column + 1, Explain(message)));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  std::vector<std::string> problems;

 private:
  // Turns protobuf's "Message type X has no field named Y" into the tree's terms.
  static std::string Explain(const std::string& message) {
    const std::string marker = "has no field named \"";
    size_t at = message.find(marker);
    if (at == std::string::npos) return message;
    size_t name_start = at + marker.size();
    std::string name = message.substr(name_start, message.find('"', name_start) - name_start);
    const Descriptor* category = v1::Category::descriptor();
    if (message.find("\"triage.v1.Category\"") != std::string::npos) {
      std::vector<std::string> kinds;
      for (int i = 0; i < category->oneof_decl(0)->field_count(); ++i) {
        kinds.push_back(category->oneof_decl(0)->field(i)->name());
      }
      return absl::StrFormat("unknown check kind or category field \"%s\" (check kinds: %s)", name,
                             absl::StrJoin(kinds, ", "));
    }
    for (int i = 0; i < category->oneof_decl(0)->field_count(); ++i) {
      const FieldDescriptor* kind = category->oneof_decl(0)->field(i);
      if (message.find("\"" + kind->message_type()->full_name() + "\"") == std::string::npos) {
        continue;
      }
      std::vector<std::string> params;
      for (int j = 0; j < kind->message_type()->field_count(); ++j) {
        params.push_back(kind->message_type()->field(j)->name());
      }
      return absl::StrFormat("unknown parameter \"%s\" for check kind %s (parameters: %s)", name,
                             kind->name(), absl::StrJoin(params, ", "));
    }
    return message;
  }
  std::string file_;
};

const std::vector<std::string>& DurationFieldsOf(const Descriptor* d) {
  static std::map<const Descriptor*, std::vector<std::string>> cache = [] {
    std::map<const Descriptor*, std::vector<std::string>> m;
    for (const Descriptor* d :
         {v1::TreeSettings::descriptor(), v1::UpstreamHealthCheck::descriptor(),
          v1::FeatureDriftCheck::descriptor(), v1::EvalStalenessCheck::descriptor(),
          v1::TrafficMixCheck::descriptor(), v1::ChangeLogCheck::descriptor(),
          v1::DependencyHealthCheck::descriptor()}) {
      for (int i = 0; i < d->field_count(); ++i) {
        const FieldDescriptor* f = d->field(i);
        if (f->type() == FieldDescriptor::TYPE_STRING && !f->is_repeated() &&
            f->name() != "metric" && f->name() != "label" && f->name() != "histogram_metric" &&
            f->name() != "feature_label") {
          m[d].push_back(f->name());
        }
      }
    }
    return m;
  }();
  static const std::vector<std::string> kNone;
  auto it = cache.find(d);
  return it == cache.end() ? kNone : it->second;
}

class Checker {
 public:
  Checker(std::string_view file, const v1::Tree& tree, const TextFormat::ParseInfoTree& info)
      : file_(file), tree_(tree), info_(info) {}

  std::vector<std::string> Run() {
    const FieldDescriptor* category_field = v1::Tree::descriptor()->FindFieldByName("category");
    const FieldDescriptor* settings_field = v1::Tree::descriptor()->FindFieldByName("settings");
    if (tree_.category_size() == 0) Problem(1, "the tree has no category");
    if (tree_.has_settings()) {
      CheckDurations(tree_.settings(), info_.GetTreeForNested(settings_field, -1),
                     Line(info_, settings_field, -1));
      const std::map<std::string, std::string> queries(  // In name order, not the map's.
          tree_.settings().metric_queries().begin(), tree_.settings().metric_queries().end());
      for (const auto& [metric, query] : queries) {
        if (absl::Status s = CheckQueryTemplate(query); !s.ok()) {
          Problem(Line(info_, settings_field, -1),
                  absl::StrFormat("metric_queries[\"%s\"]: %s", metric, s.message()));
        }
      }
    }
    std::map<std::string, int> ids;
    for (int i = 0; i < tree_.category_size(); ++i) {
      const v1::Category& c = tree_.category(i);
      const TextFormat::ParseInfoTree* sub = info_.GetTreeForNested(category_field, i);
      const int line = Line(info_, category_field, i);
      const std::string what = c.id().empty() ? absl::StrFormat("category #%d", i + 1)
                                              : absl::StrFormat("category %s", c.id());
      CheckEntry(c, sub, line, what, &ids);
      const FieldDescriptor* hypothesis_field =
          v1::Category::descriptor()->FindFieldByName("hypothesis");
      std::map<std::string, int> hypothesis_ids;  // Unique within the category.
      for (int j = 0; j < c.hypothesis_size(); ++j) {
        const v1::Category& h = c.hypothesis(j);
        const TextFormat::ParseInfoTree* hsub =
            sub == nullptr ? nullptr : sub->GetTreeForNested(hypothesis_field, j);
        const int hline = sub == nullptr ? line : Line(*sub, hypothesis_field, j);
        const std::string hwhat =
            what + (h.id().empty() ? absl::StrFormat(": hypothesis #%d", j + 1)
                                   : absl::StrFormat(": hypothesis %s", h.id()));
        CheckEntry(h, hsub, hline, hwhat, &hypothesis_ids);
        if (h.hypothesis_size() > 0) {
          Problem(hline, hwhat + ": a hypothesis holds no hypotheses of its own");
        }
      }
    }
    return std::move(problems_);
  }

  // A category or a hypothesis: its id (unique among `ids`), cost,
  // mitigation and exactly one check with valid parameters.
  void CheckEntry(const v1::Category& c, const TextFormat::ParseInfoTree* sub, int line,
                  const std::string& what, std::map<std::string, int>* ids) {
    if (c.id().empty()) {
      Problem(line, what + ": missing id");
    } else if (c.id() == "rare_class") {
      Problem(FieldLine(sub, c, "id", line), "id rare_class is reserved for \"no category matched\"");
    } else if (!std::all_of(c.id().begin(), c.id().end(), [](char ch) {
                 return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
               })) {
      Problem(FieldLine(sub, c, "id", line),
              absl::StrFormat("%s: id must be lower-case letters, digits and _", what));
    } else if (auto [it, inserted] = ids->emplace(c.id(), FieldLine(sub, c, "id", line));
               !inserted) {
      Problem(FieldLine(sub, c, "id", line),
              absl::StrFormat("duplicate id %s (first at line %d)", c.id(), it->second));
    }
    if (!c.has_cost_minutes()) {
      Problem(line, what + ": missing cost_minutes");
    } else if (!(c.cost_minutes() > 0)) {
      Problem(FieldLine(sub, c, "cost_minutes", line),
              absl::StrFormat("%s: cost_minutes must be > 0, got %g", what, c.cost_minutes()));
    }
    if (c.mitigation().empty()) Problem(line, what + ": missing mitigation");
    if (c.check_case() == v1::Category::CHECK_NOT_SET) {
      Problem(line, what +
                        ": missing check kind (change_log, upstream_health, feature_drift, "
                        "eval_staleness, traffic_mix or dependency_health)");
      return;
    }
    const google::protobuf::Reflection* r = c.GetReflection();
    const FieldDescriptor* kind = c.GetDescriptor()->FindFieldByNumber(c.check_case());
    const google::protobuf::Message& params = r->GetMessage(c, kind);
    const TextFormat::ParseInfoTree* psub =
        sub == nullptr ? nullptr : sub->GetTreeForNested(kind, -1);
    int pline = sub == nullptr ? line : Line(*sub, kind, -1);
    CheckDurations(params, psub, pline);
    CheckKinds(params, psub, pline, what);
    if (c.has_feature_drift() && c.feature_drift().histogram_metric().empty() !=
                                     c.feature_drift().feature_label().empty()) {
      Problem(pline, what + ": histogram_metric and feature_label go together");
    }
    if (c.has_change_log() && c.change_log().kinds_size() == 0) {
      Problem(pline, what + ": change_log needs at least one kind");
    }
    for (const char* name : {"threshold", "min_row_ratio", "smoothing"}) {
      const FieldDescriptor* f = params.GetDescriptor()->FindFieldByName(name);
      if (f != nullptr && params.GetReflection()->GetDouble(params, f) < 0) {
        Problem(pline, absl::StrFormat("%s: %s must be >= 0", what, name));
      }
    }
  }

 private:
  static int Line(const TextFormat::ParseInfoTree& info, const FieldDescriptor* f, int index) {
    TextFormat::ParseLocation loc = info.GetLocation(f, index);
    return loc.line < 0 ? 1 : loc.line + 1;
  }

  static int FieldLine(const TextFormat::ParseInfoTree* sub, const google::protobuf::Message& m,
                       const char* name, int fallback) {
    if (sub == nullptr) return fallback;
    const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
    TextFormat::ParseLocation loc = sub->GetLocation(f, -1);
    return loc.line < 0 ? fallback : loc.line + 1;
  }

  void Problem(int line, const std::string& what) {
    problems_.push_back(absl::StrFormat("%s:%d: %s", file_, line, what));
  }

  void CheckDurations(const google::protobuf::Message& m, const TextFormat::ParseInfoTree* sub,
                      int line) {
    for (const std::string& name : DurationFieldsOf(m.GetDescriptor())) {
      const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
      std::string v = m.GetReflection()->GetString(m, f);
      if (v.empty()) continue;
      absl::StatusOr<int64_t> d = ParseDurationMs(v);
      if (!d.ok()) {
        Problem(FieldLine(sub, m, name.c_str(), line),
                absl::StrFormat("%s: %s", name, d.status().message()));
      }
    }
  }

  void CheckKinds(const google::protobuf::Message& m, const TextFormat::ParseInfoTree* sub,
                  int line, const std::string& what) {
    for (const char* name : {"kinds", "change_kinds"}) {
      const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
      if (f == nullptr) continue;
      const google::protobuf::Reflection* r = m.GetReflection();
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        std::string k = r->GetRepeatedString(m, f, i);
        if (!IsChangeKind(k)) {
          int l = line;
          if (sub != nullptr && sub->GetLocation(f, i).line >= 0)
            l = sub->GetLocation(f, i).line + 1;
          Problem(l, absl::StrFormat("%s: unknown change kind \"%s\" (known: %s)", what, k,
                                     absl::StrJoin(ChangeKinds(), ", ")));
        }
      }
    }
  }

  std::string file_;
  const v1::Tree& tree_;
  const TextFormat::ParseInfoTree& info_;
  std::vector<std::string> problems_;
};

void SetDefault(std::string* s, const char* value) {
  if (s->empty()) *s = value;
}

// Fills in what a category's (or hypothesis') check leaves out.
void ApplyCheckDefaults(v1::Category* category) {
  v1::Category& c = *category;
  if (c.has_upstream_health()) {
    v1::UpstreamHealthCheck* u = c.mutable_upstream_health();
    if (u->min_row_ratio() == 0) u->set_min_row_ratio(0.7);
    SetDefault(u->mutable_row_baseline_start(), "7d");
    SetDefault(u->mutable_row_baseline_end(), "24h");
    SetDefault(u->mutable_schema_switch_before_onset(), "24h");
    SetDefault(u->mutable_report_window(), "24h");
  } else if (c.has_feature_drift()) {
    v1::FeatureDriftCheck* f = c.mutable_feature_drift();
    if (f->threshold() == 0) f->set_threshold(0.1);
    SetDefault(f->mutable_current_window(), "1h");
    SetDefault(f->mutable_baseline_start(), "30d");
    SetDefault(f->mutable_baseline_end(), "24h");
    SetDefault(f->mutable_min_baseline(), "24h");
    if (f->smoothing() == 0) f->set_smoothing(1e-4);
    if (f->top_k() == 0) f->set_top_k(10);
  } else if (c.has_eval_staleness()) {
    v1::EvalStalenessCheck* e = c.mutable_eval_staleness();
    SetDefault(e->mutable_max_age(), "28d");
    if (e->min_catalog_turnover() == 0) e->set_min_catalog_turnover(0.10);
  } else if (c.has_traffic_mix()) {
    v1::TrafficMixCheck* t = c.mutable_traffic_mix();
    SetDefault(t->mutable_metric(), "requests");
    SetDefault(t->mutable_label(), "source");
    SetDefault(t->mutable_current_window(), "1h");
    SetDefault(t->mutable_baseline_start(), "7d");
    SetDefault(t->mutable_baseline_end(), "24h");
    if (t->threshold() == 0) t->set_threshold(0.1);
    if (t->smoothing() == 0) t->set_smoothing(1e-4);
  }
}

void ApplyDefaults(v1::Tree* tree) {
  v1::TreeSettings* s = tree->mutable_settings();
  SetDefault(s->mutable_candidate_before(), "24h");
  SetDefault(s->mutable_candidate_after(), "5m");
  SetDefault(s->mutable_onset_baseline_start(), "7d");
  SetDefault(s->mutable_onset_baseline_end(), "6h");
  SetDefault(s->mutable_onset_search(), "6h");
  SetDefault(s->mutable_shared_alert_window(), "10m");
  if (s->onset_band_sigmas() == 0) s->set_onset_band_sigmas(4);
  SetDefault(s->mutable_change_feed_window(), "30d");
  for (v1::Category& c : *tree->mutable_category()) {
    ApplyCheckDefaults(&c);
    for (v1::Category& h : *c.mutable_hypothesis()) ApplyCheckDefaults(&h);
  }
}

bool ParseText(std::string_view file, std::string_view text, v1::Tree* tree,
               TextFormat::ParseInfoTree* info, std::vector<std::string>* problems) {
  TextFormat::Parser parser;
  Collector collector(file);
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(info);
  bool ok = parser.ParseFromString(std::string(text), tree);
  *problems = std::move(collector.problems);
  if (!ok && problems->empty()) problems->push_back(std::string(file) + ":1: cannot parse");
  return ok;
}

}  // namespace

std::vector<std::string> CheckTreeText(std::string_view file, std::string_view text) {
  v1::Tree tree;
  TextFormat::ParseInfoTree info;
  std::vector<std::string> problems;
  if (!ParseText(file, text, &tree, &info, &problems)) return problems;
  return Checker(file, tree, info).Run();
}

absl::StatusOr<v1::Tree> ParseTree(std::string_view file, std::string_view text) {
  v1::Tree tree;
  TextFormat::ParseInfoTree info;
  std::vector<std::string> problems;
  if (ParseText(file, text, &tree, &info, &problems)) problems = Checker(file, tree, info).Run();
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  ApplyDefaults(&tree);
  return tree;
}

absl::StatusOr<v1::Tree> LoadTreeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot open tree file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTree(path, ss.str());
}

absl::StatusOr<v1::Tree> DefaultTree() {
  return ParseTree("default_tree.textproto", DefaultTreeText());
}

int64_t DurationMs(std::string_view text) { return ParseDurationMs(text).value_or(0); }

std::string CheckKind(const v1::Category& category) {
  if (category.check_case() == v1::Category::CHECK_NOT_SET) return "";
  return category.GetDescriptor()->FindFieldByNumber(category.check_case())->name();
}

std::vector<const v1::Category*> CostOrder(const v1::Tree& tree) {
  std::vector<const v1::Category*> order;
  for (const v1::Category& c : tree.category()) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const v1::Category* a, const v1::Category* b) {
    return a->cost_minutes() < b->cost_minutes();
  });
  return order;
}

WalkOrder OrderFor(const v1::Tree& tree, const RootCauseHistory& history) {
  WalkOrder w;
  std::vector<const v1::Category*> cost = CostOrder(tree);
  const double prior = tree.learned_prior() > 0 ? tree.learned_prior() : 1;
  const double k = static_cast<double>(tree.category_size());
  std::map<const v1::Category*, double> p;
  for (const v1::Category* c : cost) {
    auto it = history.counts.find(c->id());
    double n = it == history.counts.end() ? 0 : it->second;
    p[c] = (n + prior) / (history.total + prior * k);
  }
  auto expected = [&](const std::vector<const v1::Category*>& order) {
    double spent = 0, e = 0;
    for (const v1::Category* c : order) {
      spent += c->cost_minutes();
      e += p[c] * spent;
    }
    return e;
  };
  w.order = cost;
  w.name = "cost";
  if (tree.ordering() == v1::Tree::LEARNED) {
    std::stable_sort(w.order.begin(), w.order.end(),
                     [&](const v1::Category* a, const v1::Category* b) {
                       return p[a] / a->cost_minutes() > p[b] / b->cost_minutes();
                     });
    w.name = "learned";
  }
  w.expected_minutes = expected(w.order);
  w.expected_minutes_cost = expected(cost);
  return w;
}

}  // namespace triage::rules
