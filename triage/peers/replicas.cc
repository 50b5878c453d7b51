#include "triage/peers/replicas.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace triage::peers {

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("cannot read %s", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool LoopbackHost(const std::string& host) {
  return absl::StartsWith(host, "127.") || host == "localhost" || host == "::1" ||
         host == "[::1]";
}

// The channel to `address` (see ReplicaOptions::peers).
absl::StatusOr<std::shared_ptr<grpc::Channel>> Channel(const std::string& address,
                                                       const ReplicaOptions& o) {
  std::string target = address;
  const bool tls = absl::StartsWith(target, "https://");
  if (tls) target = target.substr(8);
  if (absl::StartsWith(target, "http://")) target = target.substr(7);
  if (target.empty() || target.back() == '/' || target.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--peer %s: want host:port or https://host:port", address));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (!tls) {
    if (!LoopbackHost(target.substr(0, target.rfind(':')))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--peer %s: a peer off loopback needs https:// (mTLS with the web config's "
          "certificates)",
          address));
    }
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  if (o.cert_file.empty() || o.ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--peer %s: https needs the web config's tls_server_config (cert_file, key_file, "
        "client_ca_file)",
        address));
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFile(o.ca_file);
  absl::StatusOr<std::string> cert = ReadFile(o.cert_file);
  absl::StatusOr<std::string> key = ReadFile(o.key_file);
  for (const auto* s : {&ca, &cert, &key}) {
    if (!s->ok()) return s->status();
  }
  ssl.pem_root_certs = *ca;
  ssl.pem_cert_chain = *cert;
  ssl.pem_private_key = *key;
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

// Refusals of the way in: the event is skipped; anything else is retried.
bool Refusal(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

}  // namespace

int64_t Replicas::SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<Replicas>> Replicas::Create(ReplicaOptions options,
                                                           store::Store& store, core::Core& core,
                                                           prometheus::Registry& registry) {
  if (options.position < 0) return absl::InvalidArgumentError("--peer-position: must be >= 0");
  std::unique_ptr<Replicas> r(new Replicas(options, store, core, registry));
  auto& lag = prometheus::BuildGauge()
                  .Name("triage_peer_lag_events")
                  .Help("Events in a peer's log this replica has not pulled yet")
                  .Register(registry);
  auto& up = prometheus::BuildGauge()
                 .Name("triage_peer_up")
                 .Help("1 when the last pull from the peer worked")
                 .Register(registry);
  auto& repairs = prometheus::BuildCounter()
                      .Name("triage_peer_repairs_total")
                      .Help("Events pulled from a peer that this replica lacked, applied")
                      .Register(registry);
  auto& refused = prometheus::BuildCounter()
                      .Name("triage_peer_refused_events_total")
                      .Help("Events pulled from a peer that the way in refused (skipped)")
                      .Register(registry);
  for (const std::string& address : options.peers) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Channel(address, options);
    if (!channel.ok()) return channel.status();
    auto peer = std::make_unique<Peer>();
    peer->address = address;
    peer->stub = v1::PeerService::NewStub(*channel);
    peer->lag = &lag.Add({{"peer", address}});
    peer->up = &up.Add({{"peer", address}});
    peer->repairs = &repairs.Add({{"peer", address}});
    peer->refused = &refused.Add({{"peer", address}});
    r->peers_.push_back(std::move(peer));
  }
  r->writer_.Set(r->WritesAnnotations() ? 1 : 0);
  return r;
}

Replicas::Replicas(ReplicaOptions options, store::Store& store, core::Core& core,
                   prometheus::Registry& registry)
    : options_(std::move(options)),
      store_(store),
      core_(core),
      writer_(prometheus::BuildGauge()
                  .Name("triage_annotation_writer")
                  .Help("1 while this replica is the one writing Grafana annotations")
                  .Register(registry)
                  .Add({})),
      started_ms_(SteadyMs()) {}

Replicas::~Replicas() { Stop(); }

void Replicas::Start() {
  for (auto& p : peers_) {
    Peer* peer = p.get();
    peer->thread = std::thread([this, peer] { Loop(*peer); });
  }
}

void Replicas::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& p : peers_) {
    if (p->thread.joinable()) p->thread.join();
  }
}

bool Replicas::WritesAnnotations() const {
  const int64_t now = SteadyMs();
  for (const auto& p : peers_) {
    const int position = p->position.load();
    if (position >= 0 && position >= options_.position) continue;
    if (position < 0 && options_.position == 0) continue;
    // Below this one, or not heard from yet: it writes while reachable.
    const int64_t seen = std::max(p->last_ok_ms.load(), started_ms_);
    if (now - seen < options_.timeout_ms) return false;
  }
  return true;
}

void Replicas::Loop(Peer& peer) {
  std::string last_error;
  while (true) {
    absl::Status s = Pull(peer);
    peer.up->Set(s.ok() ? 1 : 0);
    writer_.Set(WritesAnnotations() ? 1 : 0);
    if (!s.ok() && std::string(s.message()) != last_error) {
      std::cerr << "triaged: peer " << peer.address << ": " << s.message() << "\n";
    }
    last_error = s.ok() ? "" : std::string(s.message());
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms),
                     [this] { return stopping_; })) {
      return;
    }
  }
}

