// Reading a YAML config file (the web config, the change-sources mapping)
// with errors that name the file's line: "sources.yml:7: what". Keys()
// refuses a key it was not told of, as Prometheus's config readers do.
// Thread-safe (const).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace triage::collectors {

class YamlReader {
 public:
  explicit YamlReader(std::string path) : path_(std::move(path)) {}

  absl::Status Error(const YAML::Node& at, std::string_view what) const;
  // `map` must be a mapping whose keys are all in `known` ("field K not
  // found in IN (known: ...)").
  absl::Status Keys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                    std::string_view in) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace triage::collectors
