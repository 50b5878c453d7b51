// Dependency records as edges (service -> what it consumes), and the one
// check the data model itself demands of them: no cycle. Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace triage {

using DependencyEdges = std::map<std::string, std::vector<std::string>>;

// A cycle as the list of its names with the first repeated at the end
// ("a", "b", "a"), or empty when the edges are acyclic. Deterministic.
std::vector<std::string> FindDependencyCycle(const DependencyEdges& edges);

}  // namespace triage
