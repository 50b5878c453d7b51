// WorkerPool: the HTTP server's handlers run here, off the I/O threads, with
// a bound on what may wait (past it the server answers 503).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace triage::net {

// A fixed set of threads running tasks from a bounded queue.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued);
  ~WorkerPool() { Stop(); }

  // False when the queue is full (the caller answers 503).
  bool Submit(std::function<void()> task);

  // Runs what is queued, then joins the threads.
  void Stop();

 private:
  void Run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace triage::net
