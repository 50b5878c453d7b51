// triagectl: the command-line client of triage (like promtool / amtool).
// Exit codes: 0 ok, 1 triage mismatch, 2 bad input or usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "collectors/change_sources.h"
#include "grpc/grpc.h"
#include "rules/hypotheses.h"
#include "rules/tree.h"
#include "triage/ctl/client.h"
#include "triage/ctl/replay.h"
#include "triage/ctl/rpc.h"
#include "triage/replay/replay.h"
#include "triage/auth/web_config.h"

namespace {

constexpr int kOk = 0;
constexpr int kMismatch = 1;
constexpr int kBadInput = 2;

constexpr char kUsage[] = R"(usage: triagectl COMMAND [ARGS]

  replay BUNDLE [--tree FILE] [--json]
      Walk the triage tree over a recorded incident (.jsonl or .jsonl.gz).
      Exit 1 when the bundle's expected category differs from the result.
  regress PATH... [--tree FILE]
      Replay every bundle (files, or directories of *.jsonl[.gz]) that records
      an expected category; one line per bundle and "N passed, M failed".
  rules check FILE [--regress PATH...]
      Validate a tree file; every problem is printed as FILE:LINE: what.
      With --regress, also replay the recorded incidents under PATH against
      it: exit 1 if the candidate tree breaks one.

Against a running triaged (--server HOST:PORT, default 127.0.0.1:7070):
  ingest BUNDLE [--json]
      Send a bundle (.jsonl or .jsonl.gz); an incident record in it is walked.
  change add --kind K --service S [--id ID --time T --version V
             --previous-version P --actor A --summary TEXT --url U --source SRC]
  triage --service S --metric M [--service S2 --metric M2 ...] [--at TIME] [--json]
      Walk the tree now (or as of --at) for the alerted service(s).
  incidents [--json]
  overlay --service S --metric M --window 60m|24h|7d [--end TIME] [--max-points N]
          [--max-other-changes N] [--json]
  resolve ID --root-cause CATEGORY [--summary TEXT] [--new-category NAME]
      Resolve with the root cause (a category id, rare_class, or unknown).
  retro ID
      The incident's retrospective as Markdown, TODOs where a human writes.
  review [--quarter 2026Q2] [--team OWNER] [--json]
      Is the practice working: per quarter and team, pages per week, MTTR and
      time to localize, localization accuracy, rare_class, overdue items, drills.
  drill start BUNDLE [--trainee NAME] | drill open DRILL CATEGORY [--minute M]
  drill answer DRILL CATEGORY [--minute M] | drill report [--trainee NAME]
      Fire drills on recorded incidents, in stores of their own, scored.
  export --incident ID > bundle.jsonl
      A complete bundle of a stored incident (replay gives the same report).
  check web-config FILE
      Validate a web config (--web-config-file); exit 0 ok, 1 invalid (as promtool).
  check change-sources FILE
      Validate a change-sources mapping (--change-sources-file); exit 0 ok, 1 invalid.

Connecting (every server command): --server HOST:PORT; TLS with --ca-file FILE
(and --cert-file FILE --key-file FILE for a client certificate), or
--insecure-skip-verify (tests only: no certificate check); credentials with
--user NAME --password-file FILE (Basic) or --token-file FILE (Bearer).
TIME is RFC 3339 (2026-04-28T03:00:00Z), Unix milliseconds, or "now".

Exit codes: 0 ok, 1 triage mismatch, 2 bad input or usage, 3 server error.
)";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "triagectl: " << problem << "\n\n";
  std::cerr << kUsage;
  return kBadInput;
}

using Args = triage::ctl::CommandLine;

// Splits argv into positionals and --flag[=value] / --flag value options.
bool ParseArgs(const std::vector<std::string>& argv, Args* a, std::string* error) {
  static const std::vector<std::string> kBool = {"json", "insecure-skip-verify"};
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.rfind("--", 0) != 0 || s.size() == 2) {
      a->positional.push_back(s);
      continue;
    }
    std::string name = s.substr(2), value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (std::find(kBool.begin(), kBool.end(), name) == kBool.end()) {
      if (i + 1 >= argv.size()) {
        *error = "--" + name + " needs a value";
        return false;
      }
      value = argv[++i];
    } else {
      value = "true";
    }
    a->flags.emplace_back(name, value);
  }
  return true;
}

// The first flag not in `known` (nor a connection flag when `remote`), or "".
std::string Unknown(const Args& args, const std::vector<std::string>& known, bool remote = true) {
  const std::vector<std::string>& connection = triage::ctl::ConnectionFlags();
  for (const auto& f : args.flags) {
    bool ok =
        std::find(known.begin(), known.end(), f.first) != known.end() ||
        (remote && std::find(connection.begin(), connection.end(), f.first) != connection.end());
    if (!ok) return "--" + f.first;
  }
  return "";
}

