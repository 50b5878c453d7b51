#include "triage/core/incident_book.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/alertmanager.h"
#include "proto/model/names.h"
#include "proto/model/time.h"
#include "triage/sinks/alertmanager_sink.h"
#include "triage/store/events.h"

namespace triage::core {

namespace {

bool Firing(const v1::AlertInstance& a) { return a.status() != v1::AlertInstance::resolved; }

// One webhook's pass over the book: the stored states, and the ones it
// changed so far (which win over the stored ones).
class Pass {
 public:
  Pass(int64_t now, const std::vector<v1::IncidentState>& states, const BookOptions& options)
      : received_(now), now_(now), states_(states), options_(options) {
    update_.reply.set_status("ok");
  }

  void Alert(const v1::WebhookAlert& a) {
    // The alert's own time, not the arrival's: every replica derives the same.
    now_ = store::AlertTime(a, received_);
    update_.reply.set_alerts(update_.reply.alerts() + 1);
    if (a.labels().contains(sinks::kLoopLabel)) return Unchanged();  // Our own enriched alert.
    if (std::string holder = HolderOf(a); !holder.empty()) return Update(holder, a);
    // A resolve that comes before its firing notification (two Alertmanagers,
    // a retry, triaged down while it fired) is recorded as the alert that
    // fired and then resolved, so the late firing one finds it resolved.
    const bool resolved_first = a.status() == "resolved";
    if (!resolved_first) ++update_.pages;
    Arrive(a);
    if (resolved_first) Update(HolderOf(a), a);
  }

  BookUpdate Finish() {
    update_.to_walk.assign(to_walk_.begin(), to_walk_.end());
    return std::move(update_);
  }

 private:
  void Unchanged() { update_.reply.set_unchanged(update_.reply.unchanged() + 1); }

  // A new alert: unmapped, joining an open incident or opening one.
  void Arrive(const v1::WebhookAlert& a) {
    v1::AlertInstance inst;
    inst.set_fingerprint(a.fingerprint());
    inst.set_status(v1::AlertInstance::firing);
    *inst.mutable_labels() = a.labels();
    *inst.mutable_annotations() = a.annotations();
    *inst.mutable_starts_at() = a.starts_at();
    *inst.mutable_ends_at() = a.ends_at();
    inst.set_generator_url(a.generator_url());
    if (std::string why = Map(a, &inst); !why.empty()) return Unmapped(std::move(inst), why);
    if (std::string join = Joinable(ToMs(a.starts_at())); !join.empty()) {
      return Join(join, std::move(inst));
    }
    Open(std::move(inst));
  }

  // The state to change: a changed one, else a copy of the stored one.
  v1::IncidentState* Current(const std::string& id) {
    if (auto it = update_.changed.find(id); it != update_.changed.end()) return &it->second;
    for (const v1::IncidentState& s : states_) {
      if (s.id() == id) return &(update_.changed[id] = s);
    }
    return nullptr;
  }

  // The incident that already holds this alert (same fingerprint and start).
  std::string HolderOf(const v1::WebhookAlert& a) const {
    auto holds = [&](const v1::IncidentState& s) { return HeldAt(s, a) >= 0; };
    std::string holder;
    for (const auto& [id, s] : update_.changed) {
      if (holds(s)) holder = id;
    }
    if (!holder.empty()) return holder;
    for (const v1::IncidentState& s : states_) {
      if (holds(s)) holder = s.id();
    }
    return holder;
  }

  // Where the incident holds `a` (same fingerprint and start); -1 if not.
  static int HeldAt(const v1::IncidentState& s, const v1::WebhookAlert& a) {
    const int64_t starts = ToMs(a.starts_at());
    for (int i = 0; i < s.alerts_size(); ++i) {
      const v1::AlertInstance& y = s.alerts(i);
      if (y.fingerprint() == a.fingerprint() && ToMs(y.starts_at()) == starts) return i;
    }
    return -1;
  }

