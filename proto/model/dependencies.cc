#include "proto/model/dependencies.h"

#include <algorithm>
#include <functional>

namespace triage {

std::vector<std::string> FindDependencyCycle(const DependencyEdges& edges) {
  enum Color { kWhite, kGrey, kBlack };
  std::map<std::string, Color> color;
  std::vector<std::string> path;
  std::vector<std::string> cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& s) {
    color[s] = kGrey;
    path.push_back(s);
    auto it = edges.find(s);
    if (it != edges.end()) {
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
  for (const auto& [s, _] : edges) {
    if (color[s] == kWhite && visit(s)) return cycle;
  }
  return {};
}

}  // namespace triage
