// Hypotheses: one level down (triage-tree.md, v1.2). A HIT category's
// hypotheses are walked cheapest first, each as the check it binds; the
// root cause is the localized category's first HIT hypothesis, or the
// hypotheses are exhausted. Pure functions of the context and what Reads
// returns; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "rules/checks.h"
#include "rules/context.h"
#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

// Sets verdicts[i].hypotheses for every HIT verdict whose category
// (order[i]) has hypotheses.
void WalkHypotheses(const std::vector<const v1::Category*>& order, const Context& ctx,
                    Reads& load, v1::TriageReport* report);

// Sets report.root_cause for the localized category; exhausted hypotheses'
// NO_DATA ones become blind spots ("category/hypothesis").
void SetRootCause(const v1::Category& category, const v1::CategoryVerdict& localized,
                  v1::TriageReport* report);

// What of a recording's expectation beyond the category the report does not
// meet (the cohort, the hypothesis), as one line; empty when it meets all.
std::string ExpectedMismatch(const v1::Expected& expected, const v1::TriageReport& report);

}  // namespace triage::rules
