#include "triage/server/alerts.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/json.h"
#include "collectors/alertmanager.h"
#include "google/protobuf/util/json_util.h"
#include "proto/model/names.h"
#include "proto/model/time.h"

namespace triage::server {

namespace {

constexpr char kLoopLabel[] = "triage_incident";  // Our own enriched alerts carry it.

void AddTimeline(v1::IncidentState* s, int64_t t, std::string event, std::string detail) {
  v1::TimelineEntry* e = s->add_timeline();
  *e->mutable_time() = FromMs(t);
  e->set_event(std::move(event));
  e->set_detail(std::move(detail));
}

bool Firing(const v1::AlertInstance& a) { return a.status() != "resolved"; }

// The incident the walk sees: its mapped alerts, fired at their startsAt.
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
    *alert->mutable_fired_at() = a.starts_at();
    for (const auto& [k, v] : a.labels()) (*alert->mutable_labels())[k] = v;
    auto sev = a.labels().find("severity");
    if (sev != a.labels().end()) alert->set_severity(sev->second);
  }
  inc.set_title(absl::StrJoin(names, ", "));
  return inc;
}

void AppendObject(std::string* out, const std::map<std::string, std::string>& m) {
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out->push_back(',');
    first = false;
    collectors::AppendJsonString(out, k);
    out->push_back(':');
    collectors::AppendJsonString(out, v);
  }
  out->push_back('}');
}

}  // namespace

AlertRouter::AlertRouter(store::Store& store, Core& core, const Clock& clock, Metrics& metrics,
                         AlertOptions options)
    : store_(store), core_(core), clock_(clock), metrics_(metrics), options_(std::move(options)) {
  if (!options_.alertmanager_url.empty()) {
    absl::StatusOr<std::unique_ptr<HttpClient>> client =
        HttpClient::Create(options_.alertmanager_client);
    if (client.ok()) client_ = std::move(*client);  // main() checked the options already.
  }
}

AlertRouter::~AlertRouter() { Stop(); }

