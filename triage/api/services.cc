#include "triage/api/services.h"

#include "absl/strings/str_format.h"

namespace triage::api {

namespace {

template <typename T>
grpc::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return ToGrpc(result.status());
  *out = std::move(*result);
  return grpc::Status::OK;
}

// Checks the caller of SERVICE's METHOD, then answers with `fn()`.
template <typename Service, typename T, typename Fn>
grpc::Status Serve(const auth::GrpcGuard& guard, grpc::ServerContext* context, const char* method, T* out,
                   Fn fn) {
  static const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          Service::service_full_name());
  const google::protobuf::MethodDescriptor* m =
      service != nullptr ? service->FindMethodByName(method) : nullptr;
  if (absl::Status s = guard.Check(context, m); !s.ok()) return ToGrpc(s);
  return Assign(fn(), out);
}

}  // namespace

grpc::Status IngestServiceImpl::Write(grpc::ServerContext* context, const char* method,
                                      const v1::RecordBatch& batch, v1::IngestResponse* response) {
  return Serve<v1::IngestService>(guard_, context, method, response,
                                  [&] { return core_.Write(batch); });
}

grpc::Status IngestServiceImpl::WriteChanges(grpc::ServerContext* context,
                                             const v1::WriteChangesRequest* r,
                                             v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_changes() = r->changes();
  for (v1::Change& c : *b.mutable_changes()) {
    if (c.origin().empty()) c.set_origin("api");
  }
  return Write(context, "WriteChanges", b, response);
}

grpc::Status IngestServiceImpl::WriteSeries(grpc::ServerContext* context,
                                            const v1::WriteSeriesRequest* r,
                                            v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_series() = r->series();
  return Write(context, "WriteSeries", b, response);
}

grpc::Status IngestServiceImpl::WriteHistograms(grpc::ServerContext* context,
                                                const v1::WriteHistogramsRequest* r,
                                                v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_histograms() = r->histograms();
  return Write(context, "WriteHistograms", b, response);
}

grpc::Status IngestServiceImpl::WriteUpstreams(grpc::ServerContext* context,
                                               const v1::WriteUpstreamsRequest* r,
                                               v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_upstreams() = r->upstreams();
  return Write(context, "WriteUpstreams", b, response);
}

grpc::Status IngestServiceImpl::WriteEvalSets(grpc::ServerContext* context,
                                              const v1::WriteEvalSetsRequest* r,
                                              v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_eval_sets() = r->eval_sets();
  return Write(context, "WriteEvalSets", b, response);
}

grpc::Status IngestServiceImpl::WriteDependencyHealth(grpc::ServerContext* context,
                                                      const v1::WriteDependencyHealthRequest* r,
                                                      v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_dependency_health() = r->dependency_health();
  return Write(context, "WriteDependencyHealth", b, response);
}

grpc::Status IngestServiceImpl::WriteDependencies(grpc::ServerContext* context,
                                                  const v1::WriteDependenciesRequest* r,
                                                  v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_dependencies() = r->dependencies();
  return Write(context, "WriteDependencies", b, response);
}

grpc::Status IngestServiceImpl::IngestBundle(grpc::ServerContext* context,
                                             grpc::ServerReader<v1::BundleChunk>* reader,
                                             v1::IngestResponse* response) {
  return Serve<v1::IngestService>(
      guard_, context, "IngestBundle", response, [&]() -> absl::StatusOr<v1::IngestResponse> {
        // The first chunk names the bundle; chunks stream into the ingest.
        v1::BundleChunk chunk;
        std::string name = "bundle";
        bool first = reader->Read(&chunk), done = !first;
        if (first && !chunk.name().empty()) name = chunk.name();
        replay::Pull pull = [&](std::string* piece) -> absl::StatusOr<bool> {
          if (done) return false;
          if (first) {
            first = false;
          } else if (!reader->Read(&chunk)) {
            done = true;
            return false;
          }
          piece->append(chunk.ndjson());
          return true;
        };
        return core_.IngestBundle(name, pull);
      });
}

grpc::Status TriageServiceImpl::Triage(grpc::ServerContext* context, const v1::TriageRequest* r,
                                       v1::TriageReport* response) {
  return Serve<v1::TriageService>(guard_, context, "Triage", response,
                                  [&] { return core_.Triage(*r); });
}

grpc::Status TriageServiceImpl::GetIncident(grpc::ServerContext* context,
                                            const v1::GetIncidentRequest* r,
                                            v1::IncidentView* response) {
  return Serve<v1::TriageService>(guard_, context, "GetIncident", response,
                                  [&] { return core_.GetIncident(r->id()); });
}

