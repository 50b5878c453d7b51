// GrafanaSink: every new change event as an annotation in Grafana (POST
// {url}/api/annotations with a service-account token), so dashboards a team
// already has show the same markers through an annotation query by tag
// (the "-- Grafana --" data source, Filter by: Tags, tags "triage" and the
// service). Through a DeliveryQueue: persisted, bounded, delivered once
// each, in order, retried with backoff while Grafana is down.
//
// Thread-safe; Start() runs the deliverer. Store, clock and metrics are not
// owned and must outlive the sink.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "triage/base/clock.h"
#include "triage/sinks/delivery_queue.h"
#include "triage/net/http_client.h"
#include "triage/base/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/records.pb.h"

namespace triage::sinks {

struct GrafanaOptions {
  std::string url;           // Grafana's base URL (https://grafana.example.com).
  net::HttpClientOptions client;  // Its token (bearer_token), CA, timeout.
  size_t max_queue = 10'000;
  // Replicas (--peer): whether this replica writes annotations now (the
  // one at position 0, or the next while it is unreachable). Set, each
  // annotation is also tagged change:<id> and skipped when Grafana has that
  // tag already; a replica not writing keeps it queued, retried every
  // second or two, until another has written it or this one takes over.
  // Empty: a single triaged, which always writes.
  std::function<bool()> writes;
};

// The annotation for a change: {"time": ms, "tags": ["triage", kind,
// service], "text": kind, service, version, summary, actor and link}; with
// `id_tag`, the tags end with "change:<id>".
std::string AnnotationBody(const v1::Change& change, bool id_tag = false);
// The tag of a change's annotation among replicas.
std::string ChangeTag(const v1::Change& change);

class GrafanaSink {
 public:
  // InvalidArgument when the URL or the client's files do not load.
  static absl::StatusOr<std::unique_ptr<GrafanaSink>> Create(store::Store& store,
                                                             const Clock& clock, Metrics& metrics,
                                                             GrafanaOptions options);
  // Queues the change's annotation (persisted before it returns).
  absl::Status Annotate(const v1::Change& change);
  void Start() { queue_.Start(); }
  void Stop() { queue_.Stop(); }
  int64_t DeliverDue() { return queue_.DeliverDue(); }

 private:
  GrafanaSink(store::Store& store, const Clock& clock, Metrics& metrics, GrafanaOptions options,
              std::unique_ptr<net::HttpClient> client);

  const GrafanaOptions options_;
  // POSTs the annotation unless Grafana has it (replicas) or another
  // replica is to write it.
  absl::Status Post(const v1::Delivery& d) const;
  // Whether Grafana holds an annotation tagged `tag`.
  absl::StatusOr<bool> Tagged(const std::string& tag) const;

  const std::unique_ptr<net::HttpClient> client_;
  DeliveryQueue queue_;
};

}  // namespace triage::sinks