absl::StatusOr<v1::WebhookReply> AlertRouter::HandleWebhook(std::string_view body) {
  const int64_t now = clock_.NowMs();
  absl::StatusOr<v1::AlertmanagerWebhook> parsed =
      collectors::ParseAlertmanagerWebhook(body, core_.options().limits);
  if (!parsed.ok()) return core_.Refused(parsed.status());
  const v1::AlertmanagerWebhook& hook = *parsed;
  const int64_t window =
      ParseDurationMs(core_.tree()->settings().shared_alert_window()).value_or(10 * kMinuteMs);

  v1::WebhookReply result;
  result.set_status("ok");
  std::lock_guard<std::mutex> lock(incidents_mu_);
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) return states.status();
  std::map<std::string, v1::IncidentState> touched;  // id -> new state
  auto current = [&](const std::string& id) -> v1::IncidentState* {
    if (auto it = touched.find(id); it != touched.end()) return &it->second;
    for (const v1::IncidentState& s : *states) {
      if (s.id() == id) return &(touched[id] = s);
    }
    return nullptr;
  };
  std::set<std::string> to_walk;
  for (const v1::WebhookAlert& a : hook.alerts()) {
    result.set_alerts(result.alerts() + 1);
    if (a.labels().contains(kLoopLabel)) {  // Our own enriched alert routed back: ignore.
      result.set_unchanged(result.unchanged() + 1);
      continue;
    }
    const int64_t starts = ToMs(a.starts_at());
    // The incident that already holds this alert (same fingerprint and start).
    std::string holder;
    auto find_holder = [&](const v1::IncidentState& s) {
      for (const v1::AlertInstance& x : s.alerts()) {
        if (x.fingerprint() == a.fingerprint() && ToMs(x.starts_at()) == starts) return true;
      }
      return false;
    };
    for (const auto& [id, s] : touched) {
      if (find_holder(s)) holder = id;
    }
    if (holder.empty()) {
      for (const v1::IncidentState& s : *states) {
        if (find_holder(s)) holder = s.id();
      }
    }
    if (!holder.empty()) {
      v1::IncidentState* s = current(holder);
      v1::AlertInstance* x = nullptr;
      for (v1::AlertInstance& y : *s->mutable_alerts()) {
        if (y.fingerprint() == a.fingerprint() && ToMs(y.starts_at()) == starts) x = &y;
      }
      if (x->status() == a.status()) {
        result.set_unchanged(result.unchanged() + 1);  // A re-sent alert changes nothing.
        continue;
      }
      x->set_status(a.status());
      *x->mutable_ends_at() = a.ends_at();
      if (a.status() == "resolved") {
        result.set_resolved(result.resolved() + 1);
        AddTimeline(s, now, "alert_resolved",
                    a.labels().contains("alertname")
                        ? a.labels().at("alertname") + " " + a.fingerprint()
                        : a.fingerprint());
        if (std::none_of(s->alerts().begin(), s->alerts().end(), Firing) &&
            s->status() != "resolved") {
          s->set_status("resolved");
          int64_t resolved_at = ToMs(a.ends_at()) > 0 ? ToMs(a.ends_at()) : now;
          *s->mutable_resolved_at() = FromMs(resolved_at);
          int64_t first = ToMs(s->alerts(0).starts_at());
          for (const v1::AlertInstance& y : s->alerts())
            first = std::min(first, ToMs(y.starts_at()));
          s->set_minutes_to_resolve(static_cast<double>(resolved_at - first) / kMinuteMs);
          AddTimeline(
              s, now, "resolved",
              absl::StrFormat("all alerts resolved after %.0f min", s->minutes_to_resolve()));
        }
      } else {
        s->set_status("open");
        AddTimeline(s, now, "alert_refired", a.fingerprint());
        to_walk.insert(holder);
      }
      result.add_incidents(holder);
      continue;
    }
    if (a.status() == "resolved") {
      result.set_unchanged(result.unchanged() + 1);  // Resolved before we ever saw it fire: nothing to do.
      continue;
    }
    metrics_.pages.Increment();
    v1::AlertInstance inst;
    inst.set_fingerprint(a.fingerprint());
    inst.set_status("firing");
    *inst.mutable_labels() = a.labels();
    *inst.mutable_annotations() = a.annotations();
    *inst.mutable_starts_at() = a.starts_at();
    *inst.mutable_ends_at() = a.ends_at();
    inst.set_generator_url(a.generator_url());
    std::string why;
    auto service = a.labels().find(options_.service_label);
    auto metric = a.labels().find(options_.metric_label);
    if (metric == a.labels().end()) metric = a.annotations().find(options_.metric_annotation);
    if (service == a.labels().end()) {
      why = absl::StrFormat("no label %s", options_.service_label);
    } else if (!IsValidName(service->second)) {
      why = absl::StrFormat("label %s=\"%s\" is not a valid name", options_.service_label,
                            service->second);
    } else if (metric == a.labels().end() || metric == a.annotations().end()) {
      why = absl::StrFormat("no label %s and no annotation %s", options_.metric_label,
                            options_.metric_annotation);
    } else if (!IsValidName(metric->second)) {
      why = absl::StrFormat("metric \"%s\" is not a valid name", metric->second);
    } else {
      inst.set_service(service->second);
      inst.set_metric(metric->second);
    }
    if (!why.empty()) {
      result.set_unmapped(result.unmapped() + 1);
      v1::IncidentState s;
      s.set_id(absl::StrFormat("am-%s-%d", a.fingerprint(), starts / 1000));
      s.set_status("open");
      s.set_unmapped_reason(why);
      *s.mutable_opened_at() = FromMs(now);
      *s.add_alerts() = inst;
      AddTimeline(&s, now, "alert_received", "unmapped: " + why);
      result.add_incidents(s.id());
      touched[s.id()] = std::move(s);
      continue;
    }
    // Join an open incident with an alert firing within the window, else open one.
    std::string join;
    auto joinable = [&](const v1::IncidentState& s) {
      if (s.status() != "open" || !s.unmapped_reason().empty()) return false;
      for (const v1::AlertInstance& y : s.alerts()) {
        if (std::llabs(ToMs(y.starts_at()) - starts) <= window) return true;
      }
      return false;
    };
    for (const auto& [id, s] : touched) {
      if (join.empty() && joinable(s)) join = id;
    }
    for (const v1::IncidentState& s : *states) {
      if (join.empty() && !touched.contains(s.id()) && joinable(s)) join = s.id();
    }
    if (!join.empty()) {
      v1::IncidentState* s = current(join);
      *s->add_alerts() = inst;
      AddTimeline(
          s, now, "alert_joined",
          absl::StrFormat("%s/%s fired %s", inst.service(), inst.metric(), FormatRfc3339(starts)));
      result.set_joined(result.joined() + 1);
      to_walk.insert(join);
      result.add_incidents(join);
      continue;
    }
    v1::IncidentState s;
    s.set_id(absl::StrFormat("am-%s-%d", a.fingerprint(), starts / 1000));
    s.set_status("open");
    *s.mutable_opened_at() = FromMs(now);
    *s.add_alerts() = inst;
    AddTimeline(
        &s, now, "alert_received",
        absl::StrFormat("%s/%s fired %s", inst.service(), inst.metric(), FormatRfc3339(starts)));
    result.set_opened(result.opened() + 1);
    to_walk.insert(s.id());
    result.add_incidents(s.id());
    touched[s.id()] = std::move(s);
  }
  // Durable before the answer: the incident states and the incidents the walk reads.
  std::vector<std::string> resolved_now;
  for (const auto& [id, s] : touched) {
    v1::Incident inc = ToIncident(s);
    if (absl::Status st = store_.PutIncidentRecords(&inc, &s, nullptr); !st.ok()) return st;
    if (s.status() == "resolved" && !s.timeline().empty() &&
        s.timeline().rbegin()->event() == "resolved") {
      resolved_now.push_back(id);
    }
  }
  for (const std::string& id : resolved_now) {
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(id);
    if (report.ok()) Enqueue(touched[id], *report, /*resolved=*/true, now, /*resend=*/false);
  }
  RefreshGauges();
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& id : to_walk) walks_.emplace_back(id, now);
  }
  cv_.notify_all();
  return result;
}

