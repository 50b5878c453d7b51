#!/usr/bin/env bash
# build.sh [DIR] [CMAKE_ARGS...]: configures and builds triage into DIR
# (default build/). Incremental: re-running only rebuilds what changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$dir.cmake.log" 2>&1 || {
  cat "$dir.cmake.log"
  exit 1
}
cmake --build "$dir" -j "$(nproc)"
