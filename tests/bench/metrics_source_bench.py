#!/usr/bin/env python3
"""Walks with the metrics source (--metrics-url, Debian's prometheus 2.42
backfilled with the series) beside the same walks on the embedded store, in
one run: on every public scenario, then on the scale bundle
(../shared/tools/gen_scale.py, cached in --work as scale_bench.py leaves it).
Also the state triaged keeps when the series stay in Prometheus (bytes per
day of the scale bundle's other records). Benchmarks, not tests.

usage: metrics_source_bench.py BUILD_DIR [--work DIR] [--walks 50] [--skip-scale]
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
sys.path.insert(0, HERE)
from daemon import Daemon  # noqa: E402
from prom import Prometheus, backfill, openmetrics, split_bundle  # noqa: E402
import scale_bench  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def walks(d, incident, n):
    """n walks of the incident's alerts as of its fired_at: (ms each, the last report)."""
    alerts = [{"service": a["service"], "metric": a["metric"]} for a in incident["alerts"]]
    at = max(a["fired_at"] for a in incident["alerts"])
    out, report = [], None
    for _ in range(n):
        t = time.perf_counter()
        status, report = d.post_json("/triage.v1.TriageService/Triage", {"alerts": alerts, "at": at})
        out.append((time.perf_counter() - t) * 1000)
        assert status == 200, report
    return out, report


def scenarios(build, n):
    triaged = os.path.join(build, "triage", "server", "triaged")
    d_dir = os.path.join(SOURCE, "..", "shared", "scenarios")
    remote, local, queries = [], [], []
    for name in sorted(os.listdir(d_dir)):
        path = os.path.join(d_dir, name)
        series, others = split_bundle(path)
        incident = next(json.loads(l) for l in others if '"type":"incident"' in l)
        p = Prometheus(backfill(openmetrics(series), tempfile.mkdtemp(prefix="prom-"))).start()
        d = Daemon(triaged, args=["--metrics-url", p.url]).start()
        e = Daemon(triaged).start()
        try:
            assert d.request("POST", "/api/v1/bundle", "\n".join(others).encode())[0] == 200
            with open(path, "rb") as f:
                assert e.request("POST", "/api/v1/bundle", f.read())[0] == 200
            ms, report = walks(d, incident, n)
            remote += ms
            queries.append(len(report["queries"]))
            local += walks(e, incident, n)[0]
        finally:
            d.stop()
            e.stop()
            p.stop()
    print(f"| {len(queries)} public scenarios, {n} walks each (HTTP) | "
          f"p50 {statistics.median(remote):.1f} ms, p99 {pct(remote, 99):.1f} ms | "
          f"p50 {statistics.median(local):.1f} ms, p99 {pct(local, 99):.1f} ms | "
          f"{min(queries)}–{max(queries)} (median {statistics.median(queries):.0f}) |", flush=True)


def scale(build, work, n):
    triaged = os.path.join(build, "triage", "server", "triaged")
    bundle = scale_bench.generate(work, 1000, 500, 7)
    om, info = scale_bench.openmetrics(bundle)
    prom_data = scale_bench.backfill(work, om)
    others = bundle + ".others"
    if not os.path.exists(others):
        with open(bundle) as f, open(others + ".tmp", "w") as g:
            for line in f:
                if not line.startswith('{"type":"series"'):
                    g.write(line)
        os.rename(others + ".tmp", others)
    p = Prometheus(prom_data).start()
    d = Daemon(triaged, args=["--metrics-url", p.url]).start()
    e = Daemon(triaged).start()
    try:
        for daemon, path in ((d, others), (e, bundle)):
            out = scale_bench.load(build, "bundle", "--http", str(daemon.http_port), "--file", path,
                                   "--runs", "1")
            assert "MB/s" in out, out
        incident = {"alerts": [{"service": "reranker", "metric": "ndcg_at_10",
                                "fired_at": info["fired_at"]}]}
        ms, report = walks(d, incident, n)
        lms, lreport = walks(e, incident, n)
        print(f"| scale bundle (1,000 series, 500 features, 7 d), {n} walks (HTTP) | "
              f"p50 {statistics.median(ms):.1f} ms, p99 {pct(ms, 99):.1f} ms; "
              f"{report['localized_category']} | p50 {statistics.median(lms):.1f} ms, "
              f"p99 {pct(lms, 99):.1f} ms; {lreport['localized_category']} | "
              f"{len(report['queries'])} |", flush=True)
        d.stop()
        d.start()  # Flushed: the SST files hold everything.
        status, metrics = d.get("/metrics")
        sst = {m[1].decode(): float(m[2]) for m in
               re.finditer(rb'triage_store_sst_bytes\{cf="([^"]+)"\} ([\d.e+]+)', metrics)}
        total = sum(sst.values())
        print(f"state kept with --metrics-url: {total / 1e6:.1f} MB for 7 days = "
              f"{total / 7 / 1e6:.2f} MB/day (500 features hourly, ~714 changes/day); by table: "
              + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(sst.items()) if v), flush=True)
    finally:
        d.stop()
        e.stop()
        p.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--work", default="/tmp/triage-scale")
    ap.add_argument("--walks", type=int, default=50)
    ap.add_argument("--skip-scale", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    print("| walk | with --metrics-url (Prometheus) | embedded store, same run | queries per walk |")
    print("|---|---|---|---|")
    scenarios(a.build, a.walks)
    if not a.skip_scale:
        scale(a.build, a.work, a.walks)


if __name__ == "__main__":
    main()
