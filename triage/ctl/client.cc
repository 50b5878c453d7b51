#include "triage/ctl/client.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/gzip.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "triage/ctl/replay.h"
#include "triage/v1/drill.grpc.pb.h"
#include "triage/v1/service.grpc.pb.h"

namespace triage::ctl {

namespace {

constexpr int kOk = 0;
constexpr int kBadInput = 2;
constexpr int kServerError = 3;

struct Connection {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  std::string authorization;  // "Basic ..." or "Bearer ...", sent with every call.
};

Connection& TheConnection() {
  static Connection connection;
  return connection;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& server) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(server, TheConnection().credentials, args);
}

// Every call's deadline and credentials.
void Deadline(grpc::ClientContext* ctx, int seconds = 60) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  if (!TheConnection().authorization.empty()) {
    ctx->AddMetadata("authorization", TheConnection().authorization);
  }
}

absl::StatusOr<std::string> ReadSecret(const CommandLine& args, const char* flag) {
  std::string path = args.Get(flag);
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("--%s: cannot read %s", flag, path));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Prints a failed call; bad input (the server said so) is exit 2.
int Failed(const grpc::Status& s) {
  std::cerr << "triagectl: " << s.error_message() << "\n";
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kBadInput;
    default:
      return kServerError;
  }
}

// "now", RFC 3339, or Unix milliseconds.
bool ParseTime(const std::string& text, google::protobuf::Timestamp* out, std::string* error) {
  if (text == "now") {
    *out = FromMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
    return true;
  }
  absl::StatusOr<int64_t> t = ParseRfc3339(text);
  if (t.ok()) {
    *out = FromMs(*t);
    return true;
  }
  char* end = nullptr;
  long long ms = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() && *end == '\0') {
    *out = FromMs(ms);
    return true;
  }
  *error = std::string(t.status().message());
  return false;
}

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

absl::Status ConfigureConnection(const CommandLine& args) {
  Connection& c = TheConnection();
  if (args.Has("user") != args.Has("password-file")) {
    return absl::InvalidArgumentError("--user and --password-file go together");
  }
  if (args.Has("user")) {
    absl::StatusOr<std::string> password = ReadSecret(args, "password-file");
    if (!password.ok()) return password.status();
    c.authorization = "Basic " + absl::Base64Escape(args.Get("user") + ":" + *password);
  } else if (args.Has("token-file")) {
    absl::StatusOr<std::string> token = ReadSecret(args, "token-file");
    if (!token.ok()) return token.status();
    c.authorization = "Bearer " + *token;
  }
  const bool tls = args.Has("ca-file") || args.Has("cert-file") || args.Has("insecure-skip-verify");
  if (!tls) return absl::OkStatus();
  auto file = [&](const char* flag) -> absl::StatusOr<std::string> {
    if (!args.Has(flag)) return std::string();
    return ReadSecret(args, flag);
  };
  absl::StatusOr<std::string> ca = file("ca-file"), cert = file("cert-file"),
                              key = file("key-file");
  for (const auto* s : {&ca, &cert, &key}) {
    if (!s->ok()) return s->status();
  }
  if (args.Get("insecure-skip-verify") == "true") {
    // Tests only: any certificate, any host name.
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!cert->empty()) {
      options.set_certificate_provider(
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
              std::vector<grpc::experimental::IdentityKeyCertPair>{{*key + "\n", *cert + "\n"}}));
      options.watch_identity_key_cert_pairs();
    }
    c.credentials = grpc::experimental::TlsCredentials(options);
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = *ca;
    options.pem_private_key = *key;
    options.pem_cert_chain = *cert;
    c.credentials = grpc::SslCredentials(options);
  }
  return absl::OkStatus();
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
                 "[--end TIME] [--max-points N] [--json]\n";
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
  return kOk;
}

