// The triagectl commands that talk to a running triaged over gRPC
// (--server HOST:PORT, default 127.0.0.1:7070). Each returns the process
// exit code: 0 ok, 2 bad input or usage, 3 the server failed or is unreachable.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace triage::ctl {

// A parsed command line: positionals, and --name value flags in order.
struct CommandLine {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;
  bool Has(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> All(const std::string& name) const;
};

// The connection flags every server command takes.
inline const std::vector<std::string>& ConnectionFlags() {
  static const std::vector<std::string> kFlags = {
      "server", "ca-file",       "cert-file", "key-file", "insecure-skip-verify",
      "user",   "password-file", "token-file"};
  return kFlags;
}

// Sets how the commands below reach triaged: TLS when --ca-file,
// --cert-file or --insecure-skip-verify is given (the last for tests only),
// and Basic (--user, --password-file) or Bearer (--token-file) credentials,
// read from their files. InvalidArgument names the flag.
absl::Status ConfigureConnection(const CommandLine& args);

int IngestCommand(const std::string& server, const CommandLine& args);
int ChangeAddCommand(const std::string& server, const CommandLine& args);
int TriageCommand(const std::string& server, const CommandLine& args);
int IncidentsCommand(const std::string& server, const CommandLine& args);
int OverlayCommand(const std::string& server, const CommandLine& args);
// drill start BUNDLE | open ID CATEGORY | answer ID CATEGORY | report
int DrillCommand(const std::string& server, const CommandLine& args);
int ExportCommand(const std::string& server, const CommandLine& args);
int ResolveCommand(const std::string& server, const CommandLine& args);
// Writes the retrospective of an incident as Markdown.
int RetroCommand(const std::string& server, const CommandLine& args);
// The incident practice per quarter and team (review.cc).
int ReviewCommand(const std::string& server, const CommandLine& args);

}  // namespace triage::ctl