void AlertRouter::Walk(const std::string& id) {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<v1::IncidentState> state;
  absl::StatusOr<v1::TriageReport> report;
  {
    std::lock_guard<std::mutex> lock(incidents_mu_);
    state = store_.GetIncidentState(id);
    if (!state.ok()) return;
    report = core_.TriageIncident(ToIncident(*state));
    if (!report.ok()) {
      AddTimeline(&*state, clock_.NowMs(), "walk_failed", std::string(report.status().message()));
      (void)store_.PutIncidentRecords(nullptr, &*state, nullptr);
      return;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    AddTimeline(&*state, clock_.NowMs(), "walk_finished",
                absl::StrFormat("localized %s (%.0f ms)", report->localized_category(), ms));
    if (absl::Status s = store_.PutIncidentRecords(nullptr, &*state, nullptr); !s.ok()) return;
  }
}

void AlertRouter::Enqueue(const v1::IncidentState& state, const v1::TriageReport& report,
                          bool resolved, int64_t received_ms, bool resend) {
  if (options_.alertmanager_url.empty() || !state.unmapped_reason().empty()) return;
  const int64_t now = clock_.NowMs();
  const v1::CategoryVerdict* loc = nullptr;
  for (const v1::CategoryVerdict& v : report.verdicts()) {
    if (v.category() == report.localized_category()) loc = &v;
  }
  const v1::AlertInstance* first = nullptr;
  for (const v1::AlertInstance& a : state.alerts()) {
    if (first == nullptr || ToMs(a.starts_at()) < ToMs(first->starts_at())) first = &a;
  }
  if (first == nullptr) return;
  std::map<std::string, std::string> labels(first->labels().begin(), first->labels().end());
  labels["triage_category"] = report.localized_category();
  labels["triage_owner"] =
      loc != nullptr && !loc->owner().empty() ? loc->owner() : "incident-commander";
  labels[kLoopLabel] = state.id();
  std::map<std::string, std::string> annotations(first->annotations().begin(),
                                                 first->annotations().end());
  std::string evidence = loc != nullptr ? loc->evidence() : report.escalation();
  if (evidence.size() > 300) evidence = evidence.substr(0, 297) + "...";
  annotations["triage_summary"] = absl::StrFormat("%s: %s", report.localized_category(), evidence);
  annotations["triage_mitigation"] = loc != nullptr ? loc->mitigation() : report.escalation();
  annotations["triage_link"] = options_.page_url + "#/incident/" + state.id();
  std::string body = "[{\"labels\":";
  AppendObject(&body, labels);
  body += ",\"annotations\":";
  AppendObject(&body, annotations);
  body += ",\"startsAt\":\"" + FormatRfc3339(ToMs(first->starts_at())) + "\"";
  // While firing, endsAt lies a few re-send intervals ahead, so Alertmanager
  // resolves the alert by itself if triaged goes away.
  int64_t ends = resolved ? ToMs(state.resolved_at()) : now + 4 * options_.resend_ms;
  body += ",\"endsAt\":\"" + FormatRfc3339(ends) + "\"";
  if (!first->generator_url().empty()) {
    body += ",\"generatorURL\":";
    collectors::AppendJsonString(&body, first->generator_url());
  }
  body += "}]";
  v1::Delivery d;
  d.set_incident_id(state.id());
  d.set_body(body);
  d.set_next_attempt_ms(now);
  d.set_enqueued_ms(now);
  d.set_received_ms(resend ? 0 : received_ms);
  std::vector<v1::Delivery> dropped;
  if (store_.EnqueueDelivery(d, options_.max_queue, &dropped).ok()) {
    metrics_.deliveries_dropped.Increment(static_cast<double>(dropped.size()));
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    deliver_now_ = true;
  }
  cv_.notify_all();
}

bool AlertRouter::Post(const std::string& body, std::string* error) {
  if (client_ == nullptr) {
    *error = "no Alertmanager client";
    return false;
  }
  std::string url = options_.alertmanager_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  absl::StatusOr<HttpClientResponse> r = client_->Post(url + "/api/v2/alerts", "application/json", body);
  if (!r.ok()) {
    *error = std::string(r.status().message());
    return false;
  }
  if (r->status >= 200 && r->status < 300) return true;
  *error = absl::StrFormat("Alertmanager answered %d", r->status);
  return false;
}

void AlertRouter::Start() {
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (states.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    for (const v1::IncidentState& s : *states) {
      if (s.status() == "open" && s.unmapped_reason().empty() &&
          absl::IsNotFound(store_.GetReport(s.id()).status())) {
        walks_.emplace_back(s.id(), clock_.NowMs());
      }
    }
  }
  RefreshGauges();
  threads_.emplace_back([this] { WalkLoop(); });
  threads_.emplace_back([this] { DeliverLoop(); });
  threads_.emplace_back([this] { ScheduleLoop(); });
}

void AlertRouter::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void AlertRouter::WaitIdle() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return (walks_.empty() && walking_ == 0) || stopping_; });
}

