#include "triage/ctl/client.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/gzip.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "triage/ctl/replay.h"
#include "triage/ctl/rpc.h"
#include "triage/v1/service.grpc.pb.h"

namespace triage::ctl {

namespace {

std::string Accepted(const v1::IngestResponse& r) {
  std::vector<std::pair<std::string, int32_t>> counts(r.accepted().begin(), r.accepted().end());
  std::sort(counts.begin(), counts.end());
  std::vector<std::string> parts;
  for (const auto& [k, n] : counts) parts.push_back(absl::StrFormat("%s=%d", k, n));
  return absl::StrJoin(parts, " ");
}

}  // namespace

bool CommandLine::Has(const std::string& name) const {
  return std::any_of(flags.begin(), flags.end(), [&](const auto& f) { return f.first == name; });
}

std::string CommandLine::Get(const std::string& name, const std::string& fallback) const {
  std::string v = fallback;
  for (const auto& f : flags) {
    if (f.first == name) v = f.second;
  }
  return v;
}

std::vector<std::string> CommandLine::All(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& f : flags) {
    if (f.first == name) out.push_back(f.second);
  }
  return out;
}

int IngestCommand(const std::string& server, const CommandLine& args) {
  if (args.positional.size() != 1) {
    std::cerr << "usage: triagectl ingest BUNDLE [--json]\n";
    return kBadInput;
  }
  const std::string& path = args.positional[0];
  auto stub = v1::IngestService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx, 300);
  v1::IngestResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::BundleChunk>> writer = stub->IngestBundle(&ctx, &response);
  v1::BundleChunk chunk;
  chunk.set_name(path);
  bool open = true;
  auto flush = [&] {
    open = open && writer->Write(chunk);
    chunk.clear_name();
    chunk.clear_ndjson();
    return open;
  };
  absl::Status read = collectors::ReadGzipOrPlainFile(path, [&](std::string_view piece) {
    chunk.mutable_ndjson()->append(piece);
    return chunk.ndjson().size() < (1 << 20) || flush();
  });
  if (read.ok() && open && !chunk.ndjson().empty()) flush();
  if (!read.ok()) {
    std::cerr << path << ": " << read.message() << "\n";
    ctx.TryCancel();
    return kBadInput;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) return Failed(s);
  if (args.Has("json")) {
    std::cout << ProtoJson(response) << "\n";
    return kOk;
  }
  std::cout << "accepted: " << Accepted(response) << "\n";
  if (response.has_report()) {
    const v1::TriageReport& r = response.report();
    std::cout << absl::StrFormat("incident %s: localized %s (walk %.1f ms)\n", r.incident_id(),
                                 r.localized_category(), r.walk_ms());
  }
  return kOk;
}

int ChangeAddCommand(const std::string& server, const CommandLine& args) {
  if (!args.Has("kind") || !args.Has("service")) {
    std::cerr << "usage: triagectl change add --kind K --service S [--id ID --time T --version V "
                 "--previous-version P --actor A --summary TEXT --url U]\n";
    return kBadInput;
  }
  v1::WriteChangesRequest request;
  v1::Change* c = request.add_changes();
  c->set_kind(args.Get("kind"));
  c->set_service(args.Get("service"));
  c->set_version(args.Get("version"));
  c->set_previous_version(args.Get("previous-version"));
  c->set_actor(args.Get("actor"));
  c->set_summary(args.Get("summary"));
  c->set_url(args.Get("url"));
  c->set_source(args.Get("source"));
  std::string error;
  if (!ParseTime(args.Get("time", "now"), c->mutable_time(), &error)) {
    std::cerr << "triagectl: --time: " << error << "\n";
    return kBadInput;
  }
  std::string id = args.Get("id");
  if (id.empty()) {
    id = absl::StrFormat("chg-%d-%d", ToMs(c->time()), getpid());
  }
  c->set_id(id);
  auto stub = v1::IngestService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::IngestResponse response;
  grpc::Status s = stub->WriteChanges(&ctx, request, &response);
  if (!s.ok()) return Failed(s);
  std::cout << absl::StrFormat("change %s stored (%s on %s at %s)\n", id, c->kind(), c->service(),
                               FormatRfc3339(ToMs(c->time())));
  return kOk;
}

