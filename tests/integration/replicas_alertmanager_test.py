#!/usr/bin/env python3
"""Two triaged replicas behind two clustered Debian Alertmanagers, with the
shipped deploy/replicas/alertmanager.yml (a webhook per replica, failing
open) and Prometheus' part played by the test (each raw alert posted to both
Alertmanagers). Replica B's webhook answers 500 for a while and then passes
through (Alertmanager issue #4108: a failing webhook is not in the cluster's
notification log, so both Alertmanagers send it once it answers).

Afterwards: exactly one incident on each replica, the same; the enriched
alert in both Alertmanagers (each replica posts to each); one enriched
notification at the owning team after the cluster's dedup; nothing at the
fallback; one Grafana annotation per change.

usage: replicas_alertmanager_test.py TRIAGED SOURCE_DIR
"""
import http.server
import json
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import alerting_test as at
import replicas_test as rt
from alerting_test import Alertmanager, Receiver
from daemon import free_port
from replicas_test import Grafana, Replica, change, converged, wait

DELAY = 8  # Seconds: the fallback route's group_wait in this test.
FAILING = 8  # Seconds B's webhook answers 500 for.
PEER_TIMEOUT = "2s"  # Alertmanager's --cluster.peer-timeout (15 s by default).


class FlakyWebhook:
    """Forwards each POST to 127.0.0.1:port, but answers 500 for a while
    after fail_for()."""

    def __init__(self, port):
        self.port = free_port()
        self.until = 0
        self.refused = self.forwarded = 0
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if time.time() < hook.until:
                    hook.refused += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                req = urllib.request.Request(f"http://127.0.0.1:{port}{self.path}", body,
                                             {"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, reply = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, reply = e.code, e.read()
                hook.forwarded += 1
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_for(self, seconds):
        self.until = time.time() + seconds

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


class ReplicasBehindClusteredAlertmanagersTest(unittest.TestCase):
    def setUp(self):
        # service-owners, ml-platform, incident-commander, the fallback on-call.
        self.teams = [Receiver() for _ in range(4)]
        self.commander, self.fallback = self.teams[2], self.teams[3]
        self.grafana = Grafana()
        self.am_ports = [free_port(), free_port()]
        cluster_ports = [free_port(), free_port()]
        sends = []
        for p in self.am_ports:
            sends += ["--alertmanager-url", f"http://127.0.0.1:{p}"]
        sends += ["--resend-interval", "2s"]
        self.a = Replica(0, self.grafana, extra=sends)
        self.b = Replica(1, self.grafana, extra=sends)
        self.a.start([self.b])
        self.b.start([self.a])
        for r in (self.a, self.b):
            self.assertEqual(r.d.request("POST", "/api/v1/bundle", at.p01_records())[0], 200)
        self.flaky = FlakyWebhook(self.b.d.http_port)
        config = at.am_config([self.a.d.http_port, self.flaky.port], self.teams, f"{DELAY}s",
                              shipped="replicas")
        self.ams = []
        for i, port in enumerate(self.am_ports):
            cluster = [f"--cluster.listen-address=127.0.0.1:{cluster_ports[i]}",
                       f"--cluster.advertise-address=127.0.0.1:{cluster_ports[i]}",
                       f"--cluster.peer=127.0.0.1:{cluster_ports[1 - i]}",
                       f"--cluster.peer-timeout={PEER_TIMEOUT}", "--cluster.settle-timeout=10s"]
            am = Alertmanager(config, cluster)
            am.port = port
            self.ams.append(am.start())
        wait(self.cluster_ready, 60, "the Alertmanager cluster settles")

    def tearDown(self):
        for am in self.ams:
            am.stop()
        for r in (self.a, self.b):
            if r.d.proc is not None:
                r.d.stop()
        self.flaky.close()
        self.grafana.close()
        for t in self.teams:
            t.close()

    def cluster_ready(self):
        states = [get_json(p, "/api/v2/status")["cluster"] for p in self.am_ports]
        return all(s["status"] == "ready" and len(s.get("peers", [])) == 2 for s in states) or states

    def enriched_in(self, am_port):
        q = urllib.parse.quote('triage_incident=~".+"')
        return get_json(am_port, f"/api/v2/alerts?filter={q}")

    def test_one_incident_one_page_and_one_annotation(self):
        raw = [{"labels": {"alertname": "NDCGDropHA", "service": "reranker", "metric": "ndcg_at_10",
                           "severity": "page"},
                "annotations": {"summary": "NDCG@10 dropped"},
                "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "generatorURL": "http://prometheus.invalid/graph"}]
        sent = time.time()
        self.flaky.fail_for(FAILING)
        for am in self.ams:  # As Prometheus does: every alert to every Alertmanager.
            self.assertEqual(am.post_alerts(raw), 200)
        got = self.commander.wait_for(lambda a: "triage_incident" in a["labels"], timeout=DELAY)
        self.assertLess(time.time() - sent, DELAY, "enriched before the fallback delay")
        incident = got[0]["labels"]["triage_incident"]
        for r in (self.a, self.b):
            self.assertEqual(r.post("/api/v1/changes", change(1))[0], 200)
        # B's webhook comes back; B has the incident by its own webhook and by repair.
        wait(lambda: self.flaky.forwarded > 0 or (self.flaky.refused, self.flaky.forwarded),
             FAILING + 30, "B's webhook passes again")
        wait(lambda: converged(self.a, self.b), 60, "A and B converge")
        time.sleep(max(0, sent + DELAY + 6 - time.time()))

        self.assertGreater(self.flaky.refused, 0)
        for r in (self.a, self.b):
            self.assertEqual(list(r.incidents()), [incident], "exactly one incident per replica")
        for port in self.am_ports:
            self.assertEqual(len(self.enriched_in(port)), 1, "each Alertmanager has the enriched alert")
        firing = [p for _, p in self.commander.posts if p["status"] == "firing"]
        self.assertEqual(len(firing), 1, f"one enriched page after the cluster's dedup: {firing}")
        self.assertEqual([a["labels"]["triage_incident"] for a in firing[0]["alerts"]], [incident])
        self.assertEqual(self.fallback.alerts(), [], "the enriched twin muted the raw page")
        self.assertEqual([t.alerts() for t in self.teams[:2]], [[], []])
        wait(lambda: len(self.grafana.tagged("chg-rep-1")) == 1, 20, "one annotation")
        time.sleep(1)
        self.assertEqual(len(self.grafana.tagged("chg-rep-1")), 1)
        print(f"B's webhook refused {self.flaky.refused} posts, then passed {self.flaky.forwarded}",
              file=sys.stderr)


if __name__ == "__main__":
    rt.TRIAGED, at.SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
