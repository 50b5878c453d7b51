#!/usr/bin/env bash
# Install dependencies, build, and run every test: once on the normal build
# and once on an AddressSanitizer + UndefinedBehaviorSanitizer build; a
# user's optimized build (Release) builds warning-free and passes the unit
# tests and the recorded incidents; then the libFuzzer targets replay their
# seeds and fuzz briefly (clang build).
# Idempotent.
#   bash deploy/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"

bash "$root/deploy/build.sh" "$root/build" -DTRIAGE_WERROR=ON
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)")

bash "$root/deploy/build.sh" "$root/build-asan" -DTRIAGE_SANITIZE=ON -DTRIAGE_WERROR=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$(nproc)")

bash "$root/deploy/build.sh" "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DTRIAGE_WERROR=ON
(cd "$root/build-release" && ctest --output-on-failure -j "$(nproc)" -L unit)
scenarios=$root/../shared/scenarios
[ -d "$scenarios" ] || scenarios=$root/deploy/demo/scenarios
"$root/build-release/triage/ctl/triagectl" regress "$scenarios"

bash "$root/tests/fuzz/run.sh" "$root/build-fuzz" --time 20
