#include "triage/base/graph.h"

#include <algorithm>
#include <functional>

namespace triage {

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

std::vector<std::string> DependencyGraph::FindCycle() const {
  enum Color { kWhite, kGrey, kBlack };
  std::map<std::string, Color> color;
  std::vector<std::string> path;
  std::vector<std::string> cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& s) {
    color[s] = kGrey;
    path.push_back(s);
    auto it = edges_.find(s);
    if (it != edges_.end()) {
      for (const std::string& d : it->second) {
        Color c = color[d];
        if (c == kGrey) {
          auto start = std::find(path.begin(), path.end(), d);
          cycle.assign(start, path.end());
          cycle.push_back(d);
          return true;
        }
        if (c == kWhite && visit(d)) return true;
      }
    }
    path.pop_back();
    color[s] = kBlack;
    return false;
  };
  for (const auto& [s, _] : edges_) {
    if (color[s] == kWhite && visit(s)) return cycle;
  }
  return {};
}

}  // namespace triage
