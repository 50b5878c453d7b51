"""Debian's prometheus for tests and benchmarks, on loopback: a bundle's
series as OpenMetrics, backfilled with promtool into a fresh TSDB, and a
server over it that can be stopped and started again."""

import json
import os
import signal
import socket
import subprocess
import time

from daemon import free_port


def label_text(labels):
    def esc(v):
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items()))


def number(v):
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def openmetrics(series_records, histograms=()):
    """OpenMetrics text for series records ({"metric","labels","points"}) as
    gauges, and for `histograms`: (name, labels, [(t_ms, {le: cumulative})])
    as Prometheus histograms."""
    families = {}
    for r in series_records:
        labels = label_text(r["labels"])
        text = "".join(f"{r['metric']}{{{labels}}} {number(v)} {t / 1000:.3f}\n"
                       for t, v in r["points"])
        families.setdefault(r["metric"], ("gauge", []))[1].append(text)
    for name, labels, points in histograms:
        lines = []
        for t, buckets in points:
            for le, c in buckets.items():
                lines.append(f"{name}_bucket{{{label_text(dict(labels, le=le))}}} {c} {t / 1000:.3f}\n")
            total = buckets["+Inf"]
            lines.append(f"{name}_count{{{label_text(labels)}}} {total} {t / 1000:.3f}\n")
            lines.append(f"{name}_sum{{{label_text(labels)}}} 0 {t / 1000:.3f}\n")
        families.setdefault(name, ("histogram", []))[1].append("".join(lines))
    out = []
    for name, (kind, texts) in families.items():
        out.append(f"# TYPE {name} {kind}\n")
        out.extend(texts)
    out.append("# EOF\n")
    return "".join(out)


def backfill(om_text, data_dir):
    """A TSDB in data_dir holding om_text (promtool tsdb create-blocks-from)."""
    os.makedirs(data_dir, exist_ok=True)
    om = os.path.join(data_dir, "input.om")
    with open(om, "w") as f:
        f.write(om_text)
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, data_dir],
                   check=True, capture_output=True)
    os.unlink(om)
    return data_dir


class Prometheus:
    """prometheus on 127.0.0.1 over data_dir; stop() and start() again keep the port."""

    def __init__(self, data_dir, extra=()):
        self.data = data_dir
        self.extra = list(extra)
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=120):
        cfg = os.path.join(self.data, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {}\n")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=100y",
             *self.extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /-/ready HTTP/1.0\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.proc = None


def split_bundle(path):
    """(series records, the other lines) of a bundle file."""
    series, others = [], []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            if line.startswith('{"type":"series"'):
                series.append(json.loads(line))
            else:
                others.append(line.rstrip("\n"))
    return series, others
