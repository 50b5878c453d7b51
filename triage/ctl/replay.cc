#include "triage/ctl/replay.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/proto_json.h"
#include "proto/model/time.h"
#include "rules/cohorts.h"

namespace triage::ctl {

namespace {

const char* VerdictName(v1::Verdict v) {
  switch (v) {
    case v1::HIT:
      return "HIT";
    case v1::CLEAR:
      return "CLEAR";
    case v1::NO_DATA:
      return "NO_DATA";
    default:
      return "?";
  }
}

}  // namespace

std::string ReportJson(const v1::TriageReport& report) { return ProtoJson(report); }

std::string RenderReport(const v1::TriageReport& r, const v1::Incident& incident) {
  std::string out;
  int64_t now = ToMs(r.now()), onset = ToMs(r.onset());
  absl::StrAppendFormat(&out, "incident %s%s\n", r.incident_id(),
                        incident.title().empty() ? "" : ": " + incident.title());
  absl::StrAppendFormat(&out, "now %s   onset %s (%d min before now)\n", FormatRfc3339(now),
                        FormatRfc3339(onset), (now - onset) / kMinuteMs);
  for (const v1::AlertOnset& o : r.onsets()) {
    absl::StrAppendFormat(&out, "  %s/%s fired %s: %s\n", o.service(), o.metric(),
                          FormatRfc3339(ToMs(o.fired_at())), o.note());
  }
  out += "\n";
  const v1::CategoryVerdict* loc = nullptr;
  for (const v1::CategoryVerdict& v : r.verdicts()) {
    if (v.category() == r.localized_category()) loc = &v;
  }
  if (loc != nullptr) {
    absl::StrAppendFormat(&out, "LOCALIZED: %s (%s) -> owner %s\n", loc->category(), loc->name(),
                          loc->owner());
    absl::StrAppendFormat(&out, "  evidence:   %s\n", loc->evidence());
    absl::StrAppendFormat(&out, "  mitigation: %s\n", r.mitigation());
  } else {
    absl::StrAppendFormat(&out, "LOCALIZED: %s\n  %s\n", r.localized_category(), r.escalation());
  }
  if (r.has_root_cause()) {
    const v1::RootCause& rc = r.root_cause();
    absl::StrAppendFormat(
        &out, "ROOT CAUSE: %s / %s \xe2\x80\x94 %s\n", rc.category(),
        rc.exhausted() ? "(hypotheses exhausted)"
                       : (rc.hypothesis().empty() ? "(no hypotheses)" : rc.hypothesis()),
        rc.evidence());
    if (rc.exhausted()) absl::StrAppendFormat(&out, "  next: the category owner, %s\n", rc.owner());
  }
  if (std::string where = rules::DescribeCohorts(r); !where.empty()) {
    absl::StrAppendFormat(&out, "  where: %s\n", where);
  }
  for (const v1::SuspectChange& s : r.suspect_changes()) {
    if (s.prime()) {
      absl::StrAppendFormat(&out, "  prime suspect: %s (%s on %s, %.0f min before onset); %s\n",
                            s.change().id(), s.change().kind(), s.change().service(),
                            s.minutes_before_onset(), s.rollback_hint());
    }
  }
  out += "\nwalk (cheapest first):\n";
  int i = 0;
  for (const v1::CategoryVerdict& v : r.verdicts()) {
    absl::StrAppendFormat(&out, "  %2d. %-7s %-17s %4.0f min  %6.2f ms  %s\n", ++i,
                          VerdictName(v.verdict()), v.category(), v.cost_minutes(), v.check_ms(),
                          v.evidence());
    for (const v1::HypothesisVerdict& h : v.hypotheses()) {
      absl::StrAppendFormat(&out, "        - %-7s %-22s %4.0f min  %s -> %s\n",
                            VerdictName(h.verdict()), h.id(), h.cost_minutes(), h.evidence(),
                            h.owner());
    }
  }
  if (r.suspect_changes_size() > 0) {
    out += "\nsuspect changes:\n";
    for (const v1::SuspectChange& s : r.suspect_changes()) {
      absl::StrAppendFormat(&out, "  %s%s [%s] %s on %s at %s (%.0f min before onset) -> %s\n",
                            s.prime() ? "* " : "  ", s.change().id(), s.category(),
                            s.change().kind(), s.change().service(),
                            FormatRfc3339(ToMs(s.change().time())), s.minutes_before_onset(),
                            s.rollback_hint());
    }
  }
  if (r.after_onset_changes_size() > 0) {
    out += "\nafter onset (cannot have caused it):\n";
    for (const v1::Change& c : r.after_onset_changes()) {
      absl::StrAppendFormat(&out, "  %s %s on %s at %s\n", c.id(), c.kind(), c.service(),
                            FormatRfc3339(ToMs(c.time())));
    }
  }
  out += "\nblind spots (NO_DATA, not ruled out):\n";
  if (r.blind_spots_size() == 0) out += "  none\n";
  for (const v1::BlindSpot& b : r.blind_spots()) {
    absl::StrAppendFormat(&out, "  %s: %s\n", b.category(), b.reason());
  }
  if (r.shared_dependencies_size() > 0) {
    out += "\nshared dependencies (most shared first):\n";
    for (const v1::SharedDependency& d : r.shared_dependencies()) {
      absl::StrAppendFormat(&out, "  %s <- %s\n", d.service(),
                            absl::StrJoin(d.alerted_services(), ", "));
    }
  }
  absl::StrAppendFormat(&out,
                        "\norder: %s; expected minutes of checks to the root cause: %.1f (cost "
                        "order %.1f, %d past incidents)\n",
                        r.ordering(), r.expected_minutes(), r.expected_minutes_cost_order(),
                        r.history_incidents());
  absl::StrAppendFormat(&out, "walk %.1f ms (store reads %.1f ms)\n", r.walk_ms(), r.load_ms());
  return out;
}

}  // namespace triage::ctl
