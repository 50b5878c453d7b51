// triagectl drill: fire drills against a running triaged.
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/gzip.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "triage/ctl/client.h"
#include "triage/ctl/rpc.h"
#include "triage/v1/drill.grpc.pb.h"

namespace triage::ctl {

namespace {

using Stub = v1::DrillService::Stub;

int Start(Stub& stub, grpc::ClientContext& ctx, const CommandLine& args, bool json) {
  const std::vector<std::string>& p = args.positional;
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
  grpc::Status s = stub.StartDrill(&ctx, request, &drill);
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

// open DRILL CATEGORY, or answer DRILL CATEGORY.
int Act(Stub& stub, grpc::ClientContext& ctx, const CommandLine& args, bool json) {
  const std::vector<std::string>& p = args.positional;
  v1::DrillActionRequest request;
  request.set_drill_id(p[1]);
  request.set_category(p[2]);
  if (args.Has("minute")) request.set_minute(std::atof(args.Get("minute").c_str()));
  if (p[0] == "open") {
    v1::DrillStepResponse r;
    grpc::Status s = stub.OpenCategory(&ctx, request, &r);
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
  grpc::Status s = stub.Answer(&ctx, request, &drill);
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

int Report(Stub& stub, grpc::ClientContext& ctx, const CommandLine& args, bool json) {
  v1::DrillReportRequest request;
  request.set_trainee(args.Get("trainee"));
  v1::DrillReportResponse r;
  grpc::Status s = stub.DrillReport(&ctx, request, &r);
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

}  // namespace

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
  if (p[0] == "start" && p.size() == 2) return Start(*stub, ctx, args, json);
  if ((p[0] == "open" || p[0] == "answer") && p.size() == 3) return Act(*stub, ctx, args, json);
  if (p[0] == "report" && p.size() == 1) return Report(*stub, ctx, args, json);
  return usage();
}

}  // namespace triage::ctl
