// Replicas (--peer): this triaged pulls from each peer the events it lacks
// (peer.proto's PeerService.Events from the cursor it keeps per peer) and
// applies each through the way in it came by (records as a write, an alert
// as a webhook, a resolution as of its time), so a replica that was down,
// partitioned or started empty converges to the others. It also says whether
// this replica writes Grafana annotations: the one at position 0, and the
// next only once every peer below it has been unreachable for timeout_ms.
//
// Metrics: triage_peer_lag_events{peer}, triage_peer_repairs_total{peer},
// triage_peer_refused_events_total{peer}, triage_peer_up{peer},
// triage_annotation_writer.
//
// Thread-safe; Start() runs one puller per peer until Stop(). Store, Core,
// the router and the registry are not owned and must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "triage/core/alerts.h"
#include "triage/core/drills.h"
#include "triage/core/core.h"
#include "triage/store/store.h"
#include "triage/v1/peer.grpc.pb.h"

namespace triage::peers {

struct ReplicaOptions {
  // --peer: each peer's gRPC address, host:port (plaintext, loopback only)
  // or https://host:port (TLS, this replica's certificate as the client's).
  std::vector<std::string> peers;
  int position = 0;               // --peer-position.
  int64_t timeout_ms = 15'000;    // --peer-timeout.
  int64_t interval_ms = 1'000;    // --peer-repair-interval: between pulls.
  int64_t call_timeout_ms = 30'000;
  uint32_t batch_events = 500;
  // For https peers: the web config's certificate and key (the client's),
  // and the CA that signed the peers' certificates (the client CA).
  std::string cert_file = "";
  std::string key_file = "";
  std::string ca_file = "";
};

class Replicas {
 public:
  // InvalidArgument for a peer address that does not parse, a plaintext
  // peer off loopback, or certificate files that do not load.
  static absl::StatusOr<std::unique_ptr<Replicas>> Create(ReplicaOptions options,
                                                          store::Store& store, core::Core& core,
                                                          prometheus::Registry& registry);
  ~Replicas();

  // The router alerts' events are applied through; set before Start.
  void SetRouter(core::AlertRouter* router) { router_ = router; }
  void SetDrills(core::Drills* drills) { drills_ = drills; }
  void Start();
  void Stop();
  // True while this replica is the one to write Grafana annotations.
  bool WritesAnnotations() const;
  // Pulls from peer `i` once, now (tests).
  absl::Status PullOnce(size_t i);

 private:
  struct Peer {
    std::string address;  // As given.
    std::unique_ptr<v1::PeerService::Stub> stub;
    prometheus::Gauge* lag = nullptr;
    prometheus::Gauge* up = nullptr;
    prometheus::Counter* repairs = nullptr;
    prometheus::Counter* refused = nullptr;
    std::atomic<int> position{-1};  // -1: not heard from yet.
    std::atomic<int64_t> last_ok_ms{0};  // Steady clock; 0: never.
    std::thread thread;
  };
  Replicas(ReplicaOptions options, store::Store& store, core::Core& core,
           prometheus::Registry& registry);
  void Loop(Peer& peer);
  absl::Status Pull(Peer& peer);
  // Applies a batch's events in order, moving *seq past each one applied;
  // the record events this replica lacks go in runs of up to kRunEvents
  // written at once (one write, one sync; a run with a refused record is
  // applied one by one).
  absl::Status ApplyBatch(Peer& peer, const v1::EventBatch& batch, uint64_t* seq);
  static constexpr size_t kRunEvents = 500;
  // Applies one event; an event the way in refuses is skipped (counted),
  // any other failure stops the pull (retried next time).
  absl::Status Apply(Peer& peer, const v1::Event& event);
  static int64_t SteadyMs();

  const ReplicaOptions options_;
  store::Store& store_;
  core::Core& core_;
  core::AlertRouter* router_ = nullptr;
  core::Drills* drills_ = nullptr;
  prometheus::Gauge& writer_;
  const int64_t started_ms_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace triage::peers
