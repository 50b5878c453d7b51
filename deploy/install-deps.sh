#!/usr/bin/env bash
# Installs everything triage builds, runs and tests with. Idempotent: apt-get
# runs only for missing packages (refreshing its lists at most once an hour),
# and npm only when a package-lock.json changed since the last install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev librocksdb-dev libabsl-dev libsnappy-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libboost-dev libssl-dev libyaml-cpp-dev clang-14 libclang-rt-14-dev
  python3 curl python3-grpcio python3-protobuf python3-yaml prometheus prometheus-alertmanager
  chromium
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm > /dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
else
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
    $SUDO apt-get update -qq
  fi
  echo "install-deps: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm: the page's chart library (uPlot, served by triaged from web/node_modules),
# the browser test's driver (playwright-core, with Debian's chromium) and the
# Connect client the gateway is tested with (connect-es, protoc-gen-es).
for dir in web tests/browser tests/connect; do
  stamp="$root/$dir/node_modules/.installed-lock.json"
  if ! cmp -s "$root/$dir/package-lock.json" "$stamp" 2>/dev/null; then
    (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$root/$dir/package-lock.json" "$stamp"
  fi
done
