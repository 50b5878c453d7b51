#include "collectors/change_sources.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/yaml_reader.h"
#include "proto/model/names.h"

namespace triage::collectors {

const EventTypeMapping* ChangeSources::Find(std::string_view type) const {
  for (const EventTypeMapping& m : cloudevents) {
    if (m.Matches(type)) return &m;
  }
  return nullptr;
}

std::string ChangeSources::Rename(const std::string& service) const {
  auto it = services.find(service);
  return it == services.end() ? service : it->second;
}

namespace {

// A field path: a CloudEvents attribute name (lower-case letters and
// digits) or data.<member>.<member>...
bool IsFieldPath(std::string_view path) {
  auto attribute = [](std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c)) return false;
    }
    return true;
  };
  if (path == "data") return true;
  if (!path.starts_with("data.")) return attribute(path);
  std::string_view rest = path.substr(5);
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    if (dot == 0) return false;
    if (dot == std::string_view::npos) return true;
    rest = rest.substr(dot + 1);
    if (rest.empty()) return false;
  }
  return false;
}

class Reader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  absl::StatusOr<std::string> String(const YAML::Node& n, std::string_view what) const {
    if (!n.IsScalar() || n.as<std::string>().empty()) {
      return Error(n, absl::StrFormat("%s must be a non-empty string", what));
    }
    return n.as<std::string>();
  }

  // A mapping of strings to names (services).
  absl::Status Names(const YAML::Node& n, std::string_view what,
                     std::map<std::string, std::string>* out) const {
    if (!n.IsMap()) return Error(n, absl::StrFormat("%s must be a mapping", what));
    for (const auto& kv : n) {
      absl::StatusOr<std::string> from = String(kv.first, what);
      if (!from.ok()) return from.status();
      absl::StatusOr<std::string> to = String(kv.second, what);
      if (!to.ok()) return to.status();
      if (!IsValidName(*to)) {
        return Error(kv.second, absl::StrFormat("%s: \"%s\" is not a service name "
                                                "([A-Za-z0-9_.:-], at most 128)",
                                                what, *to));
      }
      (*out)[*from] = *to;
    }
    return absl::OkStatus();
  }

  absl::Status Mapping(const YAML::Node& n, EventTypeMapping* m) const {
    if (absl::Status s = Keys(n, {"type", "kind", "service", "version", "summary", "actor", "url"},
                              "a cloudevents mapping");
        !s.ok()) {
      return s;
    }
    m->line = n.Mark().line + 1;
    absl::StatusOr<std::string> type = String(n["type"], "type");
    if (!type.ok()) return type.status();
    m->prefix = type->back() == '*';
    m->type = m->prefix ? type->substr(0, type->size() - 1) : *type;
    absl::StatusOr<std::string> kind = String(n["kind"], "kind");
    if (!kind.ok()) return kind.status();
    if (!IsChangeKind(*kind)) {
      return Error(n["kind"], absl::StrFormat("unknown change kind \"%s\" (known: %s)", *kind,
                                              absl::StrJoin(ChangeKinds(), ", ")));
    }
    m->kind = *kind;
    std::pair<const char*, std::string*> paths[] = {{"service", &m->service},
                                                    {"version", &m->version},
                                                    {"summary", &m->summary},
                                                    {"actor", &m->actor},
                                                    {"url", &m->url}};
    for (auto& [key, out] : paths) {
      if (!n[key]) continue;
      absl::StatusOr<std::string> path = String(n[key], key);
      if (!path.ok()) return path.status();
      if (!IsFieldPath(*path)) {
        return Error(n[key], absl::StrFormat("%s: \"%s\" is not a field path (an attribute such "
                                             "as subject, or data.<member>...)",
                                             key, *path));
      }
      *out = *path;
    }
    return absl::OkStatus();
  }

  absl::Status Top(const YAML::Node& root, ChangeSources* out) const {
    if (!root || root.IsNull()) return absl::OkStatus();
    if (absl::Status s =
            Keys(root, {"cloudevents", "services", "aws_health", "github"}, "the file");
        !s.ok()) {
      return s;
    }
    if (const YAML::Node ce = root["cloudevents"]) {
      if (!ce.IsSequence()) return Error(ce, "cloudevents must be a list of mappings");
      for (const YAML::Node& item : ce) {
        EventTypeMapping m;
        if (absl::Status s = Mapping(item, &m); !s.ok()) return s;
        out->cloudevents.push_back(std::move(m));
      }
    }
    if (const YAML::Node s = root["services"]) {
      if (absl::Status e = Names(s, "services", &out->services); !e.ok()) return e;
    }
    if (const YAML::Node aws = root["aws_health"]) {
      if (absl::Status s = Keys(aws, {"services", "unmapped"}, "aws_health"); !s.ok()) return s;
      if (aws["services"]) {
        absl::Status s = Names(aws["services"], "aws_health.services", &out->aws_services);
        if (!s.ok()) return s;
      }
      if (aws["unmapped"]) {
        absl::StatusOr<std::string> u = String(aws["unmapped"], "aws_health.unmapped");
        if (!u.ok()) return u.status();
        if (*u != "lowercase" && *u != "ignore") {
          return Error(aws["unmapped"], "aws_health.unmapped must be lowercase or ignore");
        }
        out->aws_ignore_unmapped = *u == "ignore";
      }
    }
    if (const YAML::Node gh = root["github"]) {
      if (absl::Status s = Keys(gh, {"repositories", "environments"}, "github"); !s.ok()) return s;
      if (gh["repositories"]) {
        absl::Status s =
            Names(gh["repositories"], "github.repositories", &out->github_repositories);
        if (!s.ok()) return s;
      }
      if (const YAML::Node envs = gh["environments"]) {
        if (!envs.IsSequence()) return Error(envs, "github.environments must be a list");
        for (const YAML::Node& e : envs) {
          absl::StatusOr<std::string> env = String(e, "github.environments");
          if (!env.ok()) return env.status();
          out->github_environments.push_back(*env);
        }
      }
    }
    return absl::OkStatus();
  }
};

}  // namespace

absl::StatusOr<ChangeSources> ParseChangeSources(std::string_view yaml, std::string_view name) {
  ChangeSources out;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (absl::Status s = Reader(std::string(name)).Top(root, &out); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrFormat("%s:%d: %s", name, e.mark.line + 1, e.msg));
  }
  return out;
}

absl::StatusOr<ChangeSources> LoadChangeSources(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot read %s", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseChangeSources(text.str(), path);
}

}  // namespace triage::collectors
