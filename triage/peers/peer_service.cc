#include "triage/peers/peer_service.h"

#include <algorithm>

#include "google/protobuf/descriptor.h"

namespace triage::peers {

grpc::Status PeerServiceImpl::Events(grpc::ServerContext* context,
                                     const v1::EventsRequest* request,
                                     grpc::ServerWriter<v1::EventBatch>* writer) {
  static const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()
          ->FindServiceByName(v1::PeerService::service_full_name())
          ->FindMethodByName("Events");
  if (absl::Status s = guard_.Check(context, method); !s.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
  }
  const size_t max = std::clamp<uint32_t>(request->max_events(), 1, kMaxBatchEvents);
  uint64_t after = request->after();
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<v1::StoredEvent>> events =
        store_.EventsAfter(after, request->max_events() == 0 ? kMaxBatchEvents : max,
                           kMaxBatchBytes);
    if (!events.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(events.status().message()));
    }
    v1::EventBatch batch;
    batch.set_head(store_.LastEventSeq());
    batch.set_position(position_);
    batch.set_log_id(store_.LogId());
    for (v1::StoredEvent& e : *events) *batch.add_events() = std::move(e);
    if (batch.events_size() > 0) after = batch.events(batch.events_size() - 1).seq();
    if (!writer->Write(batch)) break;  // The caller went away.
    if (batch.events_size() == 0) break;
  }
  return grpc::Status::OK;
}

}  // namespace triage::peers
