// Core: the daemon's domain operations, shared by the gRPC services and the
// HTTP endpoints: validated writes, bundle ingest (with the walk for an
// incident record), triage for an alert spec, incidents, the change-log
// overlay, and the tree (get, check, reload).
//
// Thread safety: every method may be called concurrently. The tree is
// swapped atomically on reload; a walk uses the tree it started with.
// Core does not own the store, clock or metrics; they must outlive it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collectors/change_event.h"
#include "collectors/change_sources.h"
#include "collectors/validate.h"
#include "rules/stats.h"
#include "rules/tree.h"
#include "triage/base/clock.h"
#include "triage/replay/replay.h"
#include "triage/core/known_series.h"
#include "triage/base/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/service.pb.h"

namespace triage::core {

struct CoreOptions {
  std::string tree_path;             // Empty: the built-in default tree.
  size_t max_body_bytes = 16 << 20;  // Limit of one write's body (decoded, for snappy).
  uint64_t max_bundle_bytes = uint64_t{1} << 30;  // Limit of a bundle (decompressed).
  int32_t default_max_points = 1000;
  int64_t max_window_ms = 35LL * 24 * 60 * 60 * 1000;
  collectors::Limits limits;          // What one request may hold.
  int32_t max_incidents_page = 500;   // ListIncidents page size at most ...
  size_t max_reply_bytes = 16 << 20;  // ... and a page's bytes at most.
  // Where walks and the overlay read series and features (not owned; the
  // store when null): a metrics source (--metrics-url).
  const rules::MetricSource* metric_source = nullptr;
  const rules::FeatureSource* feature_source = nullptr;
  int32_t max_metric_queries = 64;  // Series reads one walk may make.
  // remote_write's series ids by label bytes kept at most (--max-series).
  size_t max_known_series = 1 << 20;
  // How other systems' change events map to changes (--change-sources-file).
  collectors::ChangeSources change_sources;
  // The on-call rotation for drill coverage, beside the tree's settings.roster (--roster).
  std::vector<std::string> roster;
};

class Core {
 public:
  // Loads the tree from options.tree_path (or the default tree).
  static absl::StatusOr<std::unique_ptr<Core>> Create(store::Store& store, const Clock& clock,
                                                      Metrics& metrics, CoreOptions options);

  // Validates and writes records (one atomic batch).
  absl::StatusOr<v1::IngestResponse> Write(const v1::RecordBatch& batch);
  // A bundle as NDJSON, gzip-compressed or not, pulled in pieces (the
  // incident record optional): streamed, all or nothing (replay::Ingest),
  // errors as "NAME:LINE: field: problem" lines. An incident record is stored
  // and walked as of its alerts' fired_at; the report is stored and returned.
  absl::StatusOr<v1::IngestResponse> IngestBundle(std::string_view name, const replay::Pull& pull);
  // One change event as JSON (webhooks, CI): time defaults to now and id to a
  // fresh one.
  absl::StatusOr<v1::IngestResponse> AddChange(std::string_view json);
  // Changes read from other systems' events (CloudEvents, AWS Health,
  // GitHub), counted under `origin`: one equal to the stored change of its
  // id is a redelivery (nothing stored, "duplicate"); a different one
  // replaces it ("updated"); the rest are stored. Ignored events are counted
  // and listed in the response.
  absl::StatusOr<v1::IngestResponse> AddEventChanges(std::string_view origin,
                                                     collectors::EventChanges events);
  // Called with the changes each write stored under ids new to the store
  // (not bundles: those are recordings). Set before serving.
  using ChangeListener = std::function<void(const std::vector<v1::Change>&)>;
  void SetChangeListener(ChangeListener listener) { change_listener_ = std::move(listener); }
  // Called after each write of records other than series points (what a
  // walk may read differently now) with the span of their times. Set
  // before serving.
  using RecordsListener = std::function<void(int64_t from_ms, int64_t to_ms)>;
  void SetRecordsListener(RecordsListener listener) { records_listener_ = std::move(listener); }
  // One remote_write 1.0 body (snappy + protobuf).
  absl::StatusOr<v1::IngestResponse> RemoteWrite(std::string_view body);

  absl::StatusOr<v1::TriageReport> Triage(const v1::TriageRequest& request);
  // Walks the tree for a stored-or-new incident (as of its alerts' fired_at)
  // and stores the incident and the report.
  absl::StatusOr<v1::TriageReport> TriageIncident(const v1::Incident& incident);
  // KL drift of every feature of `service` at `now_ms`, by the tree's
  // feature_drift category (empty when the tree has none): the
  // triage_feature_kl gauges.
  absl::StatusOr<std::vector<v1::FeatureDrift>> FeatureDrift(const std::string& service,
                                                             int64_t now_ms);
  // Sets triage_feature_kl for every feature with histograms, at the clock's now.
  void RefreshDriftGauges();
  absl::StatusOr<v1::IncidentView> GetIncident(const std::string& id);
  // A page of incidents (request.page_token onwards), each with its report
  // and alert state; next_page_token is set when more remain.
  absl::StatusOr<v1::ListIncidentsResponse> ListIncidents(const v1::ListIncidentsRequest& request);
  absl::StatusOr<v1::OverlayResponse> Overlay(const v1::OverlayRequest& request);
  // The change kinds and overlay windows (what a client would repeat).
  v1::Vocabulary Vocabulary() const;

