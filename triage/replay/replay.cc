#include "triage/replay/replay.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "proto/model/time.h"
#include "rules/engine.h"

namespace triage::replay {

namespace {

using Clock = std::chrono::steady_clock;

absl::StatusOr<std::string> MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = absl::StrFormat("%s/triage-replay-XXXXXX", base ? base : "/tmp");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrFormat("cannot create %s: %s", tmpl, std::strerror(errno)));
  }
  return tmpl;
}

}  // namespace

absl::StatusOr<v1::TriageReport> WalkAndStore(store::Store& store, const rules::Sources& sources,
                                              const v1::Incident& incident, const v1::Tree& tree,
                                              const rules::RootCauseHistory* history) {
  absl::StatusOr<v1::TriageReport> report = rules::Engine(tree, sources, history).Walk(incident);
  if (!report.ok()) return report.status();
  if (absl::Status s = store.PutIncidentRecords(&incident, nullptr, &*report); !s.ok()) return s;
  return report;
}

absl::StatusOr<Replayed> Replay(store::Store& store, const collectors::BundleReadResult& bundle,
                                const v1::Tree& tree, rules::Sources sources,
                                const rules::RootCauseHistory* history) {
  if (!bundle.ok()) return bundle.ToStatus();
  if (sources.records == nullptr) sources = {&store, &store, &store};
  Replayed out;
  Clock::time_point start = Clock::now();
  if (absl::Status s = store.Write(bundle.bundle.records()); !s.ok()) return s;
  out.write_ms = MsSince(start);
  out.has_incident = bundle.has_incident;
  if (!bundle.has_incident) return out;
  out.incident = bundle.bundle.incident();
  start = Clock::now();
  absl::StatusOr<v1::TriageReport> report =
      WalkAndStore(store, sources, out.incident, tree, history);
  if (!report.ok()) return report.status();
  out.walk_ms = MsSince(start);
  out.report = std::move(*report);
  return out;
}

absl::StatusOr<Replayed> ReplayFile(const std::string& bundle_path, const v1::Tree& tree) {
  Clock::time_point start = Clock::now();
  collectors::BundleReadResult read = collectors::ReadBundleFile(bundle_path);
  if (!read.ok()) return read.ToStatus();
  const double read_ms = MsSince(start);
  absl::StatusOr<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  absl::Cleanup remove_dir = [&] {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
  };
  absl::StatusOr<std::unique_ptr<store::Store>> store = store::Store::Open({.path = *dir});
  if (!store.ok()) return store.status();
  absl::StatusOr<Replayed> out = Replay(**store, read, tree);
  if (out.ok()) out->read_ms = read_ms;
  return out;
}

}  // namespace triage::replay