int DrillCommand(const std::string& server, const CommandLine& args) {
  const std::vector<std::string>& p = args.positional;
  auto usage = [] {
    std::cerr << "usage: triagectl drill start BUNDLE [--trainee NAME]\n"
                 "       triagectl drill open DRILL CATEGORY [--minute M]\n"
                 "       triagectl drill answer DRILL CATEGORY [--minute M]\n"
                 "       triagectl drill report [--trainee NAME]   (all with optional --json)\n";
    return kBadInput;
  };
  if (p.empty()) return usage();
  auto stub = v1::DrillService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx, 300);
  const bool json = args.Has("json");
  if (p[0] == "start" && p.size() == 2) {
    absl::StatusOr<std::string> body = collectors::ReadGzipOrPlainFile(p[1]);
    if (!body.ok()) {
      std::cerr << p[1] << ": " << body.status().message() << "\n";
      return kBadInput;
    }
    v1::StartDrillRequest request;
    request.set_name(p[1]);
    request.set_ndjson(*body);
    request.set_trainee(args.Get("trainee"));
    v1::Drill drill;
    grpc::Status s = stub->StartDrill(&ctx, request, &drill);
    if (!s.ok()) return Failed(s);
    if (json) {
      std::cout << ProtoJson(drill) << "\n";
      return kOk;
    }
    std::cout << absl::StrFormat("drill %s for %s: the page fired at %s\n", drill.id(),
                                 drill.trainee(), FormatRfc3339(ToMs(drill.page_time())));
    for (const v1::Alert& a : drill.page().alerts()) {
      std::cout << absl::StrFormat("  %s: %s/%s\n", a.name(), a.service(), a.metric());
    }
    std::cout << "categories (cheapest first): " << absl::StrJoin(drill.walk_order(), ", ") << "\n";
    return kOk;
  }
  if ((p[0] == "open" || p[0] == "answer") && p.size() == 3) {
    v1::DrillActionRequest request;
    request.set_drill_id(p[1]);
    request.set_category(p[2]);
    if (args.Has("minute")) request.set_minute(std::atof(args.Get("minute").c_str()));
    if (p[0] == "open") {
      v1::DrillStepResponse r;
      grpc::Status s = stub->OpenCategory(&ctx, request, &r);
      if (!s.ok()) return Failed(s);
      if (json) {
        std::cout << ProtoJson(r) << "\n";
      } else {
        std::cout << absl::StrFormat("T+%.1f min %s: %s — %s\n", r.step().minute(),
                                     r.step().category(), v1::Verdict_Name(r.verdict().verdict()),
                                     r.verdict().evidence());
      }
      return kOk;
    }
    v1::Drill drill;
    grpc::Status s = stub->Answer(&ctx, request, &drill);
    if (!s.ok()) return Failed(s);
    if (json) {
      std::cout << ProtoJson(drill) << "\n";
      return kOk;
    }
    const v1::DrillScore& sc = drill.score();
    std::cout << absl::StrFormat(
        "%s: answered %s, root cause was %s. %.1f min (target %.0f)%s; %d categories opened, %d "
        "out "
        "of cheapest-first order, %.0f min of checks\n",
        sc.correct() ? "CORRECT" : "MISSED", sc.answered(), sc.expected(), sc.minutes_to_answer(),
        sc.target_minutes(), sc.within_target() ? ", within target" : "", sc.categories_opened(),
        sc.out_of_order(), sc.check_minutes());
    return kOk;
  }
  if (p[0] == "report" && p.size() == 1) {
    v1::DrillReportRequest request;
    request.set_trainee(args.Get("trainee"));
    v1::DrillReportResponse r;
    grpc::Status s = stub->DrillReport(&ctx, request, &r);
    if (!s.ok()) return Failed(s);
    if (json) {
      std::cout << ProtoJson(r) << "\n";
      return kOk;
    }
    std::cout << absl::StrFormat("%-20s %6s %8s %8s %10s %12s\n", "TRAINEE", "DRILLS", "CORRECT",
                                 "IN_TIME", "MEDIAN_MIN", "OUT_OF_ORDER");
    for (const v1::TraineeSummary& t : r.trainees()) {
      std::cout << absl::StrFormat("%-20s %6d %8d %8d %10.1f %12d\n", t.trainee(), t.drills(),
                                   t.correct(), t.within_target(), t.median_minutes(),
                                   t.out_of_order());
    }
    std::cout << absl::StrFormat("\n%-20s %6s %7s %s\n", "CATEGORY", "DRILLS", "MISSED",
                                 "ANSWERED INSTEAD");
    for (const v1::CategorySummary& c : r.categories()) {
      std::cout << absl::StrFormat("%-20s %6d %7d %s\n", c.category(), c.drills(), c.missed(),
                                   absl::StrJoin(c.answered_instead(), ", "));
    }
    return kOk;
  }
  return usage();
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

