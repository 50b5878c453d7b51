#include "triage/base/metrics.h"

namespace triage {

Metrics::Metrics(prometheus::Registry& registry)
    : ingested_records(prometheus::BuildCounter()
                           .Name("triage_ingest_records_total")
                           .Help("Records stored, by record kind.")
                           .Register(registry)),
      rejected_requests(prometheus::BuildCounter()
                            .Name("triage_ingest_rejected_total")
                            .Help("Write requests rejected as bad input, by endpoint.")
                            .Register(registry)),
      http_requests(prometheus::BuildCounter()
                        .Name("triage_http_requests_total")
                        .Help("HTTP requests served, by route and status code.")
                        .Register(registry)),
      http_connections(prometheus::BuildGauge()
                           .Name("triage_http_connections")
                           .Help("Open HTTP connections.")
                           .Register(registry)
                           .Add({})),
      http_connections_refused(prometheus::BuildCounter()
                                   .Name("triage_http_connections_refused_total")
                                   .Help("Connections closed at once: --http-max-connections.")
                                   .Register(registry)
                                   .Add({})),
      http_timeouts(
          prometheus::BuildCounter()
              .Name("triage_http_timeouts_total")
              .Help("Connections closed because headers, a body or a write were too slow.")
              .Register(registry)
              .Add({})),
      http_bad_framing(prometheus::BuildCounter()
                           .Name("triage_http_bad_framing_total")
                           .Help("Requests with ambiguous or broken framing (400, closed).")
                           .Register(registry)
                           .Add({})),
      http_overloaded(prometheus::BuildCounter()
                          .Name("triage_http_overloaded_total")
                          .Help("Requests answered 503 because every worker was busy.")
                          .Register(registry)
                          .Add({})),
      limit_rejections(prometheus::BuildCounter()
                           .Name("triage_limit_rejections_total")
                           .Help("Input refused for going past a limit, by the limit.")
                           .Register(registry)),
      store_series(prometheus::BuildGauge()
                       .Name("triage_store_series")
                       .Help("Distinct series stored (capped by --max-series).")
                       .Register(registry)
                       .Add({})),
      store_writable(prometheus::BuildGauge()
                         .Name("triage_store_writable")
                         .Help("1 while the store takes writes, 0 while the disk is below its "
                               "reserve or a write failed.")
                         .Register(registry)
                         .Add({})),
      disk_free_bytes(prometheus::BuildGauge()
                          .Name("triage_disk_free_bytes")
                          .Help("Free bytes on the store's file system.")
                          .Register(registry)
                          .Add({})),
      store_head_samples(prometheus::BuildGauge()
                             .Name("triage_store_head_samples")
                             .Help("Points written but not yet in chunks (they go at "
                                   "--head-max-samples).")
                             .Register(registry)
                             .Add({})),
      known_series(prometheus::BuildGauge()
                       .Name("triage_remote_write_known_series")
                       .Help("Series remote_write knows by their label bytes (at most "
                             "--max-series).")
                       .Register(registry)
                       .Add({})),
      store_table_bytes(prometheus::BuildGauge()
                            .Name("triage_store_sst_bytes")
                            .Help("Bytes in the store's table files, by column family.")
                            .Register(registry)),
      drills_stored(prometheus::BuildGauge()
                        .Name("triage_drills_stored")
                        .Help("Drill stores kept on disk.")
                        .Register(registry)
                        .Add({})),
      auth_failures(prometheus::BuildCounter()
                        .Name("triage_auth_failures_total")
                        .Help("Requests refused 401, by reason (never the credentials).")
                        .Register(registry)),
      forbidden(prometheus::BuildCounter()
                    .Name("triage_forbidden_total")
                    .Help("Requests refused 403 for want of a role, by that role.")
                    .Register(registry)),
      insecure_listen(prometheus::BuildGauge()
                          .Name("triage_insecure_listen")
                          .Help("1 when --insecure-listen-any serves a non-loopback address "
                                "without a web config.")
                          .Register(registry)
                          .Add({})),
      web_config_reload_success(prometheus::BuildGauge()
                                    .Name("triage_web_config_last_reload_successful")
                                    .Help("1 when the web config last (re)loaded without error.")
                                    .Register(registry)
                                    .Add({})),
      walk_seconds(
          prometheus::BuildHistogram()
              .Name("triage_walk_duration_seconds")
              .Help("Time to walk the triage tree for one incident.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05, 0.1, 0.25, 0.5, 1})),
      walks(prometheus::BuildCounter()
                .Name("triage_walks_total")
                .Help("Walks of the triage tree.")
                .Register(registry)
                .Add({})),
      pages(prometheus::BuildCounter()
                .Name("triage_pages_total")
                .Help("Firing alerts received from Alertmanager (pages).")
                .Register(registry)
                .Add({})),
      incidents_open(prometheus::BuildGauge()
                         .Name("triage_incidents_open")
                         .Help("Incidents opened from alerts that are not resolved.")
                         .Register(registry)
                         .Add({})),
      queue_depth(prometheus::BuildGauge()
                      .Name("triage_enrichment_queue_depth")
                      .Help("Enriched alerts waiting to be delivered to Alertmanager.")
                      .Register(registry)
                      .Add({})),
      delivery_failures(prometheus::BuildCounter()
                            .Name("triage_enrichment_delivery_failures_total")
                            .Help("Failed attempts to deliver an enriched alert.")
                            .Register(registry)
                            .Add({})),
      deliveries(prometheus::BuildCounter()
                     .Name("triage_enrichment_deliveries_total")
                     .Help("Enriched alerts delivered to Alertmanager.")
                     .Register(registry)
                     .Add({})),
      deliveries_dropped(prometheus::BuildCounter()
                             .Name("triage_enrichment_dropped_total")
                             .Help("Enriched alerts dropped because the queue was full.")
                             .Register(registry)
                             .Add({})),
      alertmanager_errors(prometheus::BuildCounter()
                              .Name("triage_alertmanager_errors_total")
                              .Help("Posts of enriched alerts an Alertmanager refused or missed, "
                                    "by its --alertmanager-url index.")
                              .Register(registry)),
      enrichment_seconds(
          prometheus::BuildHistogram()
              .Name("triage_enrichment_seconds")
              .Help("Time from an Alertmanager webhook to its enriched alert accepted by "
                    "Alertmanager.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                               15, 30, 45, 60, 120})),
      annotation_queue_depth(prometheus::BuildGauge()
                                 .Name("triage_annotation_queue_depth")
                                 .Help("Change annotations waiting to be delivered to Grafana.")
                                 .Register(registry)
                                 .Add({})),
      annotation_failures(prometheus::BuildCounter()
                              .Name("triage_annotation_delivery_failures_total")
                              .Help("Failed attempts to deliver a change annotation to Grafana.")
                              .Register(registry)
                              .Add({})),
      annotations(prometheus::BuildCounter()
                      .Name("triage_annotation_deliveries_total")
                      .Help("Change annotations delivered to Grafana.")
                      .Register(registry)
                      .Add({})),
      annotations_dropped(prometheus::BuildCounter()
                              .Name("triage_annotation_dropped_total")
                              .Help("Change annotations dropped because the queue was full.")
                              .Register(registry)
                              .Add({})),
      mttr_minutes(prometheus::BuildHistogram()
                       .Name("triage_mttr_minutes")
                       .Help("Minutes from the first alert to the incident's resolution, by "
                             "category (the recorded root cause, else the localized one).")
                       .Register(registry)),
      time_to_localize_minutes(
          prometheus::BuildHistogram()
              .Name("triage_time_to_localize_minutes")
              .Help("Minutes from an incident's first alert to the walk's answer, by the "
                    "localized category.")
              .Register(registry)),
      localization_correct(prometheus::BuildCounter()
                               .Name("triage_localization_correct_total")
                               .Help("Recorded root causes, by whether the walk had localized "
                                     "that category (correct=\"true\"|\"false\").")
                               .Register(registry)),
      action_items_overdue(prometheus::BuildGauge()
                               .Name("triage_action_items_overdue")
                               .Help("Open action items past their due date.")
                               .Register(registry)
                               .Add({})),
      change_events(prometheus::BuildCounter()
                        .Name("triage_change_events_total")
                        .Help("Change events from webhooks (CloudEvents, AWS Health, GitHub) and "
                              "/api/v1/changes, by origin and result.")
                        .Register(registry)),
      change_feed_last_event(
          prometheus::BuildGauge()
              .Name("triage_change_feed_last_event_timestamp_seconds")
              .Help("The newest change time by kind and way in (origin; bundle for a recorded "
                    "one): a change feed silent for long is a blind spot.")
              .Register(registry)),
      feature_kl(
          prometheus::BuildGauge()
              .Name("triage_feature_kl")
              .Help("KL(last hour || 30-day baseline) of a feature, refreshed on a schedule.")
              .Register(registry)),
      store_write_failures(prometheus::BuildCounter()
                               .Name("triage_store_write_failures_total")
                               .Help("Background store writes that failed (also logged), by what.")
                               .Register(registry)),
      metrics_source_queries(
          prometheus::BuildCounter()
              .Name("triage_metrics_source_queries_total")
              .Help("Queries to the metrics source (--metrics-url), by endpoint and outcome.")
              .Register(registry)),
      metrics_source_seconds(prometheus::BuildHistogram()
                                 .Name("triage_metrics_source_query_duration_seconds")
                                 .Help("Latency of queries to the metrics source, by endpoint.")
                                 .Register(registry)) {}

prometheus::Counter& Metrics::Ingested(const std::string& kind) {
  return ingested_records.Add({{"kind", kind}});
}

prometheus::Counter& Metrics::Rejected(const std::string& endpoint) {
  return rejected_requests.Add({{"endpoint", endpoint}});
}

void Metrics::ObserveMinutes(prometheus::Family<prometheus::Histogram>& family,
                             const std::string& category, double minutes) {
  // From a minute to a day: localize in 15, mitigate in 60.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {1,  2,   5,   10,  15,  30,
                                                                   60, 120, 240, 480, 1440};
  family.Add({{"category", category.empty() ? "unknown" : category}}, kBuckets).Observe(minutes);
}

}  // namespace triage
