#!/usr/bin/env bash
# The main job: install dependencies, build, start triaged on an embedded
# store in ./data, load a shipped recorded incident, and print the page's URL.
# Idempotent: a triaged already serving ./data is reused, and ingesting the
# same incident again changes nothing.
#   bash deploy/run.sh [BUNDLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${1:-$root/deploy/demo/scenarios/p05-feature-drift.jsonl.gz}
data=$root/data
http_addr=${TRIAGE_HTTP_ADDR:-127.0.0.1:7080}
grpc_addr=${TRIAGE_GRPC_ADDR:-127.0.0.1:7070}

bash "$root/deploy/install-deps.sh"
echo "building (log: $root/build.log)"
bash "$root/deploy/build.sh" "$root/build" > "$root/build.log" 2>&1 || {
  tail -n 50 "$root/build.log"
  exit 1
}
triaged=$root/build/triage/server/triaged
triagectl=$root/build/triage/ctl/triagectl

mkdir -p "$data"
if [ -f "$data/triaged.pid" ] && kill -0 "$(cat "$data/triaged.pid")" 2>/dev/null; then
  echo "triaged already running (pid $(cat "$data/triaged.pid"))"
else
  nohup "$triaged" --data-dir "$data" --grpc-addr "$grpc_addr" --http-addr "$http_addr" \
    > "$data/triaged.log" 2>&1 &
  echo $! > "$data/triaged.pid"
  echo "started triaged (pid $!, log $data/triaged.log)"
fi
for _ in $(seq 100); do
  curl -sf "http://$http_addr/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://$http_addr/readyz" > /dev/null || { cat "$data/triaged.log"; exit 1; }

out=$("$triagectl" --server "$grpc_addr" ingest "$bundle")
echo "$out"
incident=$(echo "$out" | sed -n 's/^incident \([^:]*\):.*/\1/p')
echo
echo "open: http://$http_addr/#/incident/$incident"
