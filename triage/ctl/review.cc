// triagectl review: the incident practice per quarter and team.
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "triage/ctl/client.h"
#include "triage/ctl/rpc.h"
#include "triage/v1/service.grpc.pb.h"

namespace triage::ctl {

namespace {

std::string Minutes(const v1::Minutes& m) {
  if (m.count() == 0) return "-";
  std::string s =
      absl::StrFormat("median %.1f, p90 %.1f min (n=%d)", m.median(), m.p90(), m.count());
  if (m.has_median_change()) {
    absl::StrAppendFormat(&s, "; %+.1f / %+.1f vs the quarter before", m.median_change(),
                          m.p90_change());
  }
  return s;
}

std::string Render(const v1::ReviewResponse& r) {
  std::string out;
  for (const v1::QuarterReview& q : r.quarters()) {
    absl::StrAppendFormat(&out, "## %s, team %s: %d incident%s\n", q.quarter(), q.team(),
                          q.incidents(), q.incidents() == 1 ? "" : "s");
    absl::StrAppendFormat(
        &out, "pages per week     %.2f (threshold %g); %d week%s above%s\n", q.pages_per_week(),
        r.pages_threshold(), q.weeks_above_threshold(), q.weeks_above_threshold() == 1 ? "" : "s",
        q.sustained() ? ", SUSTAINED (3+ weeks in a row): invest in quality" : "");
    absl::StrAppendFormat(&out, "MTTR               %s (target %g)\n", Minutes(q.mttr_minutes()),
                          r.mttr_target_minutes());
    absl::StrAppendFormat(&out, "time to localize   %s\n", Minutes(q.time_to_localize_minutes()));
    absl::StrAppendFormat(&out, "time to cause      %s\n", Minutes(q.time_to_cause_minutes()));
    if (q.has_localization_accuracy()) {
      absl::StrAppendFormat(
          &out, "localized right    %d of %d (%.0f%%)%s\n", q.localization_correct(),
          q.localization_recorded(), 100 * q.localization_accuracy(),
          q.unknown_causes() > 0 ? absl::StrFormat("; %d cause%s unknown", q.unknown_causes(),
                                                   q.unknown_causes() == 1 ? "" : "s")
                                 : "");
      for (const v1::ConfusionCell& c : q.confusion()) {
        if (c.recorded() != c.localized()) {
          absl::StrAppendFormat(&out, "  recorded %s, localized %s: %d\n", c.recorded(),
                                c.localized(), c.count());
        }
      }
    }
    for (const v1::RareClassIncident& i : q.rare_class()) {
      absl::StrAppendFormat(&out, "rare_class         %s (%s): new category? %s\n", i.incident_id(),
                            i.title(), i.new_category());
    }
    for (const v1::OverdueActionItem& a : q.overdue_action_items()) {
      absl::StrAppendFormat(&out, "overdue            %s: %s (owner %s, due %s, %.0f days late)\n",
                            a.incident_id(), a.text(), a.owner(),
                            FormatRfc3339(ToMs(a.due())).substr(0, 10), a.days_overdue());
    }
    const v1::DrillCoverage& d = q.drills();
    if (d.drills() > 0 || d.roster_size() > 0) {
      absl::StrAppendFormat(&out, "drills             %d (%d correct); walked: %s", d.drills(),
                            d.correct(),
                            d.walked().empty() ? "nobody" : absl::StrJoin(d.walked(), ", "));
      if (d.missing_size() > 0) {
        absl::StrAppendFormat(&out, "; NOT walked: %s", absl::StrJoin(d.missing(), ", "));
      }
      out += "\n";
      if (d.missed_most_size() > 0) {
        absl::StrAppendFormat(&out, "  missed most: %s\n", absl::StrJoin(d.missed_most(), ", "));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace

int ReviewCommand(const std::string& server, const CommandLine& args) {
  if (!args.positional.empty()) {
    std::cerr << "usage: triagectl review [--quarter 2026Q2] [--team OWNER] [--json]\n";
    return kBadInput;
  }
  v1::ReviewRequest request;
  request.set_quarter(args.Get("quarter"));
  request.set_team(args.Get("team"));
  auto stub = v1::TriageService::NewStub(Channel(server));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::ReviewResponse response;
  grpc::Status s = stub->Review(&ctx, request, &response);
  if (!s.ok()) return Failed(s);
  std::cout << (args.Has("json") ? ProtoJson(response) + "\n" : Render(response));
  return kOk;
}

}  // namespace triage::ctl
