#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) into BUILD_DIR,
# seeds each from the recorded incidents, replays the seeds, then fuzzes.
#   tests/fuzz/run.sh [BUILD_DIR] [--time SECONDS | --runs N]
# CI: --time 20 (every target briefly). The closing note: --runs 1000000.
# Exit 1 when a target finds a crash (the input is left in BUILD_DIR/crashes).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$root/build-fuzz}
shift || true
limit=(-max_total_time=20)
if [ "${1:-}" = --runs ]; then limit=(-runs="$2"); fi
if [ "${1:-}" = --time ]; then limit=(-max_total_time="$2"); fi

CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTRIAGE_FUZZ=ON > "$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
cmake --build "$dir" --target fuzzers -j "$(nproc)"

scenarios=$root/../shared/scenarios
[ -d "$scenarios" ] || scenarios=$root/deploy/demo/scenarios
rm -rf "$dir/corpus"
/usr/bin/python3 "$root/tests/fuzz/make_corpus.py" "$scenarios" "$dir/corpus"
mkdir -p "$dir/crashes" "$dir/found"
status=0
for target in bundle_reader_fuzz remote_write_fuzz alertmanager_fuzz change_event_fuzz connect_fuzz; do
  mkdir -p "$dir/found/$target"
  log=$dir/$target.log
  # Replay the seeds, then fuzz, growing found/ (the seeds stay as they are).
  if ! "$dir/tests/fuzz/$target" -runs=0 "$dir/corpus/$target" > "$log.replay" 2>&1; then
    echo "$target: a seed crashes"; tail -n 30 "$log.replay"; status=1; continue
  fi
  if ! "$dir/tests/fuzz/$target" "${limit[@]}" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/crashes/$target-" "$dir/found/$target" "$dir/corpus/$target" > "$log" 2>&1; then
    echo "$target: CRASH"; tail -n 40 "$log"; status=1; continue
  fi
  echo "$target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1), corpus $(ls "$dir/found/$target" | wc -l) new inputs, no crash"
done
exit $status
