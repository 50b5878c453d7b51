// PeerService (peer.proto): this replica's event log for the others to pull,
// in bounded batches from the caller's cursor. The role PEER (a verified
// client certificate over mTLS, or a principal the web config gives it).
//
// Thread-safe. Store and guard are not owned and must outlive the service.
#pragma once

#include "triage/auth/auth.h"
#include "triage/store/store.h"
#include "triage/v1/peer.grpc.pb.h"

namespace triage::peers {

class PeerServiceImpl final : public v1::PeerService::Service {
 public:
  PeerServiceImpl(const store::Store& store, const auth::GrpcGuard& guard, int position)
      : store_(store), guard_(guard), position_(position) {}

  // Batches of at most request.max_events (capped at kMaxBatchEvents) and
  // about kMaxBatchBytes, until the caller has every event; the last batch
  // is empty and says the head.
  grpc::Status Events(grpc::ServerContext* context, const v1::EventsRequest* request,
                      grpc::ServerWriter<v1::EventBatch>* writer) override;

  static constexpr uint32_t kMaxBatchEvents = 1000;
  static constexpr size_t kMaxBatchBytes = 4 << 20;

 private:
  const store::Store& store_;
  const auth::GrpcGuard& guard_;
  const int position_;
};

}  // namespace triage::peers
