#include "triage/core/core.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/bundle_reader.h"
#include "collectors/change_event.h"
#include "collectors/remote_write.h"
#include "collectors/validate.h"
#include "google/protobuf/arena.h"
#include "proto/model/time.h"
#include "rules/drift.h"
#include "rules/engine.h"
#include "rules/tree.h"
#include "triage/replay/replay.h"
#include "triage/store/events.h"

namespace triage::core {

Core::Core(store::Store& store, const Clock& clock, Metrics& metrics, CoreOptions options,
           v1::Tree tree)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      known_series_(options_.max_known_series > 0 ? options_.max_known_series : size_t{1} << 20),
      tree_(std::make_shared<const v1::Tree>(std::move(tree))) {}

absl::StatusOr<std::unique_ptr<Core>> Core::Create(store::Store& store, const Clock& clock,
                                                   Metrics& metrics, CoreOptions options) {
  absl::StatusOr<v1::Tree> tree =
      options.tree_path.empty() ? rules::DefaultTree() : rules::LoadTreeFile(options.tree_path);
  if (!tree.ok()) return tree.status();
  std::unique_ptr<Core> core(new Core(store, clock, metrics, std::move(options), std::move(*tree)));
  core->NoteStoredChangeFeeds();
  return core;
}

void Core::NoteChangeFeeds(const google::protobuf::RepeatedPtrField<v1::Change>& changes) {
  std::lock_guard<std::mutex> lock(feeds_mu_);
  for (const v1::Change& c : changes) {
    prometheus::Gauge& g = metrics_.change_feed_last_event.Add(
        {{"kind", c.kind()}, {"origin", c.origin().empty() ? "bundle" : c.origin()}});
    g.Set(std::max(g.Value(), static_cast<double>(ToMs(c.time())) / 1000));
  }
}

void Core::NoteStoredChangeFeeds() {
  absl::StatusOr<std::vector<v1::Change>> all = store_.ChangesBetween(
      std::numeric_limits<int64_t>::min() / 2, std::numeric_limits<int64_t>::max() / 2);
  if (!all.ok()) return;  // The gauges wait for the next change.
  google::protobuf::RepeatedPtrField<v1::Change> changes(all->begin(), all->end());
  NoteChangeFeeds(changes);
}

std::shared_ptr<const v1::Tree> Core::tree() const {
  absl::MutexLock lock(&tree_mu_);
  return tree_;
}

void Core::Count(const v1::RecordBatch& b, v1::IngestResponse* response) {
  std::map<std::string, int64_t> counts;
  replay::CountRecords(b, &counts);
  for (const auto& [kind, n] : counts) {
    (*response->mutable_accepted())[kind] += static_cast<int32_t>(n);
    metrics_.Ingested(kind).Increment(static_cast<double>(n));
  }
}

absl::Status Core::Refused(absl::Status s) {
  if (std::optional<v1::InputErrors> errors = collectors::InputErrorsOf(s)) {
    for (const v1::InputError& e : errors->errors()) {
      if (!e.limit().empty()) metrics_.limit_rejections.Add({{"limit", e.limit()}}).Increment();
    }
  }
  if (absl::IsFailedPrecondition(s)) {  // The series cap.
    metrics_.limit_rejections.Add({{"limit", "max_series"}}).Increment();
  }
  return s;
}

void Core::UpdateGauges() {
  metrics_.store_series.Set(static_cast<double>(store_.SeriesCount()));
  metrics_.store_writable.Set(store_.Writable().ok() ? 1 : 0);
  absl::StatusOr<uint64_t> free = store_.FreeBytes();
  if (free.ok()) metrics_.disk_free_bytes.Set(static_cast<double>(*free));
  metrics_.store_head_samples.Set(static_cast<double>(store_.HeadSamples()));
  metrics_.known_series.Set(static_cast<double>(known_series_.size()));
  for (const auto& [cf, bytes] : store_.TableBytes()) {
    metrics_.store_table_bytes.Add({{"cf", cf}}).Set(static_cast<double>(bytes));
  }
  if (absl::StatusOr<std::vector<v1::IncidentState>> states = store_.ListIncidentStates();
      states.ok()) {
    const int64_t now = clock_.NowMs();
    int overdue = 0;
    for (const v1::IncidentState& s : *states) {
      for (const v1::ActionItem& a : s.action_items()) {
        overdue += a.status() == v1::ActionItem::open && a.has_due() && ToMs(a.due()) < now;
      }
    }
    metrics_.action_items_overdue.Set(overdue);
  }
}

void Core::Wrote(const v1::RecordBatch& b) {
  NoteChangeFeeds(b.changes());
  if (!records_listener_) return;
  int64_t from = std::numeric_limits<int64_t>::max(), to = std::numeric_limits<int64_t>::min();
  auto at = [&](int64_t t) {
    from = std::min(from, t);
    to = std::max(to, t);
  };
  for (const v1::Change& c : b.changes()) at(ToMs(c.time()));
  for (const v1::Histogram& h : b.histograms()) at(ToMs(h.start())), at(ToMs(h.end()));
  for (const v1::Upstream& u : b.upstreams()) at(ToMs(u.time()));
  for (const v1::EvalSet& e : b.eval_sets()) at(ToMs(e.time()));
  for (const v1::DependencyHealth& d : b.dependency_health()) at(ToMs(d.time()));
  if (b.dependencies_size() > 0) {  // Timeless: every walk may read them.
    at(std::numeric_limits<int64_t>::min() / 2);
    at(std::numeric_limits<int64_t>::max() / 2);
  }
  if (from <= to) records_listener_(from, to);
}

absl::StatusOr<v1::IngestResponse> Core::Write(const v1::RecordBatch& batch) {
  collectors::InputErrorList errors;
  collectors::ValidateBatch(batch, options_.limits, &errors);
  if (!errors.empty()) return Refused(errors.ToStatus());
  absl::Status s = batch.changes_size() > 0 ? WriteWithChanges(batch) : store_.Write(batch);
  if (!s.ok()) return Refused(s);
  Wrote(batch);
  v1::IngestResponse response;
  Count(batch, &response);
  return response;
}

absl::StatusOr<v1::IngestResponse> Core::IngestBundle(std::string_view name,
                                                      const replay::Pull& pull) {
  replay::IngestOptions options{.read = {.require_incident = false, .limits = options_.limits},
                                .max_bytes = options_.max_bundle_bytes,
                                .sources = Sources(),
                                .history = [this](const std::string& id) { return History(id); }};
  absl::StatusOr<replay::Replayed> replayed = replay::Ingest(store_, name, pull, *tree(), options);
  if (!replayed.ok()) return Refused(replayed.status());
  v1::IngestResponse response;
  for (const auto& [kind, n] : replayed->records) {
    (*response.mutable_accepted())[kind] = static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
    metrics_.Ingested(kind).Increment(static_cast<double>(n));
  }
  if (replayed->records.contains("change")) NoteStoredChangeFeeds();
  // A bundle is not an event (each replica is sent it): walks that ran
  // before it arrived, a peer's repaired incidents among them, run again.
  if (records_listener_ && !replayed->records.empty()) {
    records_listener_(std::numeric_limits<int64_t>::min() / 2,
                      std::numeric_limits<int64_t>::max() / 2);
  }
  if (replayed->has_incident) {
    (*response.mutable_accepted())["incident"] = 1;
    metrics_.Ingested("incident").Increment();
    ObserveWalk(replayed->walk_ms);
    *response.mutable_report() = std::move(replayed->report);
  }
  return response;
}

absl::StatusOr<v1::IngestResponse> Core::RemoteWrite(std::string_view body) {
  std::string decoded;
  if (absl::Status s = collectors::Unsnappy(body, options_.max_body_bytes, &decoded); !s.ok()) {
    return Refused(s);
  }
  std::vector<collectors::WireSeries> wire;
  std::vector<collectors::WireSample> wire_samples;
  const bool plain = collectors::ScanWriteRequest(decoded, &wire, &wire_samples);
  if (plain) {
    if (auto known = RemoteWriteKnown(wire, wire_samples)) return *std::move(known);
  }
  google::protobuf::Arena arena;
  auto* batch = google::protobuf::Arena::CreateMessage<v1::RecordBatch>(&arena);
  int64_t samples = 0;
  if (absl::Status s = collectors::ParseWriteRequest(decoded, options_.limits, batch, &samples);
      !s.ok()) {
    return Refused(s);
  }
  if (absl::Status s = store_.Write(*batch); !s.ok()) return Refused(s);
  // Stored, so checked by the validator: their label bytes may stand for them now.
  if (plain && static_cast<int>(wire.size()) == batch->series_size()) {
    for (int i = 0; i < batch->series_size(); ++i) {
      if (std::optional<uint64_t> id = store_.SeriesIdOf(batch->series(i))) {
        known_series_.Learn(wire[static_cast<size_t>(i)].labels, *id);
      }
    }
  }
  v1::IngestResponse response;
  Count(*batch, &response);
  return response;
}

std::optional<absl::StatusOr<v1::IngestResponse>> Core::RemoteWriteKnown(
    std::span<const collectors::WireSeries> series,
    std::span<const collectors::WireSample> samples) {
  for (const collectors::WireSample& s : samples) {
    if (!collectors::PointTimeOk(options_.limits, s.t)) return std::nullopt;  // Its error.
  }
  std::optional<std::vector<store::HeadPoint>> points = known_series_.Points(series, samples);
  if (!points) return std::nullopt;
  std::optional<absl::Status> stored = store_.AppendPoints(*points);
  if (!stored) return std::nullopt;
  if (!stored->ok()) return Refused(*stored);
  v1::IngestResponse response;
  const std::pair<const char*, size_t> kinds[] = {{"series", series.size()},
                                                  {"sample", samples.size()}};
  for (const auto& [kind, n] : kinds) {
    if (n == 0) continue;
    (*response.mutable_accepted())[kind] += static_cast<int32_t>(n);
    metrics_.Ingested(kind).Increment(static_cast<double>(n));
  }
  return response;
}

absl::StatusOr<rules::RootCauseHistory> Core::History(const std::string& except_id) {
  absl::StatusOr<std::vector<v1::Incident>> incidents = store_.ListIncidents();
  if (!incidents.ok()) return incidents.status();
  rules::RootCauseHistory history;
  for (const v1::Incident& inc : *incidents) {
    const std::string& cause = inc.expected().category();
    if (inc.id() == except_id || cause.empty() || cause == "unknown") continue;
    ++history.total;
    ++history.counts[cause];
  }
  return history;
}

absl::StatusOr<v1::TriageReport> Core::Walk(const v1::Incident& incident) {
  std::shared_ptr<const v1::Tree> tree = this->tree();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<rules::RootCauseHistory> history = History(incident.id());
  if (!history.ok()) return history.status();
  absl::StatusOr<v1::TriageReport> report =
      rules::Engine(*tree, Sources(), &*history).Walk(incident);
  ObserveWalk(MsSince(start));
  return report;
}

void Core::ObserveWalk(double ms) {
  metrics_.walk_seconds.Observe(ms / 1000);
  metrics_.walks.Increment();
}

absl::StatusOr<v1::TriageReport> Core::Triage(const v1::TriageRequest& request) {
  const collectors::Limits& limits = options_.limits;
  if (request.alerts_size() == 0)
    return collectors::InvalidField("alerts", "needs at least one alert");
  if (static_cast<size_t>(request.alerts_size()) > limits.max_alerts) {
    return collectors::InvalidField(
        "alerts", absl::StrFormat("%d alerts, more than the limit of %d", request.alerts_size(),
                                  limits.max_alerts));
  }
  v1::Incident incident;
  int64_t at = request.has_at() ? ToMs(request.at()) : clock_.NowMs();
  std::string id = "adhoc:";
  for (const v1::AlertSpec& spec : request.alerts()) {
    v1::Alert* a = incident.add_alerts();
    a->set_service(spec.service());
    a->set_metric(spec.metric());
    *a->mutable_fired_at() = request.has_at() ? request.at() : FromMs(at);
    if (id.size() < 128)
      absl::StrAppend(&id, id.size() > 6 ? "," : "", spec.service(), "/", spec.metric());
  }
  incident.set_id(id.substr(0, limits.max_id_bytes));
  collectors::InputErrorList errors;
  collectors::Validate(incident, collectors::Origin{}, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  return Walk(incident);
}

absl::StatusOr<v1::TriageReport> Core::TriageIncident(const v1::Incident& incident) {
  absl::StatusOr<rules::RootCauseHistory> history = History(incident.id());
  if (!history.ok()) return history.status();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<v1::TriageReport> report =
      replay::WalkAndStore(store_, Sources(), incident, *tree(), &*history);
  ObserveWalk(MsSince(start));
  return report;
}

absl::StatusOr<std::vector<v1::FeatureDrift>> Core::FeatureDrift(const std::string& service,
                                                                 int64_t now_ms) {
  return rules::ServiceDrift(*tree(), store_, service, now_ms);
}

void Core::RefreshDriftGauges() {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> features = store_.Features();
  if (!features.ok()) return;
  std::set<std::string> services;
  for (const auto& [service, _] : *features) services.insert(service);
  const int64_t now = clock_.NowMs();
  for (const std::string& service : services) {
    absl::StatusOr<std::vector<v1::FeatureDrift>> drift = FeatureDrift(service, now);
    if (!drift.ok()) continue;
    for (const v1::FeatureDrift& d : *drift) {
      metrics_.feature_kl.Add({{"service", d.service()}, {"feature", d.feature()}}).Set(d.kl());
    }
  }
}

rules::Sources Core::Sources() const {
  return {.records = &store_,
          .metrics = options_.metric_source != nullptr ? options_.metric_source : &store_,
          .features = options_.feature_source != nullptr ? options_.feature_source : &store_,
          .max_metric_queries = options_.max_metric_queries};
}

v1::CheckTreeResponse Core::CheckTree(const std::string& text) const {
  v1::CheckTreeResponse response;
  for (std::string& p : rules::CheckTreeText("tree", text)) response.add_problems(std::move(p));
  response.set_ok(response.problems_size() == 0);
  return response;
}

absl::StatusOr<v1::ReloadTreeResponse> Core::ReloadTree(const v1::ReloadTreeRequest& request) {
  absl::StatusOr<v1::Tree> tree;
  if (!request.text().empty()) {
    tree = rules::ParseTree("tree", request.text());
  } else if (!options_.tree_path.empty()) {
    tree = rules::LoadTreeFile(options_.tree_path);
  } else {
    tree = rules::DefaultTree();
  }
  if (!tree.ok()) return tree.status();
  v1::ReloadTreeResponse response;
  absl::StatusOr<std::vector<v1::Incident>> incidents = store_.ListIncidents();
  if (!incidents.ok()) return incidents.status();
  for (const v1::Incident& incident : *incidents) {
    const std::string& expected = incident.expected().category();
    if (expected.empty() || expected == "unknown") continue;
    response.set_checked(response.checked() + 1);
    absl::StatusOr<v1::TriageReport> report = rules::Engine(*tree, Sources()).Walk(incident);
    if (!report.ok()) return report.status();
    if (report->localized_category() != expected) {
      response.add_broken(absl::StrFormat("%s: expected %s, got %s", incident.id(), expected,
                                          report->localized_category()));
    }
  }
  if (response.broken_size() > 0 && !request.force()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the tree no longer localizes %d of %d incidents with a recorded root cause (set force to "
        "install it anyway):\n%s",
        response.broken_size(), response.checked(), absl::StrJoin(response.broken(), "\n")));
  }
  *response.mutable_tree() = *tree;
  int64_t installed_ms = 0;
  if (!request.text().empty()) {
    const v1::Event installed = store::TreeInstalledEvent(request.text(), clock_.NowMs());
    if (absl::Status s = store_.PutEvents({&installed, 1}); !s.ok()) return s;
    installed_ms = installed.tree().installed_ms();
  }
  absl::MutexLock lock(&tree_mu_);
  tree_installed_ms_ = std::max(tree_installed_ms_, installed_ms);
  tree_ = std::make_shared<const v1::Tree>(std::move(*tree));
  return response;
}

absl::Status Core::InstallTreeEvent(const v1::Event& event) {
  absl::StatusOr<v1::Tree> tree = rules::ParseTree("tree", event.tree().text());
  if (!tree.ok()) return tree.status();
  if (absl::Status s = store_.PutEvents({&event, 1}); !s.ok()) return s;
  absl::MutexLock lock(&tree_mu_);
  if (event.tree().installed_ms() < tree_installed_ms_) return absl::OkStatus();  // Older.
  tree_installed_ms_ = event.tree().installed_ms();
  tree_ = std::make_shared<const v1::Tree>(std::move(*tree));
  return absl::OkStatus();
}

absl::Status Core::InstallLatestTreeEvent() {
  absl::StatusOr<std::vector<v1::Event>> events = store_.EventsWithPrefix(store::kTreeEventPrefix);
  if (!events.ok()) return events.status();
  const v1::Event* latest = nullptr;
  for (const v1::Event& e : *events) {
    if (latest == nullptr || e.tree().installed_ms() >= latest->tree().installed_ms()) latest = &e;
  }
  if (latest == nullptr) return absl::OkStatus();
  absl::StatusOr<v1::Tree> tree = rules::ParseTree("tree", latest->tree().text());
  if (!tree.ok()) {  // Written by a newer triaged, perhaps: the file's tree stays.
    std::cerr << "triaged: the latest installed tree does not parse: " << tree.status().message()
              << "\n";
    return absl::OkStatus();
  }
  absl::MutexLock lock(&tree_mu_);
  tree_installed_ms_ = latest->tree().installed_ms();
  tree_ = std::make_shared<const v1::Tree>(std::move(*tree));
  return absl::OkStatus();
}

}  // namespace triage::core
