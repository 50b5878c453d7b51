// One check kind (triage-tree.md, "Check kinds"): the `check` case of a
// category it runs on, whether it needs the incident's onset, the walk's
// work, and what it reads besides the common spans (for an export). Each kind
// lives in its own file beside this one and defines one CheckKindDef; the
// registry (registry.cc) lists them, so adding a kind touches its file and
// the registry. Kinds are pure functions of the context and what Reads
// returns; thread-safe.
#pragma once

#include <cstdint>

#include "rules/checks.h"
#include "rules/context.h"
#include "triage/v1/report.pb.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

struct CheckKindDef {
  v1::Category::CheckCase check;
  // Checks that place a candidate window: NO_DATA when the onset is unknown.
  bool needs_onset;
  // Sets v's verdict and evidence for category `c` (its check is `check`).
  void (*run)(const v1::Category& c, const Context& ctx, Reads& reads, v1::CategoryVerdict* v);
  // Widens `spans` to what the kind reads at `now` for `onset`; null when it
  // reads only the common spans (changes, the alerted series, probes).
  void (*add_spans)(const v1::Category& c, int64_t now, int64_t onset, ReadSpans* spans);
};

// The kinds, one per file.
extern const CheckKindDef kChangeLogKind;
extern const CheckKindDef kUpstreamHealthKind;
extern const CheckKindDef kFeatureDriftKind;
extern const CheckKindDef kEvalStalenessKind;
extern const CheckKindDef kTrafficMixKind;
extern const CheckKindDef kDependencyHealthKind;

}  // namespace triage::rules
