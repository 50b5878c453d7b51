#include "triage/core/alerts.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <span>

#include "absl/strings/str_format.h"
#include "collectors/alertmanager.h"
#include "collectors/json.h"
#include "proto/model/time.h"
#include "triage/store/events.h"

namespace triage::core {

AlertRouter::AlertRouter(store::Store& store, Core& core, const Clock& clock, Metrics& metrics,
                         AlertOptions options)
    : store_(store),
      core_(core),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      walker_([this](const std::string& id, int64_t received) { Walk(id, received); }) {
  if (options_.alertmanager_urls.empty()) return;
  absl::StatusOr<std::unique_ptr<net::HttpClient>> client =
      net::HttpClient::Create(options_.alertmanager_client);
  if (!client.ok()) return;  // main() checked the options already.
  client_ = std::move(*client);
  for (std::string url : options_.alertmanager_urls) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    alerts_urls_.push_back(url + "/api/v2/alerts");
  }
  auto post = [this](const v1::Delivery& d) { return PostToAlertmanagers(d); };
  sink_ = std::make_unique<sinks::AlertmanagerSink>(
      store_, clock_, metrics_, options_.sink, post,
      [this](const v1::Delivery& d, int64_t latency) { Delivered(d, latency); });
}

AlertRouter::~AlertRouter() { Stop(); }

absl::Status AlertRouter::PostToAlertmanagers(const v1::Delivery& d) {
  absl::Status last;
  bool accepted = false;
  for (size_t i = 0; i < alerts_urls_.size(); ++i) {
    absl::StatusOr<net::HttpClientResponse> r = client_->Post(alerts_urls_[i], "application/json", d.body());
    absl::Status s = !r.ok() ? r.status()
                     : r->status >= 200 && r->status < 300
                         ? absl::OkStatus()
                         : absl::UnavailableError(absl::StrFormat("answered %d", r->status));
    if (s.ok()) {
      accepted = true;
      continue;
    }
    // The URL's index, not the URL: it may hold credentials.
    metrics_.alertmanager_errors.Add({{"alertmanager", std::to_string(i)}}).Increment();
    last = absl::UnavailableError(
        absl::StrFormat("Alertmanager %d (--alertmanager-url #%d): %s", i, i + 1, s.message()));
  }
  return accepted ? absl::OkStatus() : last;
}

void AlertRouter::Failed(const char* what, const absl::Status& s) {
  metrics_.store_write_failures.Add({{"what", what}}).Increment();
  std::cerr << "triaged: alert routing: " << what << ": " << s.message() << "\n";
}

BookOptions AlertRouter::Book() const {
  return BookOptions{
      .service_label = options_.service_label,
      .metric_label = options_.metric_label,
      .metric_annotation = options_.metric_annotation,
      .shared_alert_window_ms =
          ParseDurationMs(core_.tree()->settings().shared_alert_window()).value_or(10 * kMinuteMs)};
}

absl::StatusOr<v1::WebhookReply> AlertRouter::HandleWebhook(std::string_view body) {
  absl::StatusOr<v1::AlertmanagerWebhook> hook =
      collectors::ParseAlertmanagerWebhook(body, core_.options().limits);
  if (!hook.ok()) return core_.Refused(hook.status());
  return Apply(*hook, clock_.NowMs(), {});
}