  // The stored or changed state with this id, unchanged.
  const v1::IncidentState& Find(const std::string& id) const {
    if (auto it = update_.changed.find(id); it != update_.changed.end()) return it->second;
    return *std::find_if(states_.begin(), states_.end(),
                         [&](const v1::IncidentState& s) { return s.id() == id; });
  }

  // An alert it holds resolved: the incident with it when none fires any
  // more. Resolved is final for an alert (its fingerprint and startsAt): a
  // firing notification after it is late or repeated, whatever the order
  // they arrive in (Prometheus gives an alert that fires again a new
  // startsAt, so it is a new alert).
  void Update(const std::string& holder, const v1::WebhookAlert& a) {
    const v1::IncidentState& held = Find(holder);
    const int at = HeldAt(held, a);
    if (a.status() != "resolved" || held.alerts(at).status() == v1::AlertInstance::resolved) {
      return Unchanged();
    }
    v1::IncidentState* s = Current(holder);
    v1::AlertInstance* x = s->mutable_alerts(at);
    x->set_status(v1::AlertInstance::resolved);
    *x->mutable_ends_at() = a.ends_at();
    update_.reply.add_incidents(holder);
    update_.reply.set_resolved(update_.reply.resolved() + 1);
    auto name = a.labels().find("alertname");
    AddTimeline(s, now_, "alert_resolved",
                name != a.labels().end() ? name->second + " " + a.fingerprint() : a.fingerprint());
    if (std::any_of(s->alerts().begin(), s->alerts().end(), Firing) ||
        s->status() == v1::IncidentState::resolved) {
      return;
    }
    s->set_status(v1::IncidentState::resolved);
    const int64_t resolved_at = ToMs(a.ends_at()) > 0 ? ToMs(a.ends_at()) : now_;
    *s->mutable_resolved_at() = FromMs(resolved_at);
    int64_t first = ToMs(s->alerts(0).starts_at());
    for (const v1::AlertInstance& y : s->alerts()) first = std::min(first, ToMs(y.starts_at()));
    s->set_minutes_to_resolve(static_cast<double>(resolved_at - first) / kMinuteMs);
    AddTimeline(s, now_, "resolved",
                absl::StrFormat("all alerts resolved after %.0f min", s->minutes_to_resolve()));
    update_.resolved.push_back(holder);
  }

  // Sets the alert's service and metric from its labels; else says why not.
  std::string Map(const v1::WebhookAlert& a, v1::AlertInstance* inst) const {
    auto service = a.labels().find(options_.service_label);
    auto metric = a.labels().find(options_.metric_label);
    if (metric == a.labels().end()) metric = a.annotations().find(options_.metric_annotation);
    if (service == a.labels().end()) {
      return absl::StrFormat("no label %s", options_.service_label);
    }
    if (!IsValidName(service->second)) {
      return absl::StrFormat("label %s=\"%s\" is not a valid name", options_.service_label,
                             service->second);
    }
    if (metric == a.labels().end() || metric == a.annotations().end()) {
      return absl::StrFormat("no label %s and no annotation %s", options_.metric_label,
                             options_.metric_annotation);
    }
    if (!IsValidName(metric->second)) {
      return absl::StrFormat("metric \"%s\" is not a valid name", metric->second);
    }
    inst->set_service(service->second);
    inst->set_metric(metric->second);
    return "";
  }

  static std::string IdOf(const v1::AlertInstance& inst) {
    return absl::StrFormat("am-%s-%d", inst.fingerprint(), ToMs(inst.starts_at()) / 1000);
  }

  void Unmapped(v1::AlertInstance inst, const std::string& why) {
    update_.reply.set_unmapped(update_.reply.unmapped() + 1);
    v1::IncidentState s;
    s.set_id(IdOf(inst));
    s.set_status(v1::IncidentState::open);
    s.set_unmapped_reason(why);
    *s.mutable_opened_at() = FromMs(now_);
    *s.add_alerts() = std::move(inst);
    AddTimeline(&s, now_, "alert_received", "unmapped: " + why);
    update_.reply.add_incidents(s.id());
    update_.changed[s.id()] = std::move(s);
  }

