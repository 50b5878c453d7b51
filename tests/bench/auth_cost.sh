#!/usr/bin/env bash
# The cost of TLS and authentication, in one run: two triaged side by side on
# the same data (p01), one plain on loopback, one with the secured web config
# of deploy/prometheus/secure/setup.sh (TLS, Bearer token for remote_write,
# Basic with bcrypt for Triage). Prints Triage p50/p99 over gRPC and the
# remote_write throughput of each.
#   tests/bench/auth_cost.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
load=$build/tests/bench/triage_load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
bash "$root/deploy/prometheus/secure/setup.sh" "$work/secure" > /dev/null
start() {  # start NAME ARGS...: prints the ports file when ready
  mkdir -p "$work/$1"
  "$build/triage/server/triaged" --data-dir "$work/$1" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 \
    "${@:2}" > "$work/$1/log" 2>&1 &
  for _ in $(seq 200); do [ -f "$work/$1/ports.json" ] && break; sleep 0.05; done
  sleep 0.5
}
port() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/$1/ports.json" "$2"; }
start plain
start secure --web-config-file "$work/secure/triage-web.yml"
token="Bearer $(cat "$work/secure/secrets/prometheus-token")"
oncall="Basic $(printf 'oncall:%s' "$(cat "$work/secure/secrets/oncall-password")" | base64 -w0)"
ca=$work/secure/tls/ca.crt
gunzip -c "$root/deploy/demo/scenarios/p01-code-deploy.jsonl.gz" > "$work/p01.jsonl"
"$load" bundle --http "$(port plain http)" --file "$work/p01.jsonl" --runs 1 > /dev/null
"$load" bundle --http "$(port secure http)" --file "$work/p01.jsonl" --runs 1 --ca "$ca" --auth "$token" > /dev/null
triage=(--service reranker --metric ndcg_at_10 --at 2026-05-05T03:42:00Z --calls 1000)
echo "Triage over gRPC, 1000 calls:"
echo "  plain:        $("$load" triage --grpc "$(port plain grpc)" "${triage[@]}")"
echo "  TLS + Basic:  $("$load" triage --grpc "$(port secure grpc)" "${triage[@]}" --ca "$ca" --auth "$oncall")"
rw=(--series 500 --requests 1000 --connections 4 --runs 5)
echo "remote_write, 500 series x 1 sample a request, 4 connections, median of 5 runs:"
echo "  plain:        $("$load" remote-write --http "$(port plain http)" "${rw[@]}" | tail -n 1)"
echo "  TLS + Bearer: $("$load" remote-write --http "$(port secure http)" "${rw[@]}" --ca "$ca" --auth "$token" | tail -n 1)"
