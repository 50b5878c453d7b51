#!/usr/bin/env bash
# regress_test.sh TRIAGECTL DIR N|all: `triagectl regress DIR` must pass N of
# N ("all": every bundle in DIR). Exits 77 (skipped) when DIR does not exist.
set -u
triagectl=$1 dir=$2 want=$3
if [ ! -d "$dir" ]; then
  echo "skipped: $dir does not exist"
  exit 77
fi
if [ "$want" = all ]; then
  want=$(find "$dir" -maxdepth 1 -type f \( -name '*.jsonl' -o -name '*.jsonl.gz' \) | wc -l)
fi
out=$("$triagectl" regress "$dir")
rc=$?
echo "$out"
summary=$(echo "$out" | tail -n 1)
if [ "$rc" -ne 0 ] || [ "$summary" != "$want passed, 0 failed" ]; then
  echo "FAIL: want '$want passed, 0 failed' and exit 0, got '$summary' and exit $rc"
  exit 1
fi
