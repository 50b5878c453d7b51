// DeliveryQueue: request bodies for a peer (Alertmanager's alerts, Grafana's
// annotations) through a queue persisted in the store (it survives
// restarts), bounded (past max_queue the oldest are dropped and counted),
// delivered once each, in order, with exponential backoff (0.25 s to 30 s)
// while the peer fails.
//
// Thread-safe. Start() runs the deliverer on its own thread; DeliverDue()
// is the same work done once, for tests on a fake clock. Store, clock and
// metrics are not owned and must outlive the queue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "triage/base/clock.h"
#include "triage/base/metrics.h"
#include "triage/store/store.h"
#include "triage/v1/alerts.pb.h"

namespace triage::sinks {

class DeliveryQueue {
 public:
  // POSTs a delivery's body to the peer; OK on a 2xx (or when the peer has
  // it already).
  using Poster = std::function<absl::Status(const v1::Delivery& d)>;
  // Called after each delivery, with the milliseconds since it was caused.
  using Delivered = std::function<void(const v1::Delivery& d, int64_t latency_ms)>;

  struct Options {
    store::Store::Queue queue;
    const char* name;  // "alertmanager sink", for logs.
    size_t max_queue = 10'000;
    int64_t max_backoff_ms = 30'000;  // Retries back off from 250 ms to this.
  };

  DeliveryQueue(store::Store& store, const Clock& clock, Metrics& metrics, QueueMetrics counters,
                Options options, Poster post, Delivered delivered = nullptr);
  ~DeliveryQueue() { Stop(); }

  // Queues `d` (persisted before it returns): seq and times are set here.
  absl::Status Enqueue(v1::Delivery d);
  void Start();
  void Stop();
  // Delivers what is due now, in order, stopping at the first failure (then
  // backing off). Returns when the next delivery is due.
  int64_t DeliverDue();
  absl::StatusOr<std::vector<v1::Delivery>> Waiting() const;

 private:
  void Loop();
  void Failed(const char* what, const absl::Status& s);

  store::Store& store_;
  const Clock& clock_;
  Metrics& metrics_;
  const QueueMetrics counters_;
  const Options options_;
  const Poster post_;
  const Delivered delivered_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace triage::sinks
