#!/usr/bin/env python3
"""Change events in, annotations out: CDEvents in CloudEvents batches to a
real triaged, then the same batches again (redeliveries), and how fast the
Grafana queue drains into a loopback recorder.

usage: change_events_bench.py TRIAGED [--batches 50] [--size 100]
"""
import argparse
import http.client
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from daemon import Daemon, free_port  # noqa: E402


def cdevent(i):
    t = f"2026-11-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return {"specversion": "1.0", "id": f"ev-{i}", "source": "/bench", "time": t,
            "type": "dev.cdevents.service.deployed.0.2.0", "subject": f"svc-{i % 50}",
            "data": {"context": {"version": "0.4.1", "id": f"ev-{i}", "source": "/bench",
                                 "type": "dev.cdevents.service.deployed.0.2.0", "timestamp": t},
                     "subject": {"id": f"svc-{i % 50}", "type": "service",
                                 "content": {"environment": {"id": "prod"},
                                             "artifactId": f"pkg:oci/svc@sha256%3A{i:064x}"}}}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("triaged")
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--size", type=int, default=100)
    a = ap.parse_args()
    received = []

    class Grafana(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(time.time())
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Grafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-grafana-token-{os.getpid()}")
    with open(token, "w") as f:
        f.write("glsa_bench\n")
    d = Daemon(a.triaged, args=["--grafana-url", f"http://127.0.0.1:{port}",
                                "--grafana-token-file", token]).start()
    try:
        bodies = [json.dumps([cdevent(b * a.size + i) for i in range(a.size)]).encode()
                  for b in range(a.batches)]
        total = a.batches * a.size
        conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=60)
        for label, key in (("new", "change"), ("redelivered", "duplicate")):
            latencies = []
            start = time.time()
            for body in bodies:
                t0 = time.time()
                conn.request("POST", "/api/v1/cloudevents", body,
                             {"Content-Type": "application/cloudevents-batch+json"})
                r = conn.getresponse()
                reply = json.loads(r.read())
                latencies.append((time.time() - t0) * 1000)
                assert r.status == 200 and reply["accepted"][key] == a.size, reply
            wall = time.time() - start
            latencies.sort()
            print(f"{label}: {total} CDEvents in {a.batches} batches of {a.size}: "
                  f"{total / wall:,.0f} events/s; per batch p50 {latencies[len(latencies) // 2]:.1f} ms, "
                  f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms")
            if label == "new":
                first_posted = start
        deadline = time.time() + 120
        while len(received) < total and time.time() < deadline:
            time.sleep(0.05)
        span = received[-1] - first_posted
        print(f"grafana: {len(received)} annotations delivered {span:.2f} s after the first "
              f"batch was posted: {len(received) / span:,.0f} annotations/s (one POST each)")
    finally:
        d.stop()
        server.shutdown()
        os.unlink(token)


if __name__ == "__main__":
    main()