  std::shared_ptr<const v1::Tree> tree() const;
  v1::CheckTreeResponse CheckTree(const std::string& text) const;
  // Replaces the tree with request.text, or re-reads the tree file when
  // empty. The candidate first replays every stored incident with a known
  // root cause; a tree that no longer localizes one is refused
  // (FailedPrecondition listing each) unless request.force.
  // A tree installed with its text is an event (store/events.h): replicas
  // install the latest.
  absl::StatusOr<v1::ReloadTreeResponse> ReloadTree(const v1::ReloadTreeRequest& request);
  // A tree a peer replica installed: logged, and installed when it is the
  // latest this replica knows (by installed_ms).
  absl::Status InstallTreeEvent(const v1::Event& event);
  // Installs the latest tree event this store logged (a replica's start).
  absl::Status InstallLatestTreeEvent();
  // Records an incident's root cause (required: a category id of the tree or
  // "unknown", which opens an action item), resolves it, and keeps the cause
  // as the incident's expected category.
  absl::StatusOr<v1::IncidentView> ResolveIncident(const v1::ResolveIncidentRequest& request);
  // The same as of `now_ms` (a resolution's event from a peer replica: once).
  absl::StatusOr<v1::IncidentView> ResolveIncidentAt(const v1::ResolveIncidentRequest& request,
                                                     int64_t now_ms);
  // A complete bundle for a stored incident: the incident (expected = the
  // recorded root cause), the dependency graph, and every record its walk
  // reads (7 d of the alerted and traffic series, 30 d of histograms of
  // deps(S), the change window, upstream reports, eval sets, probes).
  absl::StatusOr<v1::ExportIncidentResponse> ExportIncident(const std::string& id);
  // The incident practice per quarter and team (review.h).
  absl::StatusOr<v1::ReviewResponse> Review(const v1::ReviewRequest& request);

  const CoreOptions& options() const { return options_; }
  // Serialises every read-modify-write of incident states (resolutions
  // here, webhooks and walks in the router).
  std::mutex& incidents_mu() { return incidents_mu_; }
  int64_t NowMs() const { return clock_.NowMs(); }
  // OK while the store takes writes; else why not (/readyz).
  absl::Status Writable() const { return store_.Writable(); }
  // Sets the store's gauges (series, writable, free bytes) before a scrape.
  void UpdateGauges();
  // Counts the limits a refused input went past (triage_limit_rejections_total)
  // and returns `s`.
  absl::Status Refused(absl::Status s);

 private:
  Core(store::Store& store, const Clock& clock, Metrics& metrics, CoreOptions options,
       v1::Tree tree);
  absl::StatusOr<v1::TriageReport> Walk(const v1::Incident& incident);
  // The overlay's series over [start, end] (the mean of those the query
  // draws, or of a cohort's and of the rest), from the metrics source or the
  // store; sets query, source and series_count on `response`.
  struct OverlayMeans {
    std::vector<rules::TimedValue> all;   // Or the cohort's, with request.cohort_*.
    std::vector<rules::TimedValue> rest;  // The other values of the cohort's dimension.
  };
  absl::StatusOr<OverlayMeans> OverlaySeries(const v1::OverlayRequest& request, int64_t start,
                                             int64_t end, v1::OverlayResponse* response);
  // What walks read: the store (and, with a metrics source, that for series).
  rules::Sources Sources() const;
  void ObserveWalk(double ms);
  // Root causes recorded for stored incidents other than `except_id`.
  absl::StatusOr<rules::RootCauseHistory> History(const std::string& except_id);
  void Count(const v1::RecordBatch& batch, v1::IngestResponse* response);
  // Raises triage_change_feed_last_event_timestamp_seconds to these changes' times.
  void NoteChangeFeeds(const google::protobuf::RepeatedPtrField<v1::Change>& changes);
  // Sets it from every change the store holds (at start, after a bundle).
  void NoteStoredChangeFeeds();
  // Tells the records listener about a stored batch (not series alone).
  void Wrote(const v1::RecordBatch& batch);
  // Writes a batch with changes: ids new to the store go to the listener.
  absl::Status WriteWithChanges(const v1::RecordBatch& batch) ABSL_LOCKS_EXCLUDED(changes_mu_);
  // remote_write of series all in known_series_ (the steady state; read by
  // ScanWriteRequest): their points straight to the store's head. nullopt:
  // take the whole way.
  std::optional<absl::StatusOr<v1::IngestResponse>> RemoteWriteKnown(
      std::span<const collectors::WireSeries> series,
      std::span<const collectors::WireSample> samples);

  store::Store& store_;
  const Clock& clock_;
  Metrics& metrics_;
  const CoreOptions options_;
  std::atomic<uint32_t> next_change_suffix_{0};
  ChangeListener change_listener_;
  RecordsListener records_listener_;
  std::mutex incidents_mu_;
  // Serializes writes of changes: "new to the store" is decided and written at once.
  absl::Mutex changes_mu_;
  KnownSeries known_series_;
  std::mutex feeds_mu_;  // Serializes raising the feed gauges.
  mutable absl::Mutex tree_mu_;
  std::shared_ptr<const v1::Tree> tree_ ABSL_GUARDED_BY(tree_mu_);
  int64_t tree_installed_ms_ ABSL_GUARDED_BY(tree_mu_) = 0;  // 0: the file's (or default).
};

// Downsamples time-ordered points to at most `max_points`, keeping the
// minimum and maximum of each of max_points / 2 equal-width time buckets.
std::vector<rules::TimedValue> Downsample(const std::vector<rules::TimedValue>& points,
                                          int32_t max_points);

}  // namespace triage::core