absl::StatusOr<std::vector<v1::Event>> AlertRouter::NewAlertEvents(
    const v1::AlertmanagerWebhook& hook) const {
  std::vector<v1::Event> out;
  std::set<std::string> keys;
  for (int i = 0; i < hook.alerts_size(); ++i) {
    v1::Event e = store::AlertEvent(hook, i);
    absl::StatusOr<bool> logged = store_.HasEvent(e.key());
    if (!logged.ok()) return logged.status();
    if (*logged || !keys.insert(e.key()).second) continue;
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<v1::WebhookReply> AlertRouter::ApplyEvent(const v1::Event& event) {
  return Apply(event.alert(), clock_.NowMs(), {});
}

absl::StatusOr<v1::WebhookReply> AlertRouter::Apply(const v1::AlertmanagerWebhook& hook,
                                                    int64_t now, const std::string& note) {
  BookUpdate update;
  {
    std::lock_guard<std::mutex> lock(core_.incidents_mu());
    absl::StatusOr<std::vector<v1::Event>> events = NewAlertEvents(hook);
    if (!events.ok()) return events.status();
    absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
    if (!states.ok()) return states.status();
    v1::AlertmanagerWebhook fresh = hook;  // The alerts not applied before.
    fresh.clear_alerts();
    for (const v1::Event& e : *events) *fresh.add_alerts() = e.alert().alerts(0);
    update = ApplyWebhook(fresh, now, *states, Book());
    const int repeated = hook.alerts_size() - fresh.alerts_size();
    update.reply.set_alerts(update.reply.alerts() + repeated);
    update.reply.set_unchanged(update.reply.unchanged() + repeated);
    if (!note.empty()) {
      for (auto& [id, state] : update.changed) AddTimeline(&state, now, "reconciled", note);
    }
    // Durable before the answer: the incident states and the incidents the
    // walk reads, the alerts' events with the last of them.
    size_t left = update.changed.size();
    for (const auto& [id, state] : update.changed) {
      v1::Incident incident = ToIncident(state);
      std::span<const v1::Event> with = --left == 0 ? *events : std::span<const v1::Event>();
      if (absl::Status s = store_.PutIncidentRecords(&incident, &state, nullptr, with); !s.ok()) {
        return s;
      }
    }
    if (update.changed.empty() && !events->empty()) {
      if (absl::Status s = store_.PutIncidentRecords(nullptr, nullptr, nullptr, *events); !s.ok()) {
        return s;
      }
    }
  }
  metrics_.pages.Increment(update.pages);
  for (const std::string& id : update.resolved) {
    const v1::IncidentState& state = update.changed[id];
    absl::StatusOr<v1::TriageReport> report = store_.GetReport(id);
    metrics_.ObserveMinutes(metrics_.mttr_minutes,
                            !state.root_cause().empty() ? state.root_cause()
                            : report.ok()               ? report->localized_category()
                                                        : "",
                            state.minutes_to_resolve());
  }
  if (sink_ != nullptr) {
    for (const std::string& id : update.resolved) {
      absl::StatusOr<v1::TriageReport> report = store_.GetReport(id);
      if (!report.ok()) continue;  // Never walked: nothing was sent to resolve.
      if (absl::Status s = sink_->Send(update.changed[id], *report, /*resolved=*/true, now);
          !s.ok()) {
        Failed("queue the resolved alert", s);
      }
    }
  }
  RefreshGauges();
  for (const std::string& id : update.to_walk) walker_.Enqueue(id, now);
  return std::move(update.reply);
}

namespace {

// The walk's answer without its timings (which differ run to run).
std::string Answer(v1::TriageReport r) {
  r.set_walk_ms(0);
  r.set_load_ms(0);
  for (v1::CategoryVerdict& v : *r.mutable_verdicts()) v.set_check_ms(0);
  for (v1::MetricQuery& q : *r.mutable_queries()) q.set_ms(0);
  return r.SerializeAsString();
}

}  // namespace

void AlertRouter::Rewalk(int64_t from_ms, int64_t to_ms) {
  {
    std::lock_guard<std::mutex> lock(rewalk_mu_);
    const bool queued = rewalk_.has_value();
    rewalk_ = queued ? std::pair(std::min(rewalk_->first, from_ms), std::max(rewalk_->second, to_ms))
                     : std::pair(from_ms, to_ms);
    if (queued) return;  // One scan queued at a time, over the union of the spans.
  }
  walker_.Enqueue(std::string(kRewalk), 0);
}

void AlertRouter::EnqueueRewalks() {
  std::pair<int64_t, int64_t> span;
  {
    std::lock_guard<std::mutex> lock(rewalk_mu_);
    if (!rewalk_) return;
    span = *rewalk_;
    rewalk_.reset();
  }
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) return Failed("read incidents to walk again", states.status());
  for (const v1::IncidentState& s : *states) {
    if (!s.unmapped_reason().empty() || s.alerts_size() == 0) continue;
    int64_t first = ToMs(s.alerts(0).starts_at());
    for (const v1::AlertInstance& a : s.alerts()) first = std::min(first, ToMs(a.starts_at()));
    // A walk reads back at most kRewalkLookbackMs before the onset, and
    // a little after it.
    if (first >= span.first - kDayMs && first <= span.second + kRewalkLookbackMs) {
      walker_.Enqueue(s.id(), 0);
    }
  }
}

void AlertRouter::Walk(const std::string& id, int64_t received_ms) {
  if (id == kRewalk) return EnqueueRewalks();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<v1::IncidentState> state;
  absl::StatusOr<v1::TriageReport> report;
  {
    std::lock_guard<std::mutex> lock(core_.incidents_mu());
    state = store_.GetIncidentState(id);
    if (!state.ok()) return Failed("read the incident to walk", state.status());
    absl::StatusOr<v1::TriageReport> before = store_.GetReport(id);
    v1::Incident incident = ToIncident(*state);
    // A resolved incident keeps its recorded root cause.
    if (absl::StatusOr<v1::Incident> stored = store_.GetIncident(id);
        stored.ok() && stored->has_expected()) {
      *incident.mutable_expected() = stored->expected();
    }
    report = core_.TriageIncident(incident);
    if (received_ms == 0 && before.ok() && report.ok() && Answer(*before) == Answer(*report)) {
      return;  // Walked again after a write: the same answer, nothing to tell.
    }
    if (!report.ok()) {
      AddTimeline(&*state, clock_.NowMs(), "walk_failed", std::string(report.status().message()));
    } else {
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      const int64_t now = clock_.NowMs();
      AddTimeline(&*state, now, received_ms == 0 ? "walked_again" : "walk_finished",
                  absl::StrFormat("localized %s (%.0f ms)", report->localized_category(), ms));
      if (state->has_opened_at() && received_ms != 0) {
        metrics_.ObserveMinutes(metrics_.time_to_localize_minutes, report->localized_category(),
                                (now - ToMs(state->opened_at())) / 60'000.0);
      }
    }
    if (absl::Status s = store_.PutIncidentRecords(nullptr, &*state, nullptr); !s.ok()) {
      Failed("record the walk in the timeline", s);
    }
  }
  if (report.ok() && sink_ != nullptr && state->status() == v1::IncidentState::open) {
    if (absl::Status s = sink_->Send(*state, *report, /*resolved=*/false, received_ms); !s.ok()) {
      Failed("queue the enriched alert", s);
    }
  }
}

void AlertRouter::Delivered(const v1::Delivery& d, int64_t latency_ms) {
  metrics_.enrichment_seconds.Observe(static_cast<double>(latency_ms) / 1000);
  std::lock_guard<std::mutex> lock(core_.incidents_mu());
  absl::StatusOr<v1::IncidentState> s = store_.GetIncidentState(d.incident_id());
  if (!s.ok()) return Failed("read the delivered incident", s.status());
  AddTimeline(&*s, clock_.NowMs(), "delivered",
              absl::StrFormat("enriched alert accepted by Alertmanager %d ms after the webhook "
                              "(attempt %d)",
                              latency_ms, d.attempts() + 1));
  if (absl::Status st = store_.PutIncidentRecords(nullptr, &*s, nullptr); !st.ok()) {
    Failed("record the delivery in the timeline", st);
  }
}

void AlertRouter::Start() {
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) {
    Failed("read incidents at start", states.status());
  } else {
    for (const v1::IncidentState& s : *states) {
      if (s.status() == v1::IncidentState::open && s.unmapped_reason().empty() &&
          absl::IsNotFound(store_.GetReport(s.id()).status())) {
        walker_.Enqueue(s.id(), clock_.NowMs());
      }
    }
  }
  RefreshGauges();
  walker_.Start();
  if (sink_ != nullptr) {
    sink_->Start();
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
    resend_ = std::thread([this] { ResendLoop(); });
  }
}

void AlertRouter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (resend_.joinable()) resend_.join();
  walker_.Stop();
  if (sink_ != nullptr) sink_->Stop();
}

