#!/usr/bin/env python3
"""A real team's week in one store, side by side with Prometheus.

Generates the scale bundle with ../shared/tools/gen_scale.py (1,000 series,
500 features, 7 days: ~280 MB, 10.08 M samples), backfills Debian's
prometheus with the same series (promtool tsdb create-blocks-from
openmetrics), starts triaged and prometheus on loopback, and prints every
figure of the scale issue with its target and the reference beside it.
Benchmarks, not tests: ctest does not run this.

usage: scale_bench.py BUILD_DIR [--work DIR] [--series 1000] [--features 500]
                      [--days 7] [--skip-page]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
from daemon import Daemon  # noqa: E402
from prom import Prometheus  # noqa: E402

ROWS = []


def row(figure, triaged, target, reference="—"):
    ROWS.append((figure, triaged, target, reference))
    print(f"  {figure}: {triaged}   [target {target}; reference {reference}]", flush=True)


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def du(path, pattern=None):
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            p = os.path.join(dirpath, name)
            if pattern is None or re.search(pattern, p):
                total += os.path.getsize(p)
    return total


def generate(work, series, features, days):
    bundle = os.path.join(work, f"scale-{series}-{features}-{days}.jsonl")
    if not os.path.exists(bundle):
        gen = os.path.join(SOURCE, "..", "shared", "tools", "gen_scale.py")
        run([sys.executable, gen, bundle + ".tmp", str(series), str(features), str(days)])
        os.rename(bundle + ".tmp", bundle)
    return bundle


def openmetrics(bundle):
    """The bundle's series as OpenMetrics (one family per metric name); the
    sample count; the alerted incident's end time (ms)."""
    out = bundle + ".om"
    meta = bundle + ".meta.json"
    if os.path.exists(out) and os.path.exists(meta):
        with open(meta) as f:
            return out, json.load(f)
    families = {}
    samples = 0
    last_ms = 0
    fired = None
    with open(bundle) as f:
        for line in f:
            if line.startswith('{"type":"incident"'):
                fired = json.loads(line)["alerts"][0]["fired_at"]
            if not line.startswith('{"type":"series"'):
                continue
            r = json.loads(line)
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(r["labels"].items()))
            text = "".join(f"{r['metric']}{{{labels}}} {v!r} {t / 1000:.3f}\n" for t, v in r["points"])
            families.setdefault(r["metric"], []).append(text)
            samples += len(r["points"])
            last_ms = max(last_ms, r["points"][-1][0])
    with open(out + ".tmp", "w") as f:
        for name, texts in families.items():
            f.write(f"# TYPE {name} gauge\n")
            for t in texts:
                f.write(t)
        f.write("# EOF\n")
    os.rename(out + ".tmp", out)
    info = {"samples": samples, "last_ms": last_ms, "fired_at": fired}
    with open(meta, "w") as f:
        json.dump(info, f)
    return out, info


def backfill(work, om):
    tsdb = om + ".tsdb"
    if not os.path.isdir(tsdb):
        run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, tsdb + ".tmp"])
        os.rename(tsdb + ".tmp", tsdb)
    data = os.path.join(work, "prometheus-data")
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(tsdb, data)
    return data


def load(build, *args):
    return run([os.path.join(build, "tests", "bench", "triage_load"), *args])


