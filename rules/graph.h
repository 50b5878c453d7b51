// The dependency graph: service -> what it consumes. deps(S) is everything
// reachable from S plus S; consumers(S) is every service whose deps hold S.
// Value type; not synchronised.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "proto/model/dependencies.h"

namespace triage::rules {

class DependencyGraph {
 public:
  // Replaces the edges of `service`.
  void Set(const std::string& service, std::vector<std::string> depends_on);

  // deps(S): S and everything reachable from it. Terminates on cyclic input.
  std::set<std::string> Deps(const std::string& service) const;
  // consumers(S): every service other than S whose deps hold S.
  std::set<std::string> Consumers(const std::string& service) const;

  // A cycle as the list of its names with the first repeated at the end
  // ("a", "b", "a"), or empty when the graph is acyclic. Deterministic.
  std::vector<std::string> FindCycle() const;

  const DependencyEdges& edges() const { return edges_; }

 private:
  DependencyEdges edges_;
};

}  // namespace triage::rules