namespace {

std::string Retro(const v1::IncidentView& v) {
  const v1::Incident& inc = v.incident();
  const v1::TriageReport& r = v.report();
  const v1::IncidentState& st = v.state();
  std::string md;
  absl::StrAppendFormat(&md, "# Retrospective: %s%s\n\n", inc.id(),
                        inc.title().empty() ? "" : " — " + inc.title());
  int64_t t0 = 0;
  for (const v1::Alert& a : inc.alerts()) {
    int64_t t = ToMs(a.fired_at());
    t0 = t0 == 0 ? t : std::min(t0, t);
  }
  auto offset = [&](int64_t t) {
    int64_t d = t - t0;
    return absl::StrFormat("T%s%d min", d < 0 ? "-" : "+", std::llabs(d) / kMinuteMs);
  };
  md += "## 1. Timeline\n\n| T+ | time (UTC) | event |\n|---|---|---|\n";
  if (r.has_onset()) {
    absl::StrAppendFormat(&md, "| %s | %s | metric left its normal band (onset) |\n",
                          offset(ToMs(r.onset())), FormatRfc3339(ToMs(r.onset())));
  }
  for (const v1::SuspectChange& s : r.suspect_changes()) {
    absl::StrAppendFormat(&md, "| %s | %s | change %s (%s on %s)%s |\n",
                          offset(ToMs(s.change().time())), FormatRfc3339(ToMs(s.change().time())),
                          s.change().id(), s.change().kind(), s.change().service(),
                          s.prime() ? ", prime suspect" : "");
  }
  for (const v1::Alert& a : inc.alerts()) {
    absl::StrAppendFormat(&md, "| %s | %s | alert %s fired on %s/%s |\n",
                          offset(ToMs(a.fired_at())), FormatRfc3339(ToMs(a.fired_at())),
                          a.name().empty() ? "(unnamed)" : a.name(), a.service(), a.metric());
  }
  if (st.timeline_size() > 0) {
    int64_t received = ToMs(st.timeline(0).time());
    for (const v1::TimelineEntry& e : st.timeline()) {
      absl::StrAppendFormat(&md, "| received+%.1f s | %s | %s: %s |\n",
                            static_cast<double>(ToMs(e.time()) - received) / 1000,
                            FormatRfc3339(ToMs(e.time())), e.event(), e.detail());
    }
  }
  md += "\n## 2. Root cause\n\n";
  if (!st.root_cause().empty()) {
    absl::StrAppendFormat(&md, "Recorded root cause: **%s**%s\n\n", st.root_cause(),
                          st.root_cause_summary().empty() ? "" : " — " + st.root_cause_summary());
  } else if (!inc.expected().category().empty()) {
    absl::StrAppendFormat(&md, "Recorded root cause: **%s**\n\n", inc.expected().category());
  } else {
    md += "TODO: no root cause recorded yet (`triagectl resolve ID --root-cause CATEGORY`).\n\n";
  }
  absl::StrAppendFormat(&md, "The walk localized **%s**.\n", r.localized_category());
  md += "\n## 3. Customer impact\n\n";
  for (const v1::AlertOnset& o : r.onsets()) {
    if (o.detected()) {
      absl::StrAppendFormat(&md, "- %s/%s fell from %.4g to %.4g from %s.\n", o.service(),
                            o.metric(), o.baseline_median(), o.current_median(),
                            FormatRfc3339(ToMs(o.onset())));
    }
  }
  if (st.minutes_to_resolve() > 0) {
    absl::StrAppendFormat(&md, "- Resolved after %.0f minutes.\n", st.minutes_to_resolve());
  }
  md += "- TODO: users, requests or revenue affected.\n";
  md += "\n## 4. What went well\n\n";
  for (const v1::CategoryVerdict& c : r.verdicts()) {
    if (c.category() == r.localized_category()) {
      absl::StrAppendFormat(&md, "- The walk implicated %s (cost %g min) in %.0f ms: %s\n",
                            c.category(), c.cost_minutes(), r.walk_ms(), c.evidence());
    }
  }
  md += "- TODO\n";
  md += "\n## 5. What did not go well\n\n";
  for (const v1::BlindSpot& b : r.blind_spots()) {
    absl::StrAppendFormat(&md, "- Blind spot %s: %s\n", b.category(), b.reason());
  }
  md += "- TODO\n";
  md += "\n## 6. Action items\n\n| action | owner | due | status |\n|---|---|---|---|\n";
  for (const v1::ActionItem& a : st.action_items()) {
    absl::StrAppendFormat(&md, "| %s | %s | %s | %s |\n", a.text(), a.owner(),
                          FormatRfc3339(ToMs(a.due())).substr(0, 10),
                          v1::ActionItem::Status_Name(a.status()));
  }
  md += "| TODO | TODO | TODO | open |\n";
  md += "\n## 7. Calibration\n\n";
  std::string cause = !st.root_cause().empty() ? st.root_cause() : inc.expected().category();
  double cost = 0;
  int position = 0;
  for (const v1::CategoryVerdict& c : r.verdicts()) {
    ++position;
    cost += c.cost_minutes();
    if (c.category() == cause) break;
  }
  if (!cause.empty() && cause != "unknown") {
    absl::StrAppendFormat(
        &md, "- Localized %s, recorded %s: %s.\n", r.localized_category(), cause,
        r.localized_category() == cause ? "the tree was right" : "**the tree was wrong**");
    if (cause != "rare_class" && position <= r.verdicts_size()) {
      absl::StrAppendFormat(
          &md,
          "- Walking cheapest first reaches %s at step %d after %.0f min of checks "
          "(target: localize within 15 min).\n",
          cause, position, cost);
    }
  } else {
    md += "- TODO: calibrate once the root cause is known.\n";
  }
  md +=
      "- **Is this a new category?** TODO: if no category of the tree describes the cause, add one "
      "to rules/default_tree.textproto (id, cost, check, owner, playbook) and run "
      "`triagectl rules check FILE --regress` on past incidents.\n";
  if (r.localized_category() == "rare_class") {
    md += "- The walk ended in rare_class. Blind spots: ";
    std::vector<std::string> blind;
    for (const v1::BlindSpot& b : r.blind_spots()) blind.push_back(b.category());
    md += blind.empty() ? "none (every category had data)." : absl::StrJoin(blind, ", ") + ".";
    md += "\n- Evidence that no category matched:\n";
    for (const v1::CategoryVerdict& c : r.verdicts()) {
      absl::StrAppendFormat(&md, "  - %s (%s): %s\n", c.category(), v1::Verdict_Name(c.verdict()),
                            c.evidence());
    }
  }
  return md;
}

}  // namespace

int RetroCommand(const std::string& server, const CommandLine& args) {
  if (args.positional.size() != 1) {
    std::cerr << "usage: triagectl retro ID\n";
    return kBadInput;
  }
  auto stub = v1::TriageService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::GetIncidentRequest request;
  request.set_id(args.positional[0]);
  v1::IncidentView view;
  grpc::Status s = stub->GetIncident(&ctx, request, &view);
  if (!s.ok()) return Failed(s);
  std::cout << Retro(view);
  return kOk;
}

}  // namespace triage::ctl
