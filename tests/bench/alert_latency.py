#!/usr/bin/env python3
"""Webhook received -> enriched alert posted, over 200 alerts: median and p99.

triaged runs with --alertmanager-url pointing at a recorder in this process
(standing in for Alertmanager's /api/v2/alerts), holding the p01 scenario's
records; each webhook opens its own incident (startsAt 11 minutes apart).
  /usr/bin/python3 tests/bench/alert_latency.py build/triage/server/triaged [N]
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from daemon import Daemon, free_port  # noqa: E402
import alerting_test  # noqa: E402

triaged = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
alerting_test.SOURCE = os.path.join(os.path.dirname(__file__), "..", "..")
arrivals = {}


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        t = time.monotonic()
        for a in body:
            arrivals.setdefault(a["labels"]["triage_incident"], t)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


port = free_port()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Recorder)
threading.Thread(target=server.serve_forever, daemon=True).start()
d = Daemon(triaged, args=["--alertmanager-url", f"http://127.0.0.1:{port}", "--resend-interval", "1h"]).start()
assert d.request("POST", "/api/v1/bundle", alerting_test.p01_records())[0] == 200
sent = {}
base = time.mktime(time.strptime("2026-05-05T03:42:00", "%Y-%m-%dT%H:%M:%S"))
for i in range(n):
    starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.localtime(base + i * 660))
    body = json.dumps(alerting_test.webhook([alerting_test.alert(f"bench-{i}", starts=starts)])).encode()
    t = time.monotonic()
    status, reply = d.request("POST", "/api/v1/alerts", body)
    assert status == 200, reply
    sent[json.loads(reply)["incidents"][0]] = t
deadline = time.time() + 120
while len(arrivals) < n and time.time() < deadline:
    time.sleep(0.05)
lat = sorted((arrivals[k] - sent[k]) * 1000 for k in sent if k in arrivals)
d.stop()
print(f"{len(lat)} of {n} enriched alerts delivered")
print(f"webhook -> enriched alert posted: median {lat[len(lat) // 2]:.1f} ms, "
      f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.1f} ms, max {lat[-1]:.1f} ms")
