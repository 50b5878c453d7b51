// Loading and checking triage tree files (the schema is proto/triage/v1/tree.proto;
// the shipped tree is rules/default_tree.textproto, compiled in as the default).
// Every problem is reported as "FILE:LINE: what is wrong". Pure functions;
// thread-safe.
//
//   absl::StatusOr<v1::Tree> tree = LoadTreeFile("my_tree.textproto");
//   std::vector<std::string> problems = CheckTreeText("t.textproto", text);
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "triage/v1/tree.pb.h"

namespace triage::rules {

// The text of rules/default_tree.textproto as built into the binary.
std::string_view DefaultTreeText();

// Every problem of a tree file: syntax, unknown check kind or parameter,
// duplicate id, missing cost, mitigation or check, bad duration or kind.
// Empty when the tree is valid.
std::vector<std::string> CheckTreeText(std::string_view file, std::string_view text);

// Parses and checks a tree; InvalidArgument lists every problem, one a line.
// Settings and parameters left out get the defaults of triage-tree.md.
absl::StatusOr<v1::Tree> ParseTree(std::string_view file, std::string_view text);
absl::StatusOr<v1::Tree> LoadTreeFile(const std::string& path);
absl::StatusOr<v1::Tree> DefaultTree();

// Milliseconds of a duration string the tree check validated (0 if invalid).
int64_t DurationMs(std::string_view text);

// The check kind a category binds ("change_log", "feature_drift", ...).
std::string CheckKind(const v1::Category& category);

// The categories in walk order: ascending cost, ties in file order.
std::vector<const v1::Category*> CostOrder(const v1::Tree& tree);

// Root causes recorded for resolved incidents: category id -> count; other
// causes (rare_class) count only in `total`.
struct RootCauseHistory {
  std::map<std::string, int> counts;
  int total = 0;
};

struct WalkOrder {
  std::vector<const v1::Category*> order;
  std::string name;                  // "cost" or "learned"
  double expected_minutes = 0;       // Under `order`.
  double expected_minutes_cost = 0;  // Under cost order.
};

// The tree's walk order: cost order, or with ordering LEARNED descending
// p_i / c_i (ties in cost order) where p_i is the smoothed share of past root
// causes. Expected minutes sum p_i times the cost of checks up to category i.
WalkOrder OrderFor(const v1::Tree& tree, const RootCauseHistory& history);

}  // namespace triage::rules
