// triaged: the always-on triage daemon (see --help). Parses the flags, takes
// the signals, and runs the Daemon (daemon.h) until SIGTERM or SIGINT;
// SIGHUP re-reads the web config.
#include <signal.h>
#include <sys/resource.h>

#include <iostream>
#include <string>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "triage/server/daemon.h"
#include "triage/server/flags.h"

namespace {

// Every connection is a descriptor: take the hard limit, not the soft 1024.
void RaiseFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<triage::server::DaemonConfig> config =
      triage::server::ParseDaemonFlags(argc, argv);
  if (!config.ok()) {
    std::cerr << "triaged: " << config.status().message() << " (see --help)\n";
    return 2;
  }
  RaiseFileLimit();
  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  triage::server::Daemon daemon(*config);
  if (absl::Status s = daemon.Start(); !s.ok()) {
    std::cerr << "triaged: " << s.message() << "\n";
    return triage::server::ExitCode(s);
  }
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) daemon.ReloadWebConfig();
  std::cerr << "triaged: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", shutting down\n";
  daemon.Stop();
  std::cerr << "triaged: stopped\n";
  return 0;
}
