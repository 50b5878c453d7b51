#!/usr/bin/env bash
# The main job: install dependencies, build, and walk the triage tree over a
# shipped recorded incident. Idempotent.
#   bash deploy/run.sh [BUNDLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$root/deploy/demo/scenarios/p05-feature-drift.jsonl.gz}
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh" "$root/build" > "$root/build.log" 2>&1 || {
  tail -n 50 "$root/build.log"
  exit 1
}
"$root/build/triage/ctl/triagectl" replay "$bundle"
