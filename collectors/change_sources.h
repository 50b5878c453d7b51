// How change events from other systems become triage changes: the mapping
// file of `triaged --change-sources-file` (YAML), checked by `triagectl
// check change-sources FILE`. Every part is optional:
//
//   cloudevents:                 # CloudEvent types a team emits (first match wins;
//     - type: com.acme.flag.*    #  exact, or a prefix ending in "*"; checked before
//       kind: config             #  the built-in CDEvents service.* types)
//       service: data.flag.app   # a path: an attribute (subject, source, ...) or
//       version: data.flag.rev   #  data.<member>...; service takes the value's last
//       summary: data.reason     #  path segment; service defaults to subject's
//       actor: data.user
//       url: data.link
//   services:                    # renames of the service any source named
//     mySubject123: reranker
//   aws_health:
//     services: {BEDROCK: bedrock, ES: opensearch}  # detail.service -> service
//     unmapped: lowercase        # or "ignore"; the default lower-cases the code
//   github:
//     repositories: {acme/reranker-svc: reranker}    # full_name -> service
//     environments: [production] # deployment environments kept (default: all)
//
// Errors name the file's line ("sources.yml:7: unknown change kind ...").
// Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace triage::collectors {

// Where a mapped CloudEvent's fields come from (paths, empty: not set).
struct EventTypeMapping {
  std::string type;  // Without the "*".
  bool prefix = false;
  std::string kind;
  std::string service;
  std::string version;
  std::string summary;
  std::string actor;
  std::string url;
  int line = 0;  // In the mapping file, for messages.

  bool Matches(std::string_view event_type) const {
    return prefix ? event_type.starts_with(type) : event_type == type;
  }
};

struct ChangeSources {
  std::vector<EventTypeMapping> cloudevents;
  std::map<std::string, std::string> services;      // Any source's service -> ours.
  std::map<std::string, std::string> aws_services;  // detail.service -> ours.
  bool aws_ignore_unmapped = false;
  std::map<std::string, std::string> github_repositories;  // full_name -> ours.
  std::vector<std::string> github_environments;            // Empty: all.

  // The mapping of a CloudEvent type, or nullptr.
  const EventTypeMapping* Find(std::string_view type) const;
  // `service` renamed by `services`, or itself.
  std::string Rename(const std::string& service) const;
};

// `name` is the file's name in messages.
absl::StatusOr<ChangeSources> ParseChangeSources(std::string_view yaml, std::string_view name);
absl::StatusOr<ChangeSources> LoadChangeSources(const std::string& path);

}  // namespace triage::collectors
