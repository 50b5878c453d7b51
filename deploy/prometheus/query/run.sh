#!/usr/bin/env bash
# triaged reading metrics from the Prometheus of prometheus.yml (on :9090):
# the walk and the overlay query it; RocksDB keeps changes, pushed feature
# histograms, upstream reports, eval sets, probes, incidents and drills.
#   bash deploy/prometheus/query/run.sh [BUILD_DIR] [DATA_DIR] [extra triaged flags]
# For Mimir or Cortex add --metrics-header X-Scope-OrgID=TENANT; for a
# secured engine --metrics-bearer-token-file or --metrics-basic-auth-file
# (and --metrics-ca-file for https).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../../build}"
data="${2:-/var/lib/triaged}"
shift $(( $# > 2 ? 2 : $# ))
"$build/triage/ctl/triagectl" rules check "$here/tree.textproto"
exec "$build/triage/server/triaged" --data-dir "$data" \
  --metrics-url http://127.0.0.1:9090 --metrics-timeout 10s \
  --tree "$here/tree.textproto" "$@"