void AlertRouter::WalkLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stopping_ || !walks_.empty(); });
    if (stopping_) return;
    auto [id, received] = walks_.front();
    walks_.pop_front();
    ++walking_;
    l.unlock();
    Walk(id);
    absl::StatusOr<v1::IncidentState> state = store_.GetIncidentState(id);
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(id);
    if (state.ok() && report.ok() && state->status() == "open") {
      Enqueue(*state, *report, /*resolved=*/false, received, /*resend=*/false);
    }
    l.lock();
    --walking_;
    cv_.notify_all();
  }
}

void AlertRouter::DeliverLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    int64_t now = clock_.NowMs();
    int64_t next_due = now + 1000;
    absl::StatusOr<std::vector<v1::Delivery>> queue = store_.Deliveries();
    if (queue.ok()) {
      metrics_.queue_depth.Set(static_cast<double>(queue->size()));
      for (v1::Delivery& d : *queue) {
        if (d.next_attempt_ms() > now) {
          next_due = std::min(next_due, d.next_attempt_ms());
          continue;
        }
        std::string error;
        if (Post(d.body(), &error)) {
          metrics_.deliveries.Increment();
          (void)store_.DeleteDelivery(d.seq());
          if (d.received_ms() > 0) {
            std::lock_guard<std::mutex> lock(incidents_mu_);
            absl::StatusOr<v1::IncidentState> s = store_.GetIncidentState(d.incident_id());
            if (s.ok()) {
              int64_t t = clock_.NowMs();
              AddTimeline(&*s, t, "delivered",
                          absl::StrFormat("enriched alert accepted by Alertmanager %d ms after "
                                          "the webhook (attempt %d)",
                                          t - d.received_ms(), d.attempts() + 1));
              (void)store_.PutIncidentRecords(nullptr, &*s, nullptr);
            }
          }
        } else {
          metrics_.delivery_failures.Increment();
          d.set_attempts(d.attempts() + 1);
          int64_t backoff = std::min<int64_t>(30'000, 250LL << std::min(d.attempts(), 7));
          d.set_next_attempt_ms(clock_.NowMs() + backoff);
          (void)store_.UpdateDelivery(d);
          next_due = std::min(next_due, d.next_attempt_ms());
          break;  // Alertmanager is down: keep order, wait for the backoff.
        }
      }
      absl::StatusOr<std::vector<v1::Delivery>> left = store_.Deliveries();
      if (left.ok()) metrics_.queue_depth.Set(static_cast<double>(left->size()));
    }
    l.lock();
    cv_.wait_for(l,
                 std::chrono::milliseconds(std::clamp<int64_t>(next_due - clock_.NowMs(), 5, 1000)),
                 [&] { return stopping_ || deliver_now_; });
    deliver_now_ = false;
  }
}

