#include "collectors/yaml_reader.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace triage::collectors {

absl::Status YamlReader::Error(const YAML::Node& at, std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrFormat("%s:%d: %s", path_, at.Mark().line + 1, what));
}

absl::Status YamlReader::Keys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                              std::string_view in) const {
  if (!map.IsMap()) return Error(map, absl::StrFormat("%s must be a mapping", in));
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::vector<std::string> names(known.begin(), known.end());
      return Error(kv.first, absl::StrFormat("field %s not found in %s (known: %s)", key, in,
                                             absl::StrJoin(names, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace triage::collectors
