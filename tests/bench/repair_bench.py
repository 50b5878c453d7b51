#!/usr/bin/env python3
"""Peer repair of a day of a real team's records (the scale bundle without
its series: hourly histograms of 500 features, the day's deploys, upstream
reports), against writing the same records in, same run.

Generates the scale bundle with ../shared/tools/gen_scale.py (1 series, 500
features, 7 days), keeps the records of its last 24 hours but the series,
writes them into replica A through IngestService (Connect JSON, 1,000
records a request: the reference), then starts replica B on an empty data
dir with --peer A and times until B has applied every one of A's events.
Benchmarks, not tests: ctest does not run this.

usage: repair_bench.py BUILD_DIR [--work DIR] [--features 500]
"""
import argparse
import calendar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
from daemon import Daemon, free_port  # noqa: E402

sys.path.insert(0, HERE)
from scale_bench import rss_mb  # noqa: E402

DAY_MS = 86_400_000
# Each record type: its IngestService method, request field, and event key
# (triage/store/events.cc: one event per record, stored once by key).
TYPES = {
    "dependency": ("WriteDependencies", "dependencies", lambda r: ("dependency", r["service"])),
    "change": ("WriteChanges", "changes", lambda r: ("change", r["id"])),
    "histogram": ("WriteHistograms", "histograms",
                  lambda r: ("histogram", r["service"], r["feature"], r["start"], r["end"])),
    "upstream": ("WriteUpstreams", "upstreams",
                 lambda r: ("upstream", r["consumer"], r["source"], r["time"])),
    "eval_set": ("WriteEvalSets", "eval_sets", lambda r: ("eval_set", r["service"], r["name"], r["time"])),
    "dependency_health": ("WriteDependencyHealth", "dependency_health",
                          lambda r: ("dependency_health", r["service"], r["check"], r["time"])),
}


def ms(rfc3339):
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S")) * 1000


def record_time(r):
    t = r.get("time") or r.get("end")
    return ms(t) if t else None


def last_day(path):
    """The bundle's records of its last 24 hours but series and incidents, by type."""
    records = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["type"] in TYPES:
                records.append(r)
    end = max(t for t in map(record_time, records) if t is not None)
    out = {}
    for r in records:
        t = record_time(r)
        if t is None or t > end - DAY_MS:
            out.setdefault(r.pop("type"), []).append(r)
    return out


def metric(d, name):
    _, body = d.get("/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--work", default=None)
    ap.add_argument("--features", type=int, default=500)
    args = ap.parse_args()
    triaged = os.path.join(args.build, "triage", "server", "triaged")
    work = args.work or tempfile.mkdtemp(prefix="repair-bench-")
    os.makedirs(work, exist_ok=True)
    bundle = os.path.join(work, "scale.jsonl")
    if not os.path.exists(bundle):
        subprocess.run([sys.executable, os.path.join(SOURCE, "..", "shared", "tools", "gen_scale.py"),
                        bundle, "1", str(args.features), "7"], check=True)
    day = last_day(bundle)
    n = sum(len(v) for v in day.values())
    events = len({TYPES[t][2](r) for t, rs in day.items() for r in rs})
    print(f"a day of records without series: {n} ({', '.join(f'{len(v)} {k}' for k, v in day.items())}), "
          f"{events} events", flush=True)

    a_grpc = free_port()
    for name in ("a", "b"):
        shutil.rmtree(os.path.join(work, name), ignore_errors=True)
        os.makedirs(os.path.join(work, name))
    a = Daemon(triaged, data_dir=os.path.join(work, "a"),
               args=["--grpc-addr", f"127.0.0.1:{a_grpc}", "--peer-position", "0",
                     "--peer", f"127.0.0.1:{free_port()}"]).start()
    started = time.time()
    for t, rs in day.items():
        method, field = TYPES[t][:2]
        for i in range(0, len(rs), 1000):
            status, reply = a.post_json(f"/triage.v1.IngestService/{method}", {field: rs[i:i + 1000]})
            assert status == 200, reply
    ingest_s = time.time() - started
    print(f"written into A: {ingest_s:.2f} s ({n / ingest_s:,.0f} records/s)", flush=True)

    b = Daemon(triaged, data_dir=os.path.join(work, "b"),
               args=["--peer-position", "1", "--peer", f"127.0.0.1:{a_grpc}"])
    started = time.time()
    b.start()
    deadline = started + 600
    while metric(b, "triage_peer_repairs_total") < events:
        assert time.time() < deadline, f"B repaired {metric(b, 'triage_peer_repairs_total')} of {events}"
        time.sleep(0.02)
    repair_s = time.time() - started
    lag = metric(b, "triage_peer_lag_events")
    peak = rss_mb(b.proc.pid, "VmHWM")
    print(f"B started empty has all {events} events: {repair_s:.2f} s from its start "
          f"({events / repair_s:,.0f} events/s), lag {lag:.0f}, peak RSS {peak:.0f} MB", flush=True)
    print(f"repair / writing the same records in: {repair_s / ingest_s:.2f}x", flush=True)
    for d in (a, b):
        d.stop()


if __name__ == "__main__":
    main()
