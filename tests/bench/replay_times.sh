#!/usr/bin/env bash
# replay_times.sh TRIAGECTL DIR [RUNS]: for every bundle in DIR, the median
# wall time of `triagectl replay --json` over RUNS runs (default 5), its peak
# RSS (GNU time), and the split reported by the walk itself.
set -euo pipefail
triagectl=$1 dir=$2 runs=${3:-5}
printf '%-22s %10s %10s %10s %12s\n' bundle median_ms peak_rss_mb walk_ms store_read_ms
for f in "$dir"/*.jsonl*; do
  times=() rss=0
  for _ in $(seq "$runs"); do
    out=$( { /usr/bin/time -f '%e %M' "$triagectl" replay "$f" --json > /tmp/replay_times.json; } 2>&1 | tail -n 1)
    times+=("$(awk '{printf "%.0f", $1 * 1000}' <<< "$out")")
    r=$(awk '{print $2}' <<< "$out")
    (( r > rss )) && rss=$r
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  split=$(/usr/bin/python3 -c 'import json; r=json.load(open("/tmp/replay_times.json")); print("%.1f %.1f" % (r["walk_ms"], r["load_ms"]))')
  printf '%-22s %10s %10.1f %10s %12s\n' "$(basename "$f" | cut -d. -f1)" "$median" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" $split
done