absl::Status Replicas::PullOnce(size_t i) { return Pull(*peers_.at(i)); }

absl::Status Replicas::Pull(Peer& peer) {
  absl::StatusOr<store::Store::Cursor> cursor = store_.PeerCursor(peer.address);
  if (!cursor.ok()) return cursor.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(options_.call_timeout_ms));
  v1::EventsRequest request;
  request.set_after(cursor->seq);
  request.set_max_events(options_.batch_events);
  std::unique_ptr<grpc::ClientReader<v1::EventBatch>> reader = peer.stub->Events(&ctx, request);
  v1::EventBatch batch;
  absl::Status failed;
  bool new_log = false;
  while (reader->Read(&batch)) {
    peer.last_ok_ms = SteadyMs();
    peer.position = batch.position();
    if (batch.log_id() != cursor->log_id) {
      // A log this cursor is not of (the peer started on an empty data dir).
      *cursor = {.log_id = batch.log_id(), .seq = 0};
      if (request.after() != 0) {
        new_log = true;
        break;
      }
    }
    failed = ApplyBatch(peer, batch, &cursor->seq);
    if (absl::Status s = store_.PutPeerCursor(peer.address, *cursor); !s.ok()) failed = s;
    peer.lag->Set(static_cast<double>(batch.head() > cursor->seq ? batch.head() - cursor->seq : 0));
    if (!failed.ok() || batch.events_size() == 0) break;
  }
  if (!failed.ok() || new_log) ctx.TryCancel();
  grpc::Status st = reader->Finish();
  if (!failed.ok()) return failed;
  if (new_log) {
    std::cerr << "triaged: peer " << peer.address << " has a new log: pulling it from its start\n";
    if (absl::Status s = store_.PutPeerCursor(peer.address, *cursor); !s.ok()) return s;
    return Pull(peer);
  }
  if (!st.ok()) return absl::UnavailableError(absl::StrFormat("pull: %s", st.error_message()));
  return absl::OkStatus();
}

absl::Status Replicas::ApplyBatch(Peer& peer, const v1::EventBatch& batch, uint64_t* seq) {
  // Record events this replica lacks, in a run written at once.
  v1::RecordBatch run;
  std::vector<const v1::StoredEvent*> in_run;
  uint64_t run_seq = 0;  // The last event the run covers (some known here).
  auto flush = [&]() -> absl::Status {
    if (in_run.empty()) return absl::OkStatus();
    absl::Status s = core_.Write(run).status();
    if (s.ok()) {
      peer.repairs->Increment(static_cast<double>(in_run.size()));
    } else if (Refusal(s)) {  // Some record of the run is refused: each on its own.
      for (const v1::StoredEvent* e : in_run) {
        if (s = Apply(peer, e->event()); !s.ok()) return s;
        *seq = e->seq();
      }
      s = absl::OkStatus();
    }
    if (!s.ok()) return s;
    *seq = run_seq;
    run.Clear();
    in_run.clear();
    return s;
  };
  for (const v1::StoredEvent& e : batch.events()) {
    if (e.event().body_case() != v1::Event::kRecords) {
      if (absl::Status s = flush(); !s.ok()) return s;
      if (absl::Status s = Apply(peer, e.event()); !s.ok()) return s;
      *seq = e.seq();
      continue;
    }
    absl::StatusOr<bool> have = store_.HasEvent(e.event().key());
    if (!have.ok()) return have.status();
    if (!*have) {
      run.MergeFrom(e.event().records());
      in_run.push_back(&e);
    }
    if (in_run.empty()) {
      *seq = e.seq();
      continue;
    }
    run_seq = e.seq();
    if (in_run.size() >= kRunEvents) {
      if (absl::Status s = flush(); !s.ok()) return s;
    }
  }
  return flush();
}

absl::Status Replicas::Apply(Peer& peer, const v1::Event& event) {
  absl::StatusOr<bool> have = store_.HasEvent(event.key());
  if (!have.ok()) return have.status();
  if (*have) return absl::OkStatus();
  absl::Status s;
  switch (event.body_case()) {
    case v1::Event::kRecords:
      s = core_.Write(event.records()).status();
      break;
    case v1::Event::kAlert:
      s = router_ != nullptr ? router_->ApplyEvent(event).status()
                             : absl::FailedPreconditionError("no alert routing");
      break;
    case v1::Event::kResolution:
      s = core_.ResolveIncidentAt(event.resolution(), event.time_ms()).status();
      break;
    case v1::Event::kDrill:
      s = drills_ != nullptr ? drills_->ApplyEvent(event)
                             : absl::FailedPreconditionError("no drills");
      break;
    case v1::Event::kTree:
      s = core_.InstallTreeEvent(event);
      break;
    default:
      s = absl::InvalidArgumentError("an event of a kind this triaged does not know");
  }
  if (s.ok()) {
    peer.repairs->Increment();
    return s;
  }
  if (!Refusal(s)) return s;
  peer.refused->Increment();
  std::cerr << "triaged: peer " << peer.address << ": event " << event.key()
            << " refused: " << s.message() << "\n";
  return absl::OkStatus();
}

}  // namespace triage::peers
