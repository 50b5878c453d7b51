#include "triage/sinks/delivery_queue.h"

#include <algorithm>
#include <iostream>

namespace triage::sinks {

DeliveryQueue::DeliveryQueue(store::Store& store, const Clock& clock, Metrics& metrics,
                             QueueMetrics counters, Options options, Poster post,
                             Delivered delivered)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      counters_(counters),
      options_(options),
      post_(std::move(post)),
      delivered_(std::move(delivered)) {}

void DeliveryQueue::Failed(const char* what, const absl::Status& s) {
  metrics_.store_write_failures.Add({{"what", what}}).Increment();
  std::cerr << "triaged: " << options_.name << ": " << what << ": " << s.message() << "\n";
}

absl::Status DeliveryQueue::Enqueue(v1::Delivery d) {
  const int64_t now = clock_.NowMs();
  d.set_next_attempt_ms(now);
  d.set_enqueued_ms(now);
  std::vector<v1::Delivery> dropped;
  absl::StatusOr<uint64_t> seq =
      store_.EnqueueDelivery(options_.queue, d, options_.max_queue, &dropped);
  if (!seq.ok()) {
    Failed("enqueue delivery", seq.status());
    return seq.status();
  }
  counters_.dropped.Increment(static_cast<double>(dropped.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Delivery>> DeliveryQueue::Waiting() const {
  return store_.Deliveries(options_.queue);
}

int64_t DeliveryQueue::DeliverDue() {
  const int64_t now = clock_.NowMs();
  int64_t next_due = now + 1000;
  absl::StatusOr<std::vector<v1::Delivery>> queue = store_.Deliveries(options_.queue);
  if (!queue.ok()) {
    Failed("read deliveries", queue.status());
    return next_due;
  }
  size_t left = queue->size();
  for (v1::Delivery& d : *queue) {
    if (d.next_attempt_ms() > now) {  // Backing off: the ones behind it wait too.
      next_due = std::min(next_due, d.next_attempt_ms());
      break;
    }
    absl::Status posted = post_(d);
    if (!posted.ok()) {
      counters_.failures.Increment();
      d.set_attempts(d.attempts() + 1);
      const int64_t backoff = std::min<int64_t>(options_.max_backoff_ms, 250LL << std::min(d.attempts(), 7));
      d.set_next_attempt_ms(clock_.NowMs() + backoff);
      if (absl::Status s = store_.UpdateDelivery(options_.queue, d); !s.ok()) {
        Failed("update delivery", s);
      }
      next_due = std::min(next_due, d.next_attempt_ms());
      break;  // The peer is down: keep the order, wait for the backoff.
    }
    counters_.delivered.Increment();
    --left;
    // A failed delete delivers the body again later (at least once).
    if (absl::Status s = store_.DeleteDelivery(options_.queue, d.seq()); !s.ok()) {
      Failed("delete delivery", s);
    }
    if (d.received_ms() > 0 && delivered_) delivered_(d, clock_.NowMs() - d.received_ms());
  }
  counters_.depth.Set(static_cast<double>(left));
  return next_due;
}

void DeliveryQueue::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void DeliveryQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeliveryQueue::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const int64_t next_due = DeliverDue();
    lock.lock();
    cv_.wait_for(lock,
                 std::chrono::milliseconds(std::clamp<int64_t>(next_due - clock_.NowMs(), 5, 1000)),
                 [&] { return stopping_ || wake_; });
    wake_ = false;
  }
}

}  // namespace triage::sinks
