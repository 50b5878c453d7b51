#!/usr/bin/env bash
# sync_bench.sh [BUILD_DIR]: remote_write and one-change POSTs against triaged
# with writes synced (the default) and with --unsafe-no-sync, in one run.
set -e
build=${1:-build}; T=$build/triage/server/triaged; L=$build/tests/bench/triage_load
for mode in sync nosync; do
  d=$(mktemp -d); args=""; [ $mode = nosync ] && args="--unsafe-no-sync"
  $T --data-dir $d --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 $args > $d/log 2>&1 &
  pid=$!; for i in $(seq 100); do [ -f $d/ports.json ] && break; sleep 0.1; done
  port=$(python3 -c "import json;print(json.load(open('$d/ports.json'))['http'])")
  echo "== $mode remote_write"; $L remote-write --http $port --series 500 --samples 1 --requests 400 --connections 4 --runs 3 | tail -1
  echo "== $mode change POST, 4 connections"
  $L http --http $port --path /api/v1/changes --method POST --content-type application/json \
    --body '{"id":"bench-1","kind":"config","service":"svc","version":"v1","time":"2026-12-01T00:00:00Z"}' --requests 300 --connections 4 | tail -2
  kill $pid; wait $pid || true; rm -rf $d
done