absl::StatusOr<triage::v1::Tree> LoadTree(const Args& args) {
  if (args.Has("tree")) return triage::rules::LoadTreeFile(args.Get("tree"));
  return triage::rules::DefaultTree();
}

int Replay(const Args& args) {
  if (args.positional.size() != 1) return Usage("replay takes one BUNDLE");
  absl::StatusOr<triage::v1::Tree> tree = LoadTree(args);
  if (!tree.ok()) {
    std::cerr << tree.status().message() << "\n";
    return kBadInput;
  }
  absl::StatusOr<triage::replay::Replayed> r =
      triage::replay::ReplayFile(args.positional[0], *tree);
  if (!r.ok()) {
    std::cerr << r.status().message() << "\n";
    return absl::IsInvalidArgument(r.status()) || absl::IsNotFound(r.status()) ? kBadInput : 3;
  }
  if (args.Has("json")) {
    std::cout << triage::ctl::ReportJson(r->report) << "\n";
  } else {
    std::cout << triage::ctl::RenderReport(r->report, r->incident);
    std::cout << absl::StrFormat("replay: read %.1f ms, store write %.1f ms, walk %.1f ms\n",
                                 r->read_ms, r->write_ms, r->walk_ms);
  }
  const std::string& expected = r->incident.expected().category();
  if (!expected.empty() && expected != r->report.localized_category()) {
    std::cerr << absl::StrFormat("triagectl: expected %s, got %s\n", expected,
                                 r->report.localized_category());
    return kMismatch;
  }
  if (std::string m = triage::rules::ExpectedMismatch(r->incident.expected(), r->report);
      !m.empty()) {
    std::cerr << "triagectl: " << m << "\n";
    return kMismatch;
  }
  return kOk;
}

bool IsBundleFile(const std::filesystem::path& p) {
  std::string name = p.filename().string();
  auto ends = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".jsonl") || ends(".jsonl.gz");
}

// Replays every bundle under `paths` that records an expected category with
// `tree`; a line each and "N passed, M failed".
int RunRegress(const triage::v1::Tree& tree, const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        if (e.is_regular_file() && IsBundleFile(e.path())) in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    } else {
      std::cerr << p << ": no such file or directory\n";
      return kBadInput;
    }
  }
  int passed = 0, failed = 0, bad = 0, skipped = 0;
  for (const std::string& f : files) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<triage::replay::Replayed> r = triage::replay::ReplayFile(f, tree);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {
      ++bad;
      ++failed;
      std::cout << absl::StrFormat("%-28s ERROR  %s\n", f, r.status().message());
      continue;
    }
    const std::string& expected = r->incident.expected().category();
    if (expected.empty()) {
      ++skipped;
      std::cout << absl::StrFormat("%-28s skipped (no expected.category)\n", r->incident.id());
      continue;
    }
    const std::string& got = r->report.localized_category();
    const std::string cohort = triage::rules::ExpectedMismatch(r->incident.expected(), r->report);
    bool ok = got == expected && cohort.empty();
    (ok ? passed : failed)++;
    std::cout << absl::StrFormat("%-28s expected %-17s got %-17s %-4s %7.1f ms%s\n",
                                 r->incident.id(), expected, got, ok ? "ok" : "FAIL", ms,
                                 cohort.empty() ? "" : "  " + cohort);
  }
  std::cout << absl::StrFormat("%d passed, %d failed%s\n", passed, failed,
                               skipped > 0 ? absl::StrFormat(", %d skipped", skipped) : "");
  if (bad > 0) return kBadInput;
  return failed > 0 ? kMismatch : kOk;
}

int Regress(const Args& args) {
  if (args.positional.empty()) return Usage("regress takes at least one PATH");
  absl::StatusOr<triage::v1::Tree> tree = LoadTree(args);
  if (!tree.ok()) {
    std::cerr << tree.status().message() << "\n";
    return kBadInput;
  }
  return RunRegress(*tree, args.positional);
}

int RulesCheck(const Args& args) {
  // rules check FILE [--regress PATH...]: paths after the first are positional.
  std::vector<std::string> regress = args.All("regress");
  if (args.Has("regress"))
    regress.insert(regress.end(),
                   args.positional.begin() + std::min<size_t>(2, args.positional.size()),
                   args.positional.end());
  if (args.positional.size() < 2 || args.positional[0] != "check" ||
      (!args.Has("regress") && args.positional.size() != 2)) {
    return Usage("usage: triagectl rules check FILE [--regress PATH...]");
  }
  const std::string& path = args.positional[1];
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::cerr << path << ": cannot open\n";
    return kBadInput;
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  std::vector<std::string> problems = triage::rules::CheckTreeText(path, text);
  for (const std::string& p : problems) std::cerr << p << "\n";
  if (!problems.empty()) {
    std::cerr << absl::StrFormat("%s: %d problem%s\n", path, problems.size(),
                                 problems.size() == 1 ? "" : "s");
    return kBadInput;
  }
  absl::StatusOr<triage::v1::Tree> tree = triage::rules::ParseTree(path, text);
  std::string order;
  for (const triage::v1::Category* c : triage::rules::CostOrder(*tree)) {
    order += (order.empty() ? "" : ", ") + c->id();
  }
  std::cout << absl::StrFormat("%s: ok, %d categories; walk order: %s\n", path,
                               tree->category_size(), order);
  if (!regress.empty()) {
    std::cout << absl::StrFormat("replaying recorded incidents against %s:\n", path);
    return RunRegress(*tree, regress);
  }
  return kOk;
}