  // An open, mapped incident with an alert that fired within the window.
  std::string Joinable(int64_t starts) const {
    auto joinable = [&](const v1::IncidentState& s) {
      if (s.status() != v1::IncidentState::open || !s.unmapped_reason().empty()) return false;
      return std::any_of(s.alerts().begin(), s.alerts().end(), [&](const v1::AlertInstance& y) {
        return std::llabs(ToMs(y.starts_at()) - starts) <= options_.shared_alert_window_ms;
      });
    };
    for (const auto& [id, s] : update_.changed) {
      if (joinable(s)) return id;
    }
    for (const v1::IncidentState& s : states_) {
      if (!update_.changed.contains(s.id()) && joinable(s)) return s.id();
    }
    return "";
  }

  static std::string Fired(const v1::AlertInstance& inst) {
    return absl::StrFormat("%s/%s fired %s", inst.service(), inst.metric(),
                           FormatRfc3339(ToMs(inst.starts_at())));
  }

  void Join(const std::string& id, v1::AlertInstance inst) {
    v1::IncidentState* s = Current(id);
    AddTimeline(s, now_, "alert_joined", Fired(inst));
    *s->add_alerts() = std::move(inst);
    update_.reply.set_joined(update_.reply.joined() + 1);
    to_walk_.insert(id);
    update_.reply.add_incidents(id);
  }

  void Open(v1::AlertInstance inst) {
    v1::IncidentState s;
    s.set_id(IdOf(inst));
    s.set_status(v1::IncidentState::open);
    *s.mutable_opened_at() = FromMs(now_);
    AddTimeline(&s, now_, "alert_received", Fired(inst));
    *s.add_alerts() = std::move(inst);
    update_.reply.set_opened(update_.reply.opened() + 1);
    to_walk_.insert(s.id());
    update_.reply.add_incidents(s.id());
    update_.changed[s.id()] = std::move(s);
  }

  const int64_t received_;
  int64_t now_;  // The time of the alert being applied.
  const std::vector<v1::IncidentState>& states_;
  const BookOptions& options_;
  BookUpdate update_;
  std::set<std::string> to_walk_;
};

}  // namespace

void AddTimeline(v1::IncidentState* s, int64_t t, std::string event, std::string detail) {
  v1::TimelineEntry* e = s->add_timeline();
  *e->mutable_time() = FromMs(t);
  e->set_event(std::move(event));
  e->set_detail(std::move(detail));
}

v1::Incident ToIncident(const v1::IncidentState& s) {
  v1::Incident inc;
  inc.set_id(s.id());
  std::set<std::string> names;
  for (const v1::AlertInstance& a : s.alerts()) {
    v1::Alert* alert = inc.add_alerts();
    auto name = a.labels().find("alertname");
    alert->set_name(name != a.labels().end() ? name->second : "");
    if (name != a.labels().end()) names.insert(name->second);
    alert->set_service(a.service());
    alert->set_metric(a.metric());
    alert->set_expr(collectors::GeneratorExpr(a.generator_url()));
    *alert->mutable_fired_at() = a.starts_at();
    for (const auto& [k, v] : a.labels()) (*alert->mutable_labels())[k] = v;
    auto sev = a.labels().find("severity");
    if (sev != a.labels().end()) alert->set_severity(sev->second);
  }
  inc.set_title(absl::StrJoin(names, ", "));
  return inc;
}

BookUpdate ApplyWebhook(const v1::AlertmanagerWebhook& hook, int64_t now,
                        const std::vector<v1::IncidentState>& states, const BookOptions& options) {
  Pass pass(now, states, options);
  for (const v1::WebhookAlert& a : hook.alerts()) pass.Alert(a);
  return pass.Finish();
}

}  // namespace triage::core
