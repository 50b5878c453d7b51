// The incident as every check sees it (now, onset, the candidate window,
// the services in scope, the changes) and its candidate changes
// (triage-tree.md: "candidate change"). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "triage/v1/records.pb.h"
#include "triage/v1/report.pb.h"

namespace triage::rules {

struct Context {
  int64_t now = 0;
  int64_t onset = 0;
  int64_t candidate_from = 0;         // onset - candidate_before
  int64_t candidate_to = 0;           // onset + candidate_after
  std::vector<std::string> services;  // Alerted services, in alert order, unique.
  std::set<std::string> deps;         // Union of deps(S).
  std::set<std::string> consumers;    // Union of consumers(S), minus deps.
  std::vector<v1::Change> changes;    // Every change the tree reads (SpansOf), by time.
  // Change-feed coverage (triage-tree.md): set while categories are walked,
  // 0 (off) for hypotheses and with change_feed_window "0s".
  int64_t feed_from = 0;
  // Why no onset could be read (the metrics source failed): checks that
  // place a candidate window are NO_DATA with this reason.
  std::string onset_error;
  google::protobuf::Map<std::string, std::string> metric_queries;  // TreeSettings'.
};

// A change is on one of `services` or on "*".
bool AppliesTo(const v1::Change& c, const std::set<std::string>& services);

// Candidate changes of `kinds` on `services` (or "*"), newest first.
std::vector<const v1::Change*> Candidates(
    const Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& kinds,
    const std::set<std::string>& services);
// The same in [from, to] instead of the candidate window.
std::vector<const v1::Change*> Candidates(
    const Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& kinds,
    const std::set<std::string>& services, int64_t from, int64_t to);

// "chg-1 config on svc v2 <- v1 at T (12 min before onset): summary"
std::string DescribeChange(const v1::Change& c, int64_t onset);

// Records `candidates` on the verdict (ids, and evidence lines); true when
// there are any.
bool AddCandidates(const std::vector<const v1::Change*>& candidates, const Context& ctx,
                   v1::CategoryVerdict* v, std::vector<std::string>* evidence);

// "[from, to]" of the candidate window, RFC 3339.
std::string WindowText(const Context& ctx);

// "a, b, c"
std::string Join(const std::set<std::string>& s);

}  // namespace triage::rules
