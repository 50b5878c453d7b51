// Periodic: runs a function now and then every `interval_ms` on its own
// thread until destroyed (the triage_feature_kl gauges). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace triage {

class Periodic {
 public:
  Periodic(int64_t interval_ms, std::function<void()> fn)
      : interval_(interval_ms), fn_(std::move(fn)), thread_([this] { Loop(); }) {}
  ~Periodic() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    do {
      lock.unlock();
      fn_();
      lock.lock();
    } while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_), [&] { return stopping_; }));
  }

  const int64_t interval_;
  const std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // Last: starts once the rest is built.
};

}  // namespace triage