grpc::Status TriageServiceImpl::ListIncidents(grpc::ServerContext* context,
                                              const v1::ListIncidentsRequest* r,
                                              v1::ListIncidentsResponse* response) {
  return Serve<v1::TriageService>(guard_, context, "ListIncidents", response,
                                  [&] { return core_.ListIncidents(*r); });
}

grpc::Status TriageServiceImpl::ResolveIncident(grpc::ServerContext* context,
                                                const v1::ResolveIncidentRequest* r,
                                                v1::IncidentView* response) {
  return Serve<v1::TriageService>(guard_, context, "ResolveIncident", response,
                                  [&] { return core_.ResolveIncident(*r); });
}

grpc::Status TriageServiceImpl::ExportIncident(grpc::ServerContext* context,
                                               const v1::ExportIncidentRequest* r,
                                               v1::ExportIncidentResponse* response) {
  return Serve<v1::TriageService>(guard_, context, "ExportIncident", response,
                                  [&] { return core_.ExportIncident(r->id()); });
}

grpc::Status TriageServiceImpl::Review(grpc::ServerContext* context, const v1::ReviewRequest* r,
                                       v1::ReviewResponse* response) {
  return Serve<v1::TriageService>(guard_, context, "Review", response,
                                  [&] { return core_.Review(*r); });
}

grpc::Status OverlayServiceImpl::GetOverlay(grpc::ServerContext* context,
                                            const v1::OverlayRequest* r,
                                            v1::OverlayResponse* response) {
  return Serve<v1::OverlayService>(guard_, context, "GetOverlay", response,
                                   [&] { return core_.Overlay(*r); });
}

grpc::Status OverlayServiceImpl::GetVocabulary(grpc::ServerContext* context,
                                               const v1::GetVocabularyRequest*,
                                               v1::Vocabulary* response) {
  return Serve<v1::OverlayService>(
      guard_, context, "GetVocabulary", response,
      [&]() -> absl::StatusOr<v1::Vocabulary> { return core_.Vocabulary(); });
}

grpc::Status RulesServiceImpl::GetTree(grpc::ServerContext* context, const v1::GetTreeRequest*,
                                       v1::Tree* response) {
  return Serve<v1::RulesService>(guard_, context, "GetTree", response,
                                 [&]() -> absl::StatusOr<v1::Tree> { return *core_.tree(); });
}

grpc::Status RulesServiceImpl::CheckTree(grpc::ServerContext* context,
                                         const v1::CheckTreeRequest* r,
                                         v1::CheckTreeResponse* response) {
  return Serve<v1::RulesService>(
      guard_, context, "CheckTree", response,
      [&]() -> absl::StatusOr<v1::CheckTreeResponse> { return core_.CheckTree(r->text()); });
}

grpc::Status RulesServiceImpl::ReloadTree(grpc::ServerContext* context,
                                          const v1::ReloadTreeRequest* r,
                                          v1::ReloadTreeResponse* response) {
  return Serve<v1::RulesService>(guard_, context, "ReloadTree", response,
                                 [&] { return core_.ReloadTree(*r); });
}

grpc::Status DrillServiceImpl::StartDrill(grpc::ServerContext* context,
                                          const v1::StartDrillRequest* r, v1::Drill* response) {
  return Serve<v1::DrillService>(guard_, context, "StartDrill", response,
                                 [&] { return drills_.Start(*r); });
}

grpc::Status DrillServiceImpl::OpenCategory(grpc::ServerContext* context,
                                            const v1::DrillActionRequest* r,
                                            v1::DrillStepResponse* response) {
  return Serve<v1::DrillService>(guard_, context, "OpenCategory", response,
                                 [&] { return drills_.Open(*r); });
}

grpc::Status DrillServiceImpl::Answer(grpc::ServerContext* context, const v1::DrillActionRequest* r,
                                      v1::Drill* response) {
  return Serve<v1::DrillService>(guard_, context, "Answer", response,
                                 [&] { return drills_.Answer(*r); });
}

grpc::Status DrillServiceImpl::GetDrill(grpc::ServerContext* context, const v1::GetDrillRequest* r,
                                        v1::Drill* response) {
  return Serve<v1::DrillService>(guard_, context, "GetDrill", response,
                                 [&] { return drills_.Get(r->drill_id()); });
}

grpc::Status DrillServiceImpl::DrillReport(grpc::ServerContext* context,
                                           const v1::DrillReportRequest* r,
                                           v1::DrillReportResponse* response) {
  return Serve<v1::DrillService>(guard_, context, "DrillReport", response,
                                 [&] { return drills_.Report(r->trainee()); });
}

}  // namespace triage::api
