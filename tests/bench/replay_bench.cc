// Benchmarks of the replay path, phase by phase, on a shipped recorded
// incident: reading the bundle, writing it into a store, and the walk.
//   build/tests/bench/replay_bench [--benchmark_filter=...] [BUNDLE]
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "collectors/bundle_reader.h"
#include "rules/engine.h"
#include "rules/kl.h"
#include "rules/stats.h"
#include "rules/tree.h"
#include "triage/replay/replay.h"
#include "triage/store/store.h"

namespace {

std::string g_bundle = TRIAGE_SOURCE_DIR "/deploy/demo/scenarios/p05-feature-drift.jsonl.gz";

std::string TempDir(const char* name) {
  std::string dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  return dir;
}

void BM_ReadBundle(benchmark::State& state) {
  for (auto _ : state) {
    triage::collectors::BundleReadResult r = triage::collectors::ReadBundleFile(g_bundle);
    if (!r.ok()) state.SkipWithError("bad bundle");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ReadBundle)->Unit(benchmark::kMillisecond);

void BM_StoreWrite(benchmark::State& state) {
  triage::collectors::BundleReadResult r = triage::collectors::ReadBundleFile(g_bundle);
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir = TempDir("triage-bench-write");
    auto store = triage::store::Store::Open({.path = dir});
    state.ResumeTiming();
    if (!(*store)->Write(r.bundle.records()).ok()) state.SkipWithError("write failed");
    state.PauseTiming();
    store->reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_StoreWrite)->Unit(benchmark::kMillisecond);

void BM_Walk(benchmark::State& state) {
  triage::collectors::BundleReadResult r = triage::collectors::ReadBundleFile(g_bundle);
  std::string dir = TempDir("triage-bench-walk");
  auto store = triage::store::Store::Open({.path = dir});
  if (!(*store)->Write(r.bundle.records()).ok()) state.SkipWithError("write failed");
  triage::v1::Tree tree = *triage::rules::DefaultTree();
  triage::rules::Engine engine(tree, {store->get(), store->get(), store->get()});
  double load_ms = 0;
  for (auto _ : state) {
    auto report = engine.Walk(r.bundle.incident());
    load_ms += report->load_ms();
    benchmark::DoNotOptimize(report);
  }
  state.counters["store_read_ms"] = load_ms / static_cast<double>(state.iterations());
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Walk)->Unit(benchmark::kMillisecond);

void BM_Replay(benchmark::State& state) {
  triage::v1::Tree tree = *triage::rules::DefaultTree();
  for (auto _ : state) {
    auto r = triage::replay::ReplayFile(g_bundle, tree);
    if (!r.ok()) state.SkipWithError("replay failed");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Replay)->Unit(benchmark::kMillisecond);

void BM_SmoothedKl(benchmark::State& state) {
  std::vector<double> p(state.range(0)), q(state.range(0));
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<double>(i % 7);
    q[i] = static_cast<double>(i % 5);
  }
  for (auto _ : state) benchmark::DoNotOptimize(triage::rules::SmoothedKl(p, q, 1e-4));
}
BENCHMARK(BM_SmoothedKl)->Arg(16)->Arg(256);

// The drift check's shape: KL of many features of a few bins each, rows of
// random counts (the same shapes scale_bench.py gives scipy).
void BM_KlFeatures(benchmark::State& state) {
  const size_t rows = state.range(0), bins = state.range(1);
  std::vector<double> p(rows * bins), q(rows * bins), out(rows);
  uint64_t x = 88172645463325252ull;
  auto next = [&x] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return static_cast<double>(x % 2000);
  };
  for (size_t i = 0; i < p.size(); ++i) p[i] = next(), q[i] = next();
  for (auto _ : state) {
    triage::rules::SmoothedKlRows(p.data(), q.data(), rows, bins, 1e-4, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_KlFeatures)->Args({500, 16})->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1) g_bundle = argv[1];
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