int TriageCommand(const std::string& server, const CommandLine& args) {
  std::vector<std::string> services = args.All("service"), metrics = args.All("metric");
  if (services.empty() || services.size() != metrics.size()) {
    std::cerr << "usage: triagectl triage --service S --metric M [--service S2 --metric M2 ...] "
                 "[--at TIME] [--json]\n";
    return kBadInput;
  }
  v1::TriageRequest request;
  for (size_t i = 0; i < services.size(); ++i) {
    v1::AlertSpec* a = request.add_alerts();
    a->set_service(services[i]);
    a->set_metric(metrics[i]);
  }
  std::string error;
  if (!ParseTime(args.Get("at", "now"), request.mutable_at(), &error)) {
    std::cerr << "triagectl: --at: " << error << "\n";
    return kBadInput;
  }
  auto stub = v1::TriageService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::TriageReport report;
  grpc::Status s = stub->Triage(&ctx, request, &report);
  if (!s.ok()) return Failed(s);
  if (args.Has("json")) {
    std::cout << ReportJson(report) << "\n";
  } else {
    v1::Incident incident;
    incident.set_id(report.incident_id());
    std::cout << RenderReport(report, incident);
  }
  return kOk;
}

int IncidentsCommand(const std::string& server, const CommandLine& args) {
  auto stub = v1::TriageService::NewStub(Channel(server));
  v1::ListIncidentsResponse response;
  v1::ListIncidentsRequest request;
  do {  // Every page.
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListIncidentsResponse page;
    grpc::Status s = stub->ListIncidents(&ctx, request, &page);
    if (!s.ok()) return Failed(s);
    for (v1::IncidentView& v : *page.mutable_incidents()) *response.add_incidents() = std::move(v);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  if (args.Has("json")) {
    std::cout << ProtoJson(response) << "\n";
    return kOk;
  }
  std::cout << absl::StrFormat("%-28s %-22s %-36s %s\n", "ID", "FIRED", "ALERTS", "LOCALIZED");
  for (const v1::IncidentView& v : response.incidents()) {
    std::vector<std::string> alerts;
    int64_t fired = 0;
    for (const v1::Alert& a : v.incident().alerts()) {
      alerts.push_back(a.service() + "/" + a.metric());
      fired = std::max(fired, ToMs(a.fired_at()));
    }
    std::cout << absl::StrFormat("%-28s %-22s %-36s %s\n", v.incident().id(), FormatRfc3339(fired),
                                 absl::StrJoin(alerts, ","),
                                 v.has_report() ? v.report().localized_category() : "-");
  }
  return kOk;
}

int OverlayCommand(const std::string& server, const CommandLine& args) {
  if (!args.Has("service") || !args.Has("metric")) {
    std::cerr << "usage: triagectl overlay --service S --metric M --window 60m|24h|7d "
                 "[--end TIME] [--max-points N] [--max-other-changes N] [--json]\n";
    return kBadInput;
  }
  v1::OverlayRequest request;
  request.set_service(args.Get("service"));
  request.set_metric(args.Get("metric"));
  request.set_window(args.Get("window", "24h"));
  std::string error;
  if (!ParseTime(args.Get("end", "now"), request.mutable_end(), &error)) {
    std::cerr << "triagectl: --end: " << error << "\n";
    return kBadInput;
  }
  if (args.Has("max-points")) request.set_max_points(std::atoi(args.Get("max-points").c_str()));
  if (args.Has("max-other-changes")) {
    request.set_max_other_changes(std::atoi(args.Get("max-other-changes").c_str()));
  }
  auto stub = v1::OverlayService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::OverlayResponse response;
  grpc::Status s = stub->GetOverlay(&ctx, request, &response);
  if (!s.ok()) return Failed(s);
  if (args.Has("json")) {
    std::cout << ProtoJson(response) << "\n";
    return kOk;
  }
  std::cout << absl::StrFormat(
      "%s/%s from %s to %s: %d points (%d before downsampling), %d series\n", response.service(),
      response.metric(), FormatRfc3339(ToMs(response.start())), FormatRfc3339(ToMs(response.end())),
      response.points_size(), response.raw_points(), response.series_count());
  if (response.points_size() > 0) {
    double lo = response.points(0).value(), hi = lo;
    for (const v1::Point& p : response.points()) {
      lo = std::min(lo, p.value());
      hi = std::max(hi, p.value());
    }
    std::cout << absl::StrFormat("  range %.4g .. %.4g, last %.4g at %s\n", lo, hi,
                                 response.points(response.points_size() - 1).value(),
                                 FormatRfc3339(response.points(response.points_size() - 1).t_ms()));
  }
  std::cout << absl::StrFormat("%d changes:\n", response.changes_size());
  for (const v1::Change& c : response.changes()) {
    std::cout << absl::StrFormat("  %s %-16s %-20s %s%s\n", FormatRfc3339(ToMs(c.time())), c.kind(),
                                 c.service(), c.id(),
                                 c.summary().empty() ? "" : ": " + c.summary());
  }
  const int sent_others = response.changes_size() - response.in_scope_change_ids_size();
  if (response.other_changes() > sent_others) {
    std::cout << absl::StrFormat("  and %d more on other services (--max-other-changes)\n",
                                 response.other_changes() - sent_others);
  }
  return kOk;
}

int ExportCommand(const std::string& server, const CommandLine& args) {
  if (!args.Has("incident") || !args.positional.empty()) {
    std::cerr << "usage: triagectl export --incident ID > bundle.jsonl\n";
    return kBadInput;
  }
  v1::ExportIncidentRequest request;
  request.set_id(args.Get("incident"));
  auto stub = v1::TriageService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx, 300);
  v1::ExportIncidentResponse response;
  grpc::Status s = stub->ExportIncident(&ctx, request, &response);
  if (!s.ok()) return Failed(s);
  std::cout << response.ndjson();
  std::vector<std::pair<std::string, int32_t>> counts(response.records().begin(),
                                                      response.records().end());
  std::sort(counts.begin(), counts.end());
  std::vector<std::string> parts;
  for (const auto& [k, n] : counts) parts.push_back(absl::StrFormat("%s=%d", k, n));
  std::cerr << "exported " << absl::StrJoin(parts, " ") << "\n";
  return kOk;
}

int ResolveCommand(const std::string& server, const CommandLine& args) {
  if (args.positional.size() != 1) {
    std::cerr << "usage: triagectl resolve ID --root-cause CATEGORY [--summary TEXT]\n";
    return kBadInput;
  }
  v1::ResolveIncidentRequest request;
  request.set_id(args.positional[0]);
  request.set_root_cause(args.Get("root-cause"));
  request.set_summary(args.Get("summary"));
  request.set_new_category(args.Get("new-category"));
  auto stub = v1::TriageService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::IncidentView view;
  grpc::Status s = stub->ResolveIncident(&ctx, request, &view);
  if (!s.ok()) return Failed(s);
  std::cout << absl::StrFormat("incident %s resolved; root cause %s\n", request.id(),
                               view.state().root_cause());
  for (const v1::ActionItem& a : view.state().action_items()) {
    if (a.status() == v1::ActionItem::open) {
      std::cout << absl::StrFormat("open action item: %s (owner %s, due %s)\n", a.text(), a.owner(),
                                   FormatRfc3339(ToMs(a.due())).substr(0, 10));
    }
  }
  return kOk;
}

}  // namespace triage::ctl
