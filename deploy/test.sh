#!/usr/bin/env bash
# Install dependencies, build, and run every test: once on the normal build
# and once on an AddressSanitizer + UndefinedBehaviorSanitizer build; then
# the libFuzzer targets replay their seeds and fuzz briefly (clang build).
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

bash "$root/tests/fuzz/run.sh" "$root/build-fuzz" --time 20