void AlertRouter::ScheduleLoop() {
  int64_t next_resend = clock_.NowMs() + options_.resend_ms;
  int64_t next_kl = clock_.NowMs();
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    int64_t now = clock_.NowMs();
    if (now >= next_kl) {
      RefreshKl();
      next_kl = now + options_.kl_refresh_ms;
    }
    if (now >= next_resend && !options_.alertmanager_url.empty()) {
      next_resend = now + options_.resend_ms;
      absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
      absl::StatusOr<std::vector<v1::Delivery>> queue = store_.Deliveries();
      std::set<std::string> pending;
      if (queue.ok()) {
        for (const v1::Delivery& d : *queue) pending.insert(d.incident_id());
      }
      if (states.ok()) {
        for (const v1::IncidentState& s : *states) {
          if (s.status() != "open" || pending.contains(s.id())) continue;
          absl::StatusOr<v1::TriageReport> report = store_.GetReport(s.id());
          if (report.ok()) Enqueue(s, *report, false, 0, /*resend=*/true);
        }
      }
    }
    l.lock();
    cv_.wait_for(l, std::chrono::milliseconds(500), [&] { return stopping_; });
  }
}

void AlertRouter::RefreshGauges() {
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) return;
  metrics_.incidents_open.Set(static_cast<double>(
      std::count_if(states->begin(), states->end(),
                    [](const v1::IncidentState& s) { return s.status() == "open"; })));
}

void AlertRouter::RefreshKl() {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> features = store_.Features();
  if (!features.ok()) return;
  std::set<std::string> services;
  for (const auto& [service, _] : *features) services.insert(service);
  const int64_t now = clock_.NowMs();
  for (const std::string& service : services) {
    absl::StatusOr<std::vector<v1::FeatureDrift>> drift = core_.FeatureDrift(service, now);
    if (!drift.ok()) continue;
    for (const v1::FeatureDrift& d : *drift) {
      metrics_.feature_kl.Add({{"service", d.service()}, {"feature", d.feature()}}).Set(d.kl());
    }
  }
}

}  // namespace triage::server
