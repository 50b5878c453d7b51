#include "triage/replay/replay.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "collectors/gzip.h"
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

void CountRecords(const v1::RecordBatch& b, std::map<std::string, int64_t>* counts) {
  int64_t samples = 0;
  for (const v1::Series& s : b.series()) samples += s.points_size();
  const std::pair<const char*, int64_t> kinds[] = {
      {"dependency", b.dependencies_size()}, {"change", b.changes_size()},
      {"series", b.series_size()},           {"sample", samples},
      {"histogram", b.histograms_size()},    {"upstream", b.upstreams_size()},
      {"eval_set", b.eval_sets_size()},      {"dependency_health", b.dependency_health_size()}};
  for (const auto& [kind, n] : kinds) {
    if (n > 0) (*counts)[kind] += n;
  }
}

absl::StatusOr<Replayed> Ingest(store::Store& store, std::string_view name, const Pull& pull,
                                const v1::Tree& tree, const IngestOptions& options) {
  Clock::time_point start = Clock::now();
  collectors::BundleDecoder decoder(name, options.read);
  // A bundle larger than stage_bytes is staged on disk as it is read and
  // committed at once (Store::Bulk); a smaller one is one Write. Either way
  // all or nothing.
  std::unique_ptr<store::Store::Bulk> bulk;
  Replayed out;
  // Stages what was decoded; once the bundle has an error nothing more is
  // staged (reading goes on, for the other errors).
  auto stage = [&]() -> absl::Status {
    if (!decoder.ok()) return absl::OkStatus();
    if (bulk == nullptr) {
      absl::StatusOr<std::unique_ptr<store::Store::Bulk>> b = store.BeginBulk();
      if (!b.ok()) return b.status();
      bulk = std::move(*b);
    }
    v1::RecordBatch batch;
    batch.Swap(decoder.records());
    CountRecords(batch, &out.records);
    return bulk->Add(batch);
  };
  std::optional<collectors::Gunzipper> gunzip;
  std::string head;  // The first bytes, until they tell gzip from text.
  std::string piece, text;
  uint64_t total = 0;
  size_t unstaged = 0;
  auto feed = [&](std::string_view bytes) -> absl::Status {
    // Inflated a slice at a time: a small piece of gzip may inflate a thousandfold.
    constexpr size_t kSlice = 16 << 10;
    for (size_t off = 0; off < bytes.size(); off += gunzip ? kSlice : bytes.size()) {
      std::string_view part = bytes.substr(off, gunzip ? kSlice : bytes.size());
      if (gunzip) {
        text.clear();
        if (absl::Status s = gunzip->Feed(part, &text); !s.ok()) {
          return absl::InvalidArgumentError(absl::StrFormat("%s: %s", name, s.message()));
        }
        part = text;
      }
      total += part.size();
      if (total > options.max_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrFormat("%s: the bundle is over %d bytes", name, options.max_bytes));
      }
      decoder.Feed(part);
      unstaged += part.size();
      if (unstaged >= options.stage_bytes) {
        unstaged = 0;
        if (absl::Status s = stage(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  };
  for (bool more = true; more && !decoder.full();) {
    piece.clear();
    absl::StatusOr<bool> got = pull(&piece);
    if (!got.ok()) return got.status();
    more = *got;
    if (head.size() < 2 && (more || !head.empty())) {
      head += piece;
      if (head.size() < 2 && more) continue;
      if (collectors::LooksGzipped(head)) gunzip.emplace();
      piece = std::move(head);
      head = "--";  // Decided.
    }
    if (absl::Status s = feed(piece); !s.ok()) return s;
  }
  if (gunzip && !decoder.full()) {
    if (absl::Status s = gunzip->Finish(); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: %s", name, s.message()));
    }
  }
  decoder.Finish();
  if (!decoder.ok()) return decoder.ToStatus();
  if (bulk != nullptr) {
    if (absl::Status s = stage(); !s.ok()) return s;
    out.read_ms = MsSince(start);
    start = Clock::now();
    if (absl::Status s = bulk->Commit(); !s.ok()) return s;
  } else {
    out.read_ms = MsSince(start);
    start = Clock::now();
    CountRecords(*decoder.records(), &out.records);
    if (absl::Status s = store.Write(*decoder.records()); !s.ok()) return s;
  }
  out.write_ms = MsSince(start);
  out.has_incident = decoder.has_incident();
  if (!out.has_incident) return out;
  out.incident = decoder.incident();
  rules::Sources sources = options.sources;
  if (sources.records == nullptr) sources = {&store, &store, &store};
  std::optional<rules::RootCauseHistory> history;
  if (options.history) {
    absl::StatusOr<rules::RootCauseHistory> h = options.history(out.incident.id());
    if (!h.ok()) return h.status();
    history = std::move(*h);
  }
  start = Clock::now();
  absl::StatusOr<v1::TriageReport> report =
      WalkAndStore(store, sources, out.incident, tree, history ? &*history : nullptr);
  if (!report.ok()) return report.status();
  out.walk_ms = MsSince(start);
  out.report = std::move(*report);
  return out;
}

Pull PullBytes(std::string_view bytes) {
  return [bytes, done = false](std::string* piece) mutable -> absl::StatusOr<bool> {
    if (done) return false;
    done = true;
    piece->append(bytes);
    return true;
  };
}

Pull PullFile(const std::string& path) {
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  return [in, path](std::string* piece) -> absl::StatusOr<bool> {
    if (!in->is_open()) {
      return absl::NotFoundError(
          absl::StrFormat("%s: cannot open: %s", path, std::strerror(errno)));
    }
    char buf[1 << 16];
    in->read(buf, sizeof buf);
    if (in->bad()) return absl::InternalError(absl::StrFormat("%s: cannot read", path));
    piece->append(buf, static_cast<size_t>(in->gcount()));
    return in->gcount() > 0;
  };
}

absl::StatusOr<Replayed> ReplayFile(const std::string& bundle_path, const v1::Tree& tree) {
  absl::StatusOr<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  absl::Cleanup remove_dir = [&] {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
    std::filesystem::remove_all(*dir + "/store.spool", ec);
  };
  absl::StatusOr<std::unique_ptr<store::Store>> store =
      store::Store::Open({.path = *dir + "/store"});
  if (!store.ok()) return store.status();
  return Ingest(**store, bundle_path, PullFile(bundle_path), tree);
}

}  // namespace triage::replay
