#include "triage/core/walker.h"

#include <algorithm>

namespace triage::core {

void Walker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void Walker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Walker::Enqueue(std::string id, int64_t received_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // One walk queued per incident: it reads what is stored when it runs.
    auto queued = std::find_if(queue_.begin(), queue_.end(),
                               [&](const auto& q) { return q.first == id; });
    if (queued == queue_.end()) {
      queue_.emplace_back(std::move(id), received_ms);
    } else if (queued->second == 0) {
      queued->second = received_ms;
    }
  }
  cv_.notify_all();
}

void Walker::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return (queue_.empty() && walking_ == 0) || stopping_; });
}

void Walker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [id, received] = std::move(queue_.front());
    queue_.pop_front();
    ++walking_;
    lock.unlock();
    walk_(id, received);
    lock.lock();
    --walking_;
    cv_.notify_all();
  }
}

}  // namespace triage::core
