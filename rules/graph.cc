#include "rules/graph.h"

#include "proto/model/dependencies.h"

namespace triage::rules {

void DependencyGraph::Set(const std::string& service, std::vector<std::string> depends_on) {
  edges_[service] = std::move(depends_on);
}

std::set<std::string> DependencyGraph::Deps(const std::string& service) const {
  std::set<std::string> seen{service};
  std::vector<std::string> stack{service};
  while (!stack.empty()) {
    std::string s = std::move(stack.back());
    stack.pop_back();
    auto it = edges_.find(s);
    if (it == edges_.end()) continue;
    for (const std::string& d : it->second) {
      if (seen.insert(d).second) stack.push_back(d);
    }
  }
  return seen;
}

std::set<std::string> DependencyGraph::Consumers(const std::string& service) const {
  std::set<std::string> out;
  for (const auto& [s, _] : edges_) {
    if (s != service && Deps(s).contains(service)) out.insert(s);
  }
  return out;
}

std::vector<std::string> DependencyGraph::FindCycle() const { return FindDependencyCycle(edges_); }

}  // namespace triage::rules