def latency(out):
    m = re.search(r"first ([\d.]+) ms.*p50 ([\d.]+) ms, p90 ([\d.]+) ms, p99 ([\d.]+) ms.*answer (\d+) bytes", out)
    return {"first": float(m[1]), "p50": float(m[2]), "p90": float(m[3]), "p99": float(m[4]),
            "bytes": int(m[5])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "triage-scale"))
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--features", type=int, default=500)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--skip-page", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.makedirs(a.work, exist_ok=True)
    triaged = os.path.join(build, "triage", "server", "triaged")

    print("== the scale bundle and Prometheus's copy of its series", flush=True)
    bundle = generate(a.work, a.series, a.features, a.days)
    om, info = openmetrics(bundle)
    samples = info["samples"]
    size_mb = os.path.getsize(bundle) / 1e6
    print(f"  {bundle}: {size_mb:.0f} MB, {samples:,} samples", flush=True)
    prom_data = backfill(a.work, om)
    prom_chunks = du(prom_data, r"/chunks/")
    prom_index = du(prom_data, r"/index$")

    print("== ingest", flush=True)
    data = os.path.join(a.work, "triaged-data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    d = Daemon(triaged, data_dir=data).start()
    try:
        out = load(build, "bundle", "--http", str(d.http_port), "--file", bundle, "--runs", "1")
        mbs = float(re.search(r"median: ([\d.]+) MB/s", out)[1])
        row("ingest the bundle (HTTP)", f"{mbs:.1f} MB/s ({size_mb:.0f} MB)", "≥ 50 MB/s")
        row("triaged RSS peak during ingest", f"{rss_mb(d.proc.pid, 'VmHWM'):.0f} MB", "≤ 256 MB")
        row("triaged RSS after ingest", f"{rss_mb(d.proc.pid):.0f} MB", "≤ 256 MB")
    finally:
        d.stop()

    store = os.path.join(data, "store")
    print("== walk, overlay, keep-alive (triaged restarted on the scale store)", flush=True)
    d = Daemon(triaged, data_dir=data).start()
    prom = Prometheus(prom_data).start()
    try:
        at = info["fired_at"]
        out = load(build, "triage", "--grpc", str(d.grpc_port), "--service", "reranker",
                   "--metric", "ndcg_at_10", "--at", at, "--calls", "1")
        first = float(re.search(r"p50 ([\d.]+) ms", out)[1])
        localized = re.search(r"localized (\S+)\)", out)[1]
        out = load(build, "triage", "--grpc", str(d.grpc_port), "--service", "reranker",
                   "--metric", "ndcg_at_10", "--at", at, "--calls", "100")
        m = re.search(r"p50 ([\d.]+) ms, p90 ([\d.]+) ms, p99 ([\d.]+) ms", out)
        row("Triage over gRPC, 100 calls (warm)", f"p50 {m[1]} ms, p90 {m[2]} ms, p99 {m[3]} ms",
            "p50 ≤ 10 ms, p99 ≤ 20 ms")
        row("first walk after a restart", f"{first:.0f} ms", "≤ 100 ms")
        status, report = d.post_json("/triage.v1.TriageService/Triage", {
            "alerts": [{"service": "reranker", "metric": "ndcg_at_10"}], "at": at})
        drift = next(v for v in report["verdicts"] if v["category"] == "feature_drift")
        row("answer on the scale store", f"{localized}; drift evidence: {drift['evidence'][:70]}",
            "feature_drift, the drifting feature first")

        end_s = info["last_ms"] // 1000
        overlay = json.dumps({"service": "reranker", "metric": "ndcg_at_10", "window": "7d",
                              "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end_s))})
        t = latency(load(build, "http", "--http", str(d.http_port), "--method", "POST",
                         "--path", "/triage.v1.OverlayService/GetOverlay", "--body", overlay,
                         "--requests", "101"))
        p = latency(load(build, "http", "--http", str(prom.port), "--path",
                         f"/api/v1/query_range?query=ndcg_at_10%7Bservice%3D%22reranker%22%7D"
                         f"&start={end_s - 7 * 86400}&end={end_s}&step=60", "--requests", "101"))
        row("GetOverlay 7d, reranker/ndcg_at_10, HTTP, 100 calls",
            f"p50 {t['p50']:.2f} ms, p99 {t['p99']:.2f} ms ({t['bytes'] / 1e3:.0f} kB)",
            "≤ Prometheus p50 and p99",
            f"query_range 7d step 60s: p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms "
            f"({p['bytes'] / 1e3:.0f} kB); ratio p50 {t['p50'] / p['p50']:.2f}×, p99 {t['p99'] / p['p99']:.2f}×")
        k = latency(load(build, "http", "--http", str(d.http_port), "--method", "POST",
                         "--path", "/triage.v1.OverlayService/GetVocabulary", "--body", "{}",
                         "--requests", "20"))
        row("20 requests on one keep-alive connection", f"first {k['first']:.2f} ms, "
            f"2nd-20th p99 {k['p99']:.2f} ms", "2nd-20th as fast as the first")
        row("triaged RSS after the walks and overlays", f"{rss_mb(d.proc.pid):.0f} MB", "≤ 256 MB")
        status, metrics = d.get("/metrics")
        m = re.search(rb'triage_store_sst_bytes\{cf="series_chunks"\} ([\d.e+]+)', metrics)
        chunk_bytes = float(m[1]) if m else None
    finally:
        prom.stop()
        d.stop()
    total = du(store)
    row("store on disk", f"{total / 1e6:.0f} MB, {total / samples:.1f} bytes per sample in all"
        + (f", {chunk_bytes / samples:.2f} in its series chunks" if chunk_bytes else ""),
        "fewer bytes per sample than Prometheus, aiming at ≤ 4",
        f"Prometheus 2.42 backfilled: {prom_chunks / samples:.2f} bytes per sample in its chunk files "
        f"({(prom_chunks + prom_index) / samples:.2f} with index)")

    print("== remote_write, same generator, fresh stores", flush=True)
    rw_args = ["--series", "2000", "--requests", "250", "--connections", "4", "--runs", "3",
               "--start-ms", str(int(time.time() * 1000) - 3600_000)]
    d = Daemon(triaged, data_dir=tempfile.mkdtemp(prefix="triaged-rw-", dir=a.work)).start()
    try:
        tr = float(re.search(r"median: (\d+)", load(build, "remote-write", "--http", str(d.http_port),
                                                       *rw_args))[1])
    finally:
        d.stop()
    prom = Prometheus(tempfile.mkdtemp(prefix="prom-rw-", dir=a.work),
                      ["--web.enable-remote-write-receiver"]).start()
    try:
        pr = float(re.search(r"median: (\d+)", load(build, "remote-write", "--http", str(prom.port),
                                                       *rw_args))[1])
    finally:
        prom.stop()
    row("remote_write, 2,000 series a request, 4 connections", f"{tr:,.0f} samples/s",
        "≥ 2× Prometheus", f"Prometheus 2.42 receiver {pr:,.0f} samples/s; ratio {tr / pr:.2f}×")

    print("== KL, 500 features × 16 bins", flush=True)
    if subprocess.run([sys.executable, "-c", "import scipy"], capture_output=True).returncode != 0:
        run(["apt-get", "install", "-y", "python3-scipy"])
    out = run([os.path.join(build, "tests", "bench", "replay_bench"),
               "--benchmark_filter=BM_KlFeatures", "--benchmark_repetitions=5",
               "--benchmark_report_aggregates_only=true"])
    m = re.search(r"BM_KlFeatures/500/16_median\s+([\d.]+) (ns|us)", out)
    ours_us = float(m[1]) / (1000 if m[2] == "ns" else 1)
    scipy = run([sys.executable, "-c", SCIPY_KL])
    ref_us = float(scipy.strip())
    row("KL of 500 features × 16 bins", f"{ours_us:.1f} µs", "≤ 20 µs (≥ 5× scipy)",
        f"scipy entropy(p, q, axis=1): {ref_us:.1f} µs; ratio {ref_us / ours_us:.1f}×")

    if not a.skip_page:
        print("== the page", flush=True)
        out = run(["node", os.path.join(HERE, "page_render.mjs"), triaged, "5000"])
        m = re.search(r"median: (\d+) ms", out)
        row("page: first render, 7d overlay, 5,000 in-scope markers", f"{m[1]} ms", "< 1 s")

    print("\n| figure | triaged | target | reference |\n|---|---|---|---|")
    for r in ROWS:
        print("| " + " | ".join(r) + " |")


SCIPY_KL = """
import timeit, numpy as np
from scipy.stats import entropy
rng = np.random.default_rng(1)
p = rng.random((500, 16)) + 1e-4; q = rng.random((500, 16)) + 1e-4
p /= p.sum(axis=1, keepdims=True); q /= q.sum(axis=1, keepdims=True)
n = 200
best = min(timeit.repeat(lambda: entropy(p, q, axis=1), number=n, repeat=5)) / n
print(best * 1e6)
"""

if __name__ == "__main__":
    main()
