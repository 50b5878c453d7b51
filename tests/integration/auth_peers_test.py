#!/usr/bin/env python3
"""Who may do what, with real peers: Debian's prometheus remote-writing over
TLS with a token, and Debian's prometheus-alertmanager posting its webhook
with credentials and receiving enriched alerts over HTTPS, both secured as
deploy/prometheus/secure/ shows. Helpers from auth_test.py.

usage: auth_peers_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_test  # noqa: E402
from auth_test import AM_BIN, basic, https, secured  # noqa: E402
from daemon import Daemon, free_port  # noqa: E402

TRIAGED = TRIAGECTL = SOURCE = None


class PeersTest(unittest.TestCase):
    """Debian's prometheus and prometheus-alertmanager, secured as deploy/prometheus/secure/ shows."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="peers-")
        self.secrets = secured(self.dir)
        self.ca = os.path.join(self.dir, "tls", "ca.crt")

    def render(self, name, replacements):
        path = os.path.join(self.dir, name)
        with open(path) as f:
            text = f.read()
        for a, b in replacements:
            text = text.replace(a, b)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_configs_check(self):
        for cmd in (["promtool", "check", "config", "prometheus.yml"],
                    ["amtool", "check-config", "alertmanager.yml"],
                    ["promtool", "check", "web-config", "alertmanager-web.yml"],
                    [TRIAGECTL, "check", "web-config", "triage-web.yml"]):
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([TRIAGECTL, "check", "web-config", os.path.join(self.dir, "prometheus.yml")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAILED", r.stderr)

    def test_prometheus_remote_writes_over_tls_with_a_token(self):
        d = Daemon(TRIAGED, args=["--web-config-file", os.path.join(self.dir, "triage-web.yml")],
                   ready=False).start()
        auth_test.TlsTest.wait_ready(d, self.ca)
        port = free_port()
        config = self.render("prometheus.yml", [
            ("127.0.0.1:7080", f"127.0.0.1:{d.http_port}"),
            ("  evaluation_interval: 15s\n", "  evaluation_interval: 15s\n  external_labels: {service: prometheus}\n"),
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("batch_send_deadline: 5s", "batch_send_deadline: 1s"),
        ])
        log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.dir}/tsdb",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log, cwd=self.dir)
        token = {"Authorization": "Bearer " + self.secrets["prometheus-token"]}
        try:
            points = []
            deadline = time.time() + 120
            while time.time() < deadline and not points:
                time.sleep(1)
                status, body, _ = https(d.http_port, "POST", "/triage.v1.OverlayService/GetOverlay",
                                        json.dumps({"service": "prometheus", "metric": "up", "window": "60m"}).encode(),
                                        {**token, "Content-Type": "application/json"}, ca=self.ca)
                points = json.loads(body).get("points", []) if status == 200 else []
            self.assertTrue(points, open(os.path.join(self.dir, "prometheus.log")).read()[-3000:])
            # up == 1: Prometheus scraped triaged's /metrics over TLS with the token too.
            self.assertEqual(points[-1]["value"], 1)
        finally:
            prom.terminate()
            prom.wait(timeout=30)
            self.assertEqual(d.stop(), 0)

    def test_alertmanager_webhook_and_enriched_alerts_over_https(self):
        from alerting_test import Receiver, alert, p01_records
        import alerting_test
        alerting_test.SOURCE = SOURCE
        teams = [Receiver() for _ in range(3)]
        am_port = free_port()
        d = Daemon(TRIAGED, args=["--web-config-file", os.path.join(self.dir, "triage-web.yml"),
                                  "--alertmanager-url", f"https://127.0.0.1:{am_port}",
                                  "--alertmanager-ca-file", self.ca,
                                  "--alertmanager-basic-auth-file",
                                  os.path.join(self.dir, "secrets", "triaged-to-alertmanager.basic"),
                                  "--resend-interval", "2s"], ready=False).start()
        auth_test.TlsTest.wait_ready(d, self.ca)
        token = {"Authorization": "Bearer " + self.secrets["prometheus-token"]}
        status, body, _ = https(d.http_port, "POST", "/api/v1/bundle", p01_records(),
                                {**token, "Content-Type": "application/x-ndjson"}, ca=self.ca)
        self.assertEqual(status, 200, body)
        replacements = [("127.0.0.1:7080", f"127.0.0.1:{d.http_port}"), ("group_wait: 10s", "group_wait: 1s"),
                        ("group_interval: 1m", "group_interval: 1s")]
        for default, recv in zip(("9101", "9102", "9103"), teams):
            replacements.append((f"127.0.0.1:{default}", f"127.0.0.1:{recv.port}"))
        config = self.render("alertmanager.yml", replacements)
        log = open(os.path.join(self.dir, "am.log"), "wb")
        am = subprocess.Popen([AM_BIN, f"--config.file={config}", f"--storage.path={self.dir}/am",
                               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                               f"--web.config.file={self.dir}/alertmanager-web.yml"],
                              stdout=log, stderr=log, cwd=self.dir)
        am_auth = {"Authorization": basic("prometheus", self.secrets["prometheus-to-alertmanager"]),
                   "Content-Type": "application/json"}
        try:
            for _ in range(300):
                try:
                    if https(am_port, "GET", "/-/ready", ca=self.ca, headers=am_auth)[0] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            # Without credentials Alertmanager refuses; with them it takes the page.
            self.assertEqual(https(am_port, "GET", "/api/v2/alerts", ca=self.ca)[0], 401)
            page = alert("fp-secure")
            status, _, _ = https(am_port, "POST", "/api/v2/alerts", json.dumps([{
                "labels": page["labels"], "annotations": page["annotations"],
                "startsAt": page["startsAt"], "generatorURL": page["generatorURL"]}]).encode(),
                am_auth, ca=self.ca)
            self.assertEqual(status, 200)
            got = teams[0].wait_for(lambda a: a["labels"].get("triage_category") == "code_deploy")
            self.assertEqual(got[0]["labels"]["triage_owner"], "service-owners")
        finally:
            am.terminate()
            am.wait(timeout=30)
            for t in teams:
                t.close()
            self.assertEqual(d.stop(), 0, d.read_log())


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    auth_test.TRIAGED, auth_test.TRIAGECTL, auth_test.SOURCE = TRIAGED, TRIAGECTL, SOURCE
    unittest.main(argv=sys.argv[:1], verbosity=2)