// Re-sends the enriched alert of every open incident with nothing queued,
// so Alertmanager keeps it firing.
void AlertRouter::ResendLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(options_.sink.resend_ms),
                       [&] { return stopping_; })) {
    lock.unlock();
    Reconcile();
    absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
    absl::StatusOr<std::set<std::string>> pending = sink_->Pending();
    if (states.ok() && pending.ok()) {
      for (const v1::IncidentState& s : *states) {
        if (s.status() != v1::IncidentState::open || pending->contains(s.id())) continue;
        absl::StatusOr<v1::TriageReport> report = store_.GetReport(s.id());
        if (report.ok()) {
          if (absl::Status st = sink_->Send(s, *report, false, 0); !st.ok()) {
            Failed("queue a re-send", st);
          }
        }
      }
    } else {
      Failed("read incidents to re-send", !states.ok() ? states.status() : pending.status());
    }
    lock.lock();
  }
}

absl::StatusOr<std::set<std::string>> AlertRouter::ActiveFingerprints() const {
  // Prometheus sends every alert to every Alertmanager of a cluster, so the
  // ones that answer list every active alert between them.
  std::set<std::string> out;
  absl::Status last;
  bool answered = false;
  for (const std::string& url : alerts_urls_) {
    absl::Status s = AddActiveFingerprints(url, &out);
    if (s.ok()) {
      answered = true;
    } else {
      last = s;
    }
  }
  if (!answered) return last;
  return out;
}

