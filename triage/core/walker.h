// Walker: a queue of incident walks run on one thread, so a webhook is
// answered before its walk runs. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace triage::core {

class Walker {
 public:
  // Walks one incident; `received_ms` is when the webhook that asked arrived.
  using WalkFn = std::function<void(const std::string& id, int64_t received_ms)>;

  explicit Walker(WalkFn walk) : walk_(std::move(walk)) {}
  ~Walker() { Stop(); }

  void Start();
  // Finishes the walk in progress, drops the queued ones, joins the thread.
  void Stop();
  // Queues a walk of `id` (received_ms 0: a re-walk, nothing waits on it);
  // an incident already queued is walked once.
  void Enqueue(std::string id, int64_t received_ms);
  // Blocks until the queue is empty and no walk runs (tests).
  void WaitIdle();

 private:
  void Loop();

  const WalkFn walk_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, int64_t>> queue_;
  int walking_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace triage::core
