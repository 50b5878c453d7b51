#include "triage/server/services.h"

#include "absl/strings/str_format.h"

namespace triage::server {

namespace {

template <typename T>
grpc::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return ToGrpc(result.status());
  *out = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status IngestServiceImpl::Write(const v1::RecordBatch& batch, v1::IngestResponse* response) {
  return Assign(core_.Write(batch), response);
}

grpc::Status IngestServiceImpl::WriteChanges(grpc::ServerContext*, const v1::WriteChangesRequest* r,
                                             v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_changes() = r->changes();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteSeries(grpc::ServerContext*, const v1::WriteSeriesRequest* r,
                                            v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_series() = r->series();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteHistograms(grpc::ServerContext*,
                                                const v1::WriteHistogramsRequest* r,
                                                v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_histograms() = r->histograms();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteUpstreams(grpc::ServerContext*,
                                               const v1::WriteUpstreamsRequest* r,
                                               v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_upstreams() = r->upstreams();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteEvalSets(grpc::ServerContext*,
                                              const v1::WriteEvalSetsRequest* r,
                                              v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_eval_sets() = r->eval_sets();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteDependencyHealth(grpc::ServerContext*,
                                                      const v1::WriteDependencyHealthRequest* r,
                                                      v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_dependency_health() = r->dependency_health();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::WriteDependencies(grpc::ServerContext*,
                                                  const v1::WriteDependenciesRequest* r,
                                                  v1::IngestResponse* response) {
  v1::RecordBatch b;
  *b.mutable_dependencies() = r->dependencies();
  return Write(b, response);
}

grpc::Status IngestServiceImpl::IngestBundle(grpc::ServerContext*,
                                             grpc::ServerReader<v1::BundleChunk>* reader,
                                             v1::IngestResponse* response) {
  std::string name = "bundle", body;
  v1::BundleChunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first && !chunk.name().empty()) name = chunk.name();
    first = false;
    if (body.size() + chunk.ndjson().size() > core_.options().max_body_bytes) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrFormat("bundle is over %d bytes", core_.options().max_body_bytes));
    }
    body += chunk.ndjson();
  }
  return Assign(core_.IngestBundle(name, body), response);
}

grpc::Status TriageServiceImpl::Triage(grpc::ServerContext*, const v1::TriageRequest* r,
                                       v1::TriageReport* response) {
  return Assign(core_.Triage(*r), response);
}

grpc::Status TriageServiceImpl::GetIncident(grpc::ServerContext*, const v1::GetIncidentRequest* r,
                                            v1::IncidentView* response) {
  return Assign(core_.GetIncident(r->id()), response);
}

grpc::Status TriageServiceImpl::ListIncidents(grpc::ServerContext*,
                                              const v1::ListIncidentsRequest* r,
                                              v1::ListIncidentsResponse* response) {
  return Assign(core_.ListIncidents(*r), response);
}

grpc::Status TriageServiceImpl::ResolveIncident(grpc::ServerContext*,
                                                const v1::ResolveIncidentRequest* r,
                                                v1::IncidentView* response) {
  return Assign(core_.ResolveIncident(*r), response);
}

grpc::Status TriageServiceImpl::ExportIncident(grpc::ServerContext*,
                                               const v1::ExportIncidentRequest* r,
                                               v1::ExportIncidentResponse* response) {
  return Assign(core_.ExportIncident(r->id()), response);
}

grpc::Status OverlayServiceImpl::GetOverlay(grpc::ServerContext*, const v1::OverlayRequest* r,
                                            v1::OverlayResponse* response) {
  return Assign(core_.Overlay(*r), response);
}

grpc::Status RulesServiceImpl::GetTree(grpc::ServerContext*, const v1::GetTreeRequest*,
                                       v1::Tree* response) {
  *response = *core_.tree();
  return grpc::Status::OK;
}

grpc::Status RulesServiceImpl::CheckTree(grpc::ServerContext*, const v1::CheckTreeRequest* r,
                                         v1::CheckTreeResponse* response) {
  *response = core_.CheckTree(r->text());
  return grpc::Status::OK;
}

grpc::Status RulesServiceImpl::ReloadTree(grpc::ServerContext*, const v1::ReloadTreeRequest* r,
                                          v1::ReloadTreeResponse* response) {
  return Assign(core_.ReloadTree(*r), response);
}

grpc::Status DrillServiceImpl::StartDrill(grpc::ServerContext*, const v1::StartDrillRequest* r,
                                          v1::Drill* response) {
  return Assign(drills_.Start(*r), response);
}

grpc::Status DrillServiceImpl::OpenCategory(grpc::ServerContext*, const v1::DrillActionRequest* r,
                                            v1::DrillStepResponse* response) {
  return Assign(drills_.Open(*r), response);
}

grpc::Status DrillServiceImpl::Answer(grpc::ServerContext*, const v1::DrillActionRequest* r,
                                      v1::Drill* response) {
  return Assign(drills_.Answer(*r), response);
}

grpc::Status DrillServiceImpl::GetDrill(grpc::ServerContext*, const v1::GetDrillRequest* r,
                                        v1::Drill* response) {
  return Assign(drills_.Get(r->drill_id()), response);
}

grpc::Status DrillServiceImpl::DrillReport(grpc::ServerContext*, const v1::DrillReportRequest* r,
                                           v1::DrillReportResponse* response) {
  return Assign(drills_.Report(r->trainee()), response);
}

}  // namespace triage::server