absl::Status AlertRouter::AddActiveFingerprints(const std::string& alerts_url,
                                                std::set<std::string>* out) const {
  absl::StatusOr<net::HttpClientResponse> r =
      client_->Get(alerts_url + "?active=true&silenced=true&inhibited=true&unprocessed=true");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(absl::StrFormat("Alertmanager answered %d", r->status));
  }
  absl::StatusOr<collectors::JsonValue> alerts = collectors::ParseJson(r->body);
  if (!alerts.ok()) return alerts.status();
  if (alerts->type != collectors::JsonValue::Type::kArray) {
    return absl::DataLossError("Alertmanager's alerts are not a JSON array");
  }
  for (const collectors::JsonValue& a : alerts->items) {
    const collectors::JsonValue* fp = a.Find("fingerprint");
    if (fp != nullptr && fp->type == collectors::JsonValue::Type::kString) out->insert(fp->text);
  }
  return absl::OkStatus();
}

void AlertRouter::Reconcile() {
  if (options_.resolve_missing_after_ms <= 0) return;
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) return Failed("read incidents to reconcile", states.status());
  if (std::none_of(states->begin(), states->end(), [](const v1::IncidentState& s) {
        return s.status() == v1::IncidentState::open;
      })) {
    missing_since_.clear();
    return;
  }
  absl::StatusOr<std::set<std::string>> active = ActiveFingerprints();
  if (!active.ok()) return;  // Alertmanager unreachable: nothing is known, nothing changes.
  const int64_t now = clock_.NowMs();
  std::map<std::string, int64_t> still_missing;
  v1::AlertmanagerWebhook hook;
  hook.set_version("4");
  hook.set_status("resolved");
  hook.set_receiver("triaged-reconcile");
  for (const v1::IncidentState& s : *states) {
    if (s.status() != v1::IncidentState::open) continue;
    for (const v1::AlertInstance& a : s.alerts()) {
      if (a.status() == v1::AlertInstance::resolved || active->contains(a.fingerprint())) continue;
      auto [it, _] = missing_since_.try_emplace(a.fingerprint(), now);
      still_missing[a.fingerprint()] = it->second;
      if (now - it->second < options_.resolve_missing_after_ms) continue;
      v1::WebhookAlert* w = hook.add_alerts();
      w->set_status("resolved");
      w->set_fingerprint(a.fingerprint());
      *w->mutable_labels() = a.labels();
      *w->mutable_starts_at() = a.starts_at();
      *w->mutable_ends_at() = FromMs(it->second);
    }
  }
  missing_since_ = std::move(still_missing);
  if (hook.alerts_size() == 0) return;
  absl::StatusOr<v1::WebhookReply> r =
      Apply(hook, now,
            absl::StrFormat("Alertmanager has not listed %d of its alerts as active for %s: "
                            "resolved (a resolve muted by an inhibit rule reaches no webhook)",
                            hook.alerts_size(), FormatDuration(options_.resolve_missing_after_ms)));
  if (!r.ok()) Failed("resolve the incidents Alertmanager no longer lists", r.status());
}

void AlertRouter::RefreshGauges() {
  absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
  if (!states.ok()) return Failed("read incidents for the gauges", states.status());
  metrics_.incidents_open.Set(static_cast<double>(std::count_if(
      states->begin(), states->end(),
      [](const v1::IncidentState& s) { return s.status() == v1::IncidentState::open; })));
}

}  // namespace triage::core
