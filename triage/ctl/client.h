// The triagectl commands that talk to a running triaged over gRPC
// (--server HOST:PORT, default 127.0.0.1:7070). Each returns the process
// exit code: 0 ok, 2 bad input or usage, 3 the server failed or is unreachable.
#pragma once

#include <string>
#include <vector>

namespace triage::ctl {

// A parsed command line: positionals, and --name value flags in order.
struct CommandLine {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;
  bool Has(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> All(const std::string& name) const;
};

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

}  // namespace triage::ctl
