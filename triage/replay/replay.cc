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
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
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

// Stages batches into a Bulk on a second thread while the next batch is
// decoded (each takes about half the time); at most one batch waits, so
// memory stays at two batches.
class StagingThread {
 public:
  explicit StagingThread(store::Store::Bulk& bulk) : bulk_(bulk), thread_([this] { Run(); }) {}
  ~StagingThread() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

  // Queues `batch` (waiting while one is queued); the first failure so far.
  absl::Status Push(v1::RecordBatch batch) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](StagingThread* t) { return !t->queued_.has_value() || !t->status_.ok(); }, this));
    if (!status_.ok()) return status_;
    queued_ = std::move(batch);
    return absl::OkStatus();
  }

  // Waits until every pushed batch is staged; the first failure.
  absl::Status Drain() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](StagingThread* t) {
          return (!t->queued_.has_value() && !t->busy_) || !t->status_.ok();
        },
        this));
    return status_;
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    for (;;) {
      mu_.Await(absl::Condition(
          +[](StagingThread* t) { return t->queued_.has_value() || t->done_; }, this));
      if (done_) return;  // Abandoned or finished: what is queued is not staged.
      v1::RecordBatch batch = std::move(*queued_);
      queued_.reset();
      busy_ = true;
      const bool failed = !status_.ok();  // Read under the lock.
      mu_.Unlock();
      absl::Status s = failed ? absl::OkStatus() : bulk_.Add(batch);
      mu_.Lock();
      busy_ = false;
      if (status_.ok()) status_ = s;
    }
  }

  store::Store::Bulk& bulk_;
  absl::Mutex mu_;
  std::optional<v1::RecordBatch> queued_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // Last: starts once the members above exist.
};

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

namespace {

// One bundle read piece by piece into the store. A bundle larger than
// stage_bytes is staged on disk as it is read and committed at once
// (Store::Bulk); a smaller one is one Write. Either way all or nothing.
class BundleLoad {
 public:
  BundleLoad(store::Store& store, std::string_view name, const IngestOptions& options,
             Replayed* out)
      : store_(store), name_(name), options_(options), decoder_(name, options.read), out_(out) {}

  // Reads every piece `pull` gives (gzip or text, told by the first bytes).
  absl::Status Read(const Pull& pull) {
    std::string head;  // The first bytes, until they tell gzip from text.
    std::string piece;
    for (bool more = true; more && !decoder_.full();) {
      piece.clear();
      absl::StatusOr<bool> got = pull(&piece);
      if (!got.ok()) return got.status();
      more = *got;
      if (head.size() < 2 && (more || !head.empty())) {
        head += piece;
        if (head.size() < 2 && more) continue;
        if (collectors::LooksGzipped(head)) gunzip_.emplace();
        piece = std::move(head);
        head = "--";  // Decided.
      }
      if (absl::Status s = Feed(piece); !s.ok()) return s;
    }
    if (gunzip_ && !decoder_.full()) {
      if (absl::Status s = gunzip_->Finish(); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat("%s: %s", name_, s.message()));
      }
    }
    decoder_.Finish();
    return decoder_.ok() ? absl::OkStatus() : decoder_.ToStatus();
  }

  // Commits what was read (out's read_ms up to here, then write_ms).
  absl::Status Commit(Clock::time_point start) {
    if (bulk_ != nullptr) {
      if (absl::Status s = Stage(); !s.ok()) return s;
      if (absl::Status s = staging_->Drain(); !s.ok()) return s;
      out_->read_ms = MsSince(start);
      start = Clock::now();
      if (absl::Status s = bulk_->Commit(); !s.ok()) return s;
    } else {
      out_->read_ms = MsSince(start);
      start = Clock::now();
      CountRecords(*decoder_.records(), &out_->records);
      if (absl::Status s = store_.Write(*decoder_.records()); !s.ok()) return s;
    }
    out_->write_ms = MsSince(start);
    return absl::OkStatus();
  }

  const collectors::BundleDecoder& decoder() const { return decoder_; }

 private:
  // Stages what was decoded; once the bundle has an error nothing more is
  // staged (reading goes on, for the other errors).
  absl::Status Stage() {
    if (!decoder_.ok()) return absl::OkStatus();
    if (bulk_ == nullptr) {
      absl::StatusOr<std::unique_ptr<store::Store::Bulk>> b = store_.BeginBulk();
      if (!b.ok()) return b.status();
      bulk_ = std::move(*b);
      staging_.emplace(*bulk_);
    }
    v1::RecordBatch batch;
    batch.Swap(decoder_.records());
    CountRecords(batch, &out_->records);
    return staging_->Push(std::move(batch));
  }

  absl::Status Feed(std::string_view bytes) {
    // Inflated a slice at a time: a small piece of gzip may inflate a thousandfold.
    constexpr size_t kSlice = 16 << 10;
    for (size_t off = 0; off < bytes.size(); off += gunzip_ ? kSlice : bytes.size()) {
      std::string_view part = bytes.substr(off, gunzip_ ? kSlice : bytes.size());
      if (gunzip_) {
        text_.clear();
        if (absl::Status s = gunzip_->Feed(part, &text_); !s.ok()) {
          return absl::InvalidArgumentError(absl::StrFormat("%s: %s", name_, s.message()));
        }
        part = text_;
      }
      total_ += part.size();
      if (total_ > options_.max_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrFormat("%s: the bundle is over %d bytes", name_, options_.max_bytes));
      }
      decoder_.Feed(part);
      unstaged_ += part.size();
      if (unstaged_ >= options_.stage_bytes) {
        unstaged_ = 0;
        if (absl::Status s = Stage(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  store::Store& store_;
  const std::string_view name_;
  const IngestOptions& options_;
  collectors::BundleDecoder decoder_;
  Replayed* const out_;
  std::unique_ptr<store::Store::Bulk> bulk_;
  std::optional<StagingThread> staging_;  // Declared after bulk_: joins before it goes.
  std::optional<collectors::Gunzipper> gunzip_;
  std::string text_;  // Inflated.
  uint64_t total_ = 0;
  size_t unstaged_ = 0;
};

}  // namespace

absl::StatusOr<Replayed> Ingest(store::Store& store, std::string_view name, const Pull& pull,
                                const v1::Tree& tree, const IngestOptions& options) {
  Clock::time_point start = Clock::now();
  Replayed out;
  {
    BundleLoad load(store, name, options, &out);
    if (absl::Status s = load.Read(pull); !s.ok()) return s;
    if (absl::Status s = load.Commit(start); !s.ok()) return s;
    out.has_incident = load.decoder().has_incident();
    if (!out.has_incident) return out;
    out.incident = load.decoder().incident();
  }
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
