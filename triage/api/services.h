// The gRPC services of triage.v1: thin adapters that check the caller
// (GrpcGuard, from the method's role), call Core and convert absl::Status to
// grpc::Status (the codes map one to one). Thread-safe as Core is; they keep
// references to Core and the guard, which must outlive them.
#pragma once

#include "triage/auth/auth.h"
#include "triage/core/core.h"
#include "triage/core/drills.h"
#include "triage/api/errors.h"
#include "triage/v1/drill.grpc.pb.h"
#include "triage/v1/service.grpc.pb.h"

namespace triage::api {

class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  IngestServiceImpl(core::Core& core, const auth::GrpcGuard& guard) : core_(core), guard_(guard) {}
  grpc::Status WriteChanges(grpc::ServerContext*, const v1::WriteChangesRequest*,
                            v1::IngestResponse*) override;
  grpc::Status WriteSeries(grpc::ServerContext*, const v1::WriteSeriesRequest*,
                           v1::IngestResponse*) override;
  grpc::Status WriteHistograms(grpc::ServerContext*, const v1::WriteHistogramsRequest*,
                               v1::IngestResponse*) override;
  grpc::Status WriteUpstreams(grpc::ServerContext*, const v1::WriteUpstreamsRequest*,
                              v1::IngestResponse*) override;
  grpc::Status WriteEvalSets(grpc::ServerContext*, const v1::WriteEvalSetsRequest*,
                             v1::IngestResponse*) override;
  grpc::Status WriteDependencyHealth(grpc::ServerContext*, const v1::WriteDependencyHealthRequest*,
                                     v1::IngestResponse*) override;
  grpc::Status WriteDependencies(grpc::ServerContext*, const v1::WriteDependenciesRequest*,
                                 v1::IngestResponse*) override;
  grpc::Status IngestBundle(grpc::ServerContext*, grpc::ServerReader<v1::BundleChunk>*,
                            v1::IngestResponse*) override;

 private:
  grpc::Status Write(grpc::ServerContext* context, const char* method, const v1::RecordBatch& batch,
                     v1::IngestResponse* response);
  core::Core& core_;
  const auth::GrpcGuard& guard_;
};

class TriageServiceImpl final : public v1::TriageService::Service {
 public:
  TriageServiceImpl(core::Core& core, const auth::GrpcGuard& guard) : core_(core), guard_(guard) {}
  grpc::Status Triage(grpc::ServerContext*, const v1::TriageRequest*, v1::TriageReport*) override;
  grpc::Status GetIncident(grpc::ServerContext*, const v1::GetIncidentRequest*,
                           v1::IncidentView*) override;
  grpc::Status ListIncidents(grpc::ServerContext*, const v1::ListIncidentsRequest*,
                             v1::ListIncidentsResponse*) override;
  grpc::Status ResolveIncident(grpc::ServerContext*, const v1::ResolveIncidentRequest*,
                               v1::IncidentView*) override;
  grpc::Status ExportIncident(grpc::ServerContext*, const v1::ExportIncidentRequest*,
                              v1::ExportIncidentResponse*) override;
  grpc::Status Review(grpc::ServerContext*, const v1::ReviewRequest*, v1::ReviewResponse*) override;

 private:
  core::Core& core_;
  const auth::GrpcGuard& guard_;
};

class OverlayServiceImpl final : public v1::OverlayService::Service {
 public:
  OverlayServiceImpl(core::Core& core, const auth::GrpcGuard& guard) : core_(core), guard_(guard) {}
  grpc::Status GetOverlay(grpc::ServerContext*, const v1::OverlayRequest*,
                          v1::OverlayResponse*) override;
  grpc::Status GetVocabulary(grpc::ServerContext*, const v1::GetVocabularyRequest*,
                             v1::Vocabulary*) override;

 private:
  core::Core& core_;
  const auth::GrpcGuard& guard_;
};

class RulesServiceImpl final : public v1::RulesService::Service {
 public:
  RulesServiceImpl(core::Core& core, const auth::GrpcGuard& guard) : core_(core), guard_(guard) {}
  grpc::Status GetTree(grpc::ServerContext*, const v1::GetTreeRequest*, v1::Tree*) override;
  grpc::Status CheckTree(grpc::ServerContext*, const v1::CheckTreeRequest*,
                         v1::CheckTreeResponse*) override;
  grpc::Status ReloadTree(grpc::ServerContext*, const v1::ReloadTreeRequest*,
                          v1::ReloadTreeResponse*) override;

 private:
  core::Core& core_;
  const auth::GrpcGuard& guard_;
};

class DrillServiceImpl final : public v1::DrillService::Service {
 public:
  DrillServiceImpl(core::Drills& drills, const auth::GrpcGuard& guard) : drills_(drills), guard_(guard) {}
  grpc::Status StartDrill(grpc::ServerContext*, const v1::StartDrillRequest*, v1::Drill*) override;
  grpc::Status OpenCategory(grpc::ServerContext*, const v1::DrillActionRequest*,
                            v1::DrillStepResponse*) override;
  grpc::Status Answer(grpc::ServerContext*, const v1::DrillActionRequest*, v1::Drill*) override;
  grpc::Status GetDrill(grpc::ServerContext*, const v1::GetDrillRequest*, v1::Drill*) override;
  grpc::Status DrillReport(grpc::ServerContext*, const v1::DrillReportRequest*,
                           v1::DrillReportResponse*) override;

 private:
  core::Drills& drills_;
  const auth::GrpcGuard& guard_;
};

}  // namespace triage::api