// check web-config FILE: like promtool check web-config (0 ok, 1 invalid).
// check change-sources FILE: the same for --change-sources-file.
int CheckConfig(const Args& args) {
  if (args.positional.size() != 2 ||
      (args.positional[0] != "web-config" && args.positional[0] != "change-sources")) {
    return Usage("usage: triagectl check web-config|change-sources FILE");
  }
  const std::string& path = args.positional[1];
  if (args.positional[0] == "change-sources") {
    absl::StatusOr<triage::collectors::ChangeSources> s =
        triage::collectors::LoadChangeSources(path);
    if (!s.ok()) {
      std::cerr << path << " FAILED: " << s.status().message() << "\n";
      return 1;
    }
    std::cout << absl::StrFormat("%s SUCCESS: %d CloudEvent type mappings\n", path,
                                 s->cloudevents.size());
    return kOk;
  }
  absl::StatusOr<triage::auth::WebConfig> c = triage::auth::LoadWebConfig(path);
  if (!c.ok()) {
    std::cerr << path << " FAILED: " << c.status().message() << "\n";
    return 1;
  }
  for (const std::string& w : c->warnings) std::cerr << path << " WARNING: " << w << "\n";
  std::cout << path << " SUCCESS\n";
  return kOk;
}

int Run(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(std::vector<std::string>(argv + 1, argv + argc), &args, &error)) {
    return Usage(error);
  }
  if (args.positional.empty()) return Usage(argc > 1 ? "no command" : "");
  std::string command = args.positional[0];
  args.positional.erase(args.positional.begin());
  if (command == "-h" || command == "help") {
    std::cout << kUsage;
    return kOk;
  }
  const std::string server = args.Get("server", "127.0.0.1:7070");
  struct Command {
    const char* name;
    std::vector<std::string> flags;
    int (*run)(const Args&);
  };
  static const Command kLocal[] = {
      {"replay", {"tree", "json"}, Replay},
      {"regress", {"tree"}, Regress},
      {"rules", {"regress"}, RulesCheck},
      {"check", {}, CheckConfig},
  };
  for (const Command& c : kLocal) {
    if (command != c.name) continue;
    if (std::string u = Unknown(args, c.flags, false); !u.empty())
      return Usage("unknown flag " + u);
    return c.run(args);
  }
  if (absl::Status s = triage::ctl::ConfigureConnection(args); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  struct RemoteCommand {
    const char* name;
    std::vector<std::string> flags;
    int (*run)(const std::string&, const Args&);
  };
  static const RemoteCommand kRemote[] = {
      {"ingest", {"json"}, triage::ctl::IngestCommand},
      {"triage", {"service", "metric", "at", "json"}, triage::ctl::TriageCommand},
      {"incidents", {"json"}, triage::ctl::IncidentsCommand},
      {"overlay",
       {"service", "metric", "window", "end", "max-points", "json"},
       triage::ctl::OverlayCommand},
      {"resolve", {"root-cause", "summary", "new-category"}, triage::ctl::ResolveCommand},
      {"export", {"incident"}, triage::ctl::ExportCommand},
      {"drill", {"trainee", "minute", "json"}, triage::ctl::DrillCommand},
      {"retro", {}, triage::ctl::RetroCommand},
      {"review", {"quarter", "team", "json"}, triage::ctl::ReviewCommand},
  };
  for (const RemoteCommand& c : kRemote) {
    if (command != c.name) continue;
    if (std::string u = Unknown(args, c.flags); !u.empty()) return Usage("unknown flag " + u);
    return c.run(server, args);
  }
  if (command == "change") {
    if (args.positional.empty() || args.positional[0] != "add")
      return Usage("usage: triagectl change add ...");
    args.positional.erase(args.positional.begin());
    if (std::string u = Unknown(args, {"kind", "service", "id", "time", "version",
                                       "previous-version", "actor", "summary", "url", "source"});
        !u.empty()) {
      return Usage("unknown flag " + u);
    }
    return triage::ctl::ChangeAddCommand(server, args);
  }
  return Usage("unknown command " + command);
}

}  // namespace

// gRPC's executor threads keep OpenSSL's per-thread state until they are
// joined: shut the library down (after the connection is gone) before exit.
int main(int argc, char** argv) {
  grpc_init();
  const int code = Run(argc, argv);
  triage::ctl::CloseConnection();
  grpc_shutdown_blocking();
  return code;
}
