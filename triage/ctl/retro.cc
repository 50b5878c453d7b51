// triagectl retro: an incident's retrospective as Markdown.
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"
#include "rules/cohorts.h"
#include "triage/ctl/client.h"
#include "triage/ctl/rpc.h"
#include "triage/v1/service.grpc.pb.h"

namespace triage::ctl {

namespace {

// 1. Timeline: onset, suspect changes and alerts at T+ from the first alert, then the
// incident's own timeline from its webhook.
void Timeline(const v1::IncidentView& v, std::string* md) {
  const v1::Incident& inc = v.incident();
  const v1::TriageReport& r = v.report();
  const v1::IncidentState& st = v.state();
  int64_t t0 = 0;
  for (const v1::Alert& a : inc.alerts()) {
    int64_t t = ToMs(a.fired_at());
    t0 = t0 == 0 ? t : std::min(t0, t);
  }
  auto offset = [&](int64_t t) {
    int64_t d = t - t0;
    return absl::StrFormat("T%s%d min", d < 0 ? "-" : "+", std::llabs(d) / kMinuteMs);
  };
  *md += "## 1. Timeline\n\n| T+ | time (UTC) | event |\n|---|---|---|\n";
  if (r.has_onset()) {
    const std::string where = rules::DescribeCohorts(r);
    absl::StrAppendFormat(md, "| %s | %s | metric left its normal band (onset)%s |\n",
                          offset(ToMs(r.onset())), FormatRfc3339(ToMs(r.onset())),
                          where.empty() ? "" : "; where: " + where);
  }
  for (const v1::SuspectChange& s : r.suspect_changes()) {
    absl::StrAppendFormat(md, "| %s | %s | change %s (%s on %s)%s |\n",
                          offset(ToMs(s.change().time())), FormatRfc3339(ToMs(s.change().time())),
                          s.change().id(), s.change().kind(), s.change().service(),
                          s.prime() ? ", prime suspect" : "");
  }
  for (const v1::Alert& a : inc.alerts()) {
    absl::StrAppendFormat(md, "| %s | %s | alert %s fired on %s/%s |\n", offset(ToMs(a.fired_at())),
                          FormatRfc3339(ToMs(a.fired_at())),
                          a.name().empty() ? "(unnamed)" : a.name(), a.service(), a.metric());
  }
  if (st.timeline_size() > 0) {
    int64_t received = ToMs(st.timeline(0).time());
    for (const v1::TimelineEntry& e : st.timeline()) {
      absl::StrAppendFormat(md, "| received+%.1f s | %s | %s: %s |\n",
                            static_cast<double>(ToMs(e.time()) - received) / 1000,
                            FormatRfc3339(ToMs(e.time())), e.event(), e.detail());
    }
  }
}

// 2. Root cause (recorded, else expected) and 3. customer impact.
void RootCauseAndImpact(const v1::IncidentView& v, std::string* md) {
  const v1::Incident& inc = v.incident();
  const v1::TriageReport& r = v.report();
  const v1::IncidentState& st = v.state();
  *md += "\n## 2. Root cause\n\n";
  if (!st.root_cause().empty()) {
    absl::StrAppendFormat(md, "Recorded root cause: **%s**%s\n\n", st.root_cause(),
                          st.root_cause_summary().empty() ? "" : " — " + st.root_cause_summary());
  } else if (!inc.expected().category().empty()) {
    absl::StrAppendFormat(md, "Recorded root cause: **%s**\n\n", inc.expected().category());
  } else {
    *md += "TODO: no root cause recorded yet (`triagectl resolve ID --root-cause CATEGORY`).\n\n";
  }
  absl::StrAppendFormat(md, "The walk localized **%s**.\n", r.localized_category());
  *md += "\n## 3. Customer impact\n\n";
  for (const v1::AlertOnset& o : r.onsets()) {
    if (o.detected()) {
      absl::StrAppendFormat(md, "- %s/%s fell from %.4g to %.4g from %s.\n", o.service(),
                            o.metric(), o.baseline_median(), o.current_median(),
                            FormatRfc3339(ToMs(o.onset())));
    }
  }
  if (st.minutes_to_resolve() > 0) {
    absl::StrAppendFormat(md, "- Resolved after %.0f minutes.\n", st.minutes_to_resolve());
  }
  *md += "- TODO: users, requests or revenue affected.\n";
}

// 4. What went well, 5. what did not, 6. action items.
void WentWellAndNot(const v1::IncidentView& v, std::string* md) {
  const v1::TriageReport& r = v.report();
  const v1::IncidentState& st = v.state();
  *md += "\n## 4. What went well\n\n";
  for (const v1::CategoryVerdict& c : r.verdicts()) {
    if (c.category() == r.localized_category()) {
      absl::StrAppendFormat(md, "- The walk implicated %s (cost %g min) in %.0f ms: %s\n",
                            c.category(), c.cost_minutes(), r.walk_ms(), c.evidence());
    }
  }
  *md += "- TODO\n";
  *md += "\n## 5. What did not go well\n\n";
  for (const v1::BlindSpot& b : r.blind_spots()) {
    absl::StrAppendFormat(md, "- Blind spot %s: %s\n", b.category(), b.reason());
  }
  *md += "- TODO\n";
  *md += "\n## 6. Action items\n\n| action | owner | due | status |\n|---|---|---|---|\n";
  for (const v1::ActionItem& a : st.action_items()) {
    absl::StrAppendFormat(md, "| %s | %s | %s | %s |\n", a.text(), a.owner(),
                          FormatRfc3339(ToMs(a.due())).substr(0, 10),
                          v1::ActionItem::Status_Name(a.status()));
  }
  *md += "| TODO | TODO | TODO | open |\n";
}

// 7. Calibration: was the tree right, and how far down the walk the cause was.
void Calibration(const v1::IncidentView& v, std::string* md) {
  const v1::Incident& inc = v.incident();
  const v1::TriageReport& r = v.report();
  const v1::IncidentState& st = v.state();
  *md += "\n## 7. Calibration\n\n";
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
        md, "- Localized %s, recorded %s: %s.\n", r.localized_category(), cause,
        r.localized_category() == cause ? "the tree was right" : "**the tree was wrong**");
    if (std::string where = rules::DescribeCohorts(r); !where.empty()) {
      const std::string miss = rules::CohortMismatch(inc.expected(), r);
      absl::StrAppendFormat(md, "- Where: %s%s.\n", where,
                            inc.expected().has_cohort()
                                ? (miss.empty() ? " (as recorded)" : " — **" + miss + "**")
                                : "");
    }
    if (cause != "rare_class" && position <= r.verdicts_size()) {
      absl::StrAppendFormat(
          md,
          "- Walking cheapest first reaches %s at step %d after %.0f min of checks "
          "(target: localize within 15 min).\n",
          cause, position, cost);
    }
  } else {
    *md += "- TODO: calibrate once the root cause is known.\n";
  }
  *md +=
      "- **Is this a new category?** TODO: if no category of the tree describes the cause, add one "
      "to rules/default_tree.textproto (id, cost, check, owner, playbook) and run "
      "`triagectl rules check FILE --regress` on past incidents.\n";
  if (r.localized_category() == "rare_class") {
    *md += "- The walk ended in rare_class. Blind spots: ";
    std::vector<std::string> blind;
    for (const v1::BlindSpot& b : r.blind_spots()) blind.push_back(b.category());
    *md += blind.empty() ? "none (every category had data)." : absl::StrJoin(blind, ", ") + ".";
    *md += "\n- Evidence that no category matched:\n";
    for (const v1::CategoryVerdict& c : r.verdicts()) {
      absl::StrAppendFormat(md, "  - %s (%s): %s\n", c.category(), v1::Verdict_Name(c.verdict()),
                            c.evidence());
    }
  }
}

std::string Retro(const v1::IncidentView& v) {
  const v1::Incident& inc = v.incident();
  std::string md;
  absl::StrAppendFormat(&md, "# Retrospective: %s%s\n\n", inc.id(),
                        inc.title().empty() ? "" : " — " + inc.title());
  Timeline(v, &md);
  RootCauseAndImpact(v, &md);
  WentWellAndNot(v, &md);
  Calibration(v, &md);
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
