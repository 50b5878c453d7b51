#!/usr/bin/env bash
# Two triaged replicas on loopback, as Alertmanager runs: each with its own
# RocksDB, each fed by every sender, repairing each other (--peer), with a
# clustered Alertmanager pair (alertmanager.yml: a webhook per replica,
# failing open) and Prometheus remote-writing to both (prometheus.yml).
#   bash deploy/replicas/run.sh [BUNDLE]     (stop: bash deploy/replicas/run.sh stop)
#
#   replica  position  HTTP (page, webhooks)  gRPC (API, peers)  data
#   a        0         127.0.0.1:7080         127.0.0.1:7070     data/replicas/a
#   b        1         127.0.0.1:7081         127.0.0.1:7071     data/replicas/b
#   Alertmanager 127.0.0.1:9093 and :9095 (cluster :9094, :9096); Prometheus :9090.
#
# Idempotent: a process already running is reused; the recorded incident is
# ingested into each replica (a bundle is not an event the replicas repair,
# so it goes to each, as Prometheus' series do). Grafana annotations
# (--grafana-url) are written by position 0, and by 1 once 0 has been
# unreachable for --peer-timeout (15 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=$root/data/replicas
names=(a b)

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ "${1:-}" = "stop" ]; then
  for pid in "$data"/*/*.pid; do
    [ -f "$pid" ] && running "$pid" && kill "$(cat "$pid")" && echo "stopped $(basename "$pid" .pid)"
  done
  exit 0
fi
bundle=${1:-$root/deploy/demo/scenarios/p05-feature-drift.jsonl.gz}

bash "$root/deploy/install-deps.sh"
echo "building (log: $root/build.log)"
bash "$root/deploy/build.sh" "$root/build" > "$root/build.log" 2>&1 || {
  tail -n 50 "$root/build.log"
  exit 1
}
triaged=$root/build/triage/server/triaged
triagectl=$root/build/triage/ctl/triagectl

# start NAME PIDFILE LOG COMMAND...: starts COMMAND unless PIDFILE's process runs.
start() {
  local name=$1 pid=$2 log=$3
  shift 3
  if running "$pid"; then
    echo "$name already running (pid $(cat "$pid"))"
  else
    nohup "$@" > "$log" 2>&1 &
    echo $! > "$pid"
    echo "started $name (pid $!, log $log)"
  fi
}

for i in 0 1; do
  n=${names[$i]} other=$((1 - i))
  mkdir -p "$data/$n"
  start "triaged $n" "$data/$n/triaged.pid" "$data/$n/triaged.log" \
    "$triaged" --data-dir "$data/$n" --http-addr "127.0.0.1:708$i" --grpc-addr "127.0.0.1:707$i" \
    --peer-position "$i" --peer "127.0.0.1:707$other" \
    --alertmanager-url http://127.0.0.1:9093 --alertmanager-url http://127.0.0.1:9095 \
    --page-url "http://127.0.0.1:708$i/"
done

for i in 0 1; do
  port=$((9093 + 2 * i)) cluster=$((9094 + 2 * i)) peer=$((9094 + 2 * (1 - i)))
  mkdir -p "$data/am$i"
  start "alertmanager $i" "$data/am$i/alertmanager.pid" "$data/am$i/alertmanager.log" \
    prometheus-alertmanager --config.file="$here/alertmanager.yml" --storage.path="$data/am$i" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address="127.0.0.1:$cluster" \
    --cluster.advertise-address="127.0.0.1:$cluster" --cluster.peer="127.0.0.1:$peer"
done
mkdir -p "$data/prometheus"
start prometheus "$data/prometheus/prometheus.pid" "$data/prometheus/prometheus.log" \
  prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
  --web.listen-address=127.0.0.1:9090

for i in 0 1; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:708$i/readyz" > /dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:708$i/readyz" > /dev/null || { cat "$data/${names[$i]}/triaged.log"; exit 1; }
done

for i in 0 1; do
  out=$("$triagectl" --server "127.0.0.1:707$i" ingest "$bundle")
  echo "replica ${names[$i]}: $out"
done
incident=$(echo "$out" | sed -n 's/^incident \([^:]*\):.*/\1/p')
echo
for i in 0 1; do
  echo "replica ${names[$i]}: http://127.0.0.1:708$i/#/incident/$incident"
done
echo "lag: curl -s 127.0.0.1:7080/metrics | grep triage_peer_"
