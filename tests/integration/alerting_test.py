#!/usr/bin/env python3
"""Prometheus alert routing against the real binaries: triaged, Debian's
prometheus-alertmanager, promtool and amtool.

usage: alerting_test.py TRIAGED SOURCE_DIR
"""
import gzip
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from daemon import Daemon, free_port

TRIAGED = SOURCE = None
AM_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def p01_records():
    """The p01 scenario's records without its incident (alerts will open it)."""
    with gzip.open(os.path.join(SOURCE, "deploy", "demo", "scenarios", "p01-code-deploy.jsonl.gz"), "rb") as f:
        return b"\n".join(l for l in f.read().splitlines() if b'"type":"incident"' not in l)


def webhook(alerts, status="firing"):
    return {"version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0, "status": status,
            "receiver": "triage", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.invalid", "alerts": alerts}


def alert(fingerprint, service="reranker", metric="ndcg_at_10", starts="2026-05-05T03:42:00Z",
          status="firing", ends="0001-01-01T00:00:00Z", name="NDCGDrop"):
    labels = {"alertname": name, "severity": "page"}
    if service:
        labels["service"] = service
    if metric:
        labels["metric"] = metric
    return {"status": status, "labels": labels, "annotations": {"summary": "quality dropped"},
            "startsAt": starts, "endsAt": ends, "generatorURL": "http://prometheus.invalid/graph",
            "fingerprint": fingerprint}


class Receiver:
    """A team's webhook receiver: records every Alertmanager notification."""

    def __init__(self):
        self.port = free_port()
        self.posts = []
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recv.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self):
        return [a for _, p in self.posts for a in p["alerts"]]

    def wait_for(self, pred, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [a for a in self.alerts() if pred(a)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no matching alert; got {self.alerts()}")

    def close(self):
        self.server.shutdown()


class Alertmanager:
    """cluster: its --cluster.* flags (none: clustering off)."""

    def __init__(self, config_text, cluster=("--cluster.listen-address=",)):
        self.dir = tempfile.mkdtemp(prefix="am-")
        self.port = free_port()
        self.cluster = list(cluster)
        with open(os.path.join(self.dir, "alertmanager.yml"), "w") as f:
            f.write(config_text)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "am.log"), "ab")
        self.proc = subprocess.Popen([AM_BIN, f"--config.file={self.dir}/alertmanager.yml",
                                      f"--storage.path={self.dir}/data",
                                      f"--web.listen-address=127.0.0.1:{self.port}",
                                      *self.cluster], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).status == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("alertmanager did not start: " + open(os.path.join(self.dir, "am.log")).read())

    def post_alerts(self, alerts):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v2/alerts", json.dumps(alerts).encode(),
                                     {"Content-Type": "application/json"})
        return urllib.request.urlopen(req, timeout=10).status

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def am_config(triaged_http, teams, fallback_delay="60s", shipped="prometheus"):
    """The shipped config (deploy/SHIPPED/alertmanager.yml) with loopback
    ports: triaged_http is one HTTP port or one per replica (7080, 7081, ...);
    teams are service-owners, ml-platform, incident-commander and the
    fallback on-call, in that order."""
    with open(os.path.join(SOURCE, "deploy", shipped, "alertmanager.yml")) as f:
        text = f.read()
    ports = triaged_http if isinstance(triaged_http, (list, tuple)) else [triaged_http]
    for i, port in enumerate(ports):
        text = text.replace(f"127.0.0.1:{7080 + i}/", f"127.0.0.1:{port}/")
    for default, recv in zip(("9101", "9102", "9103", "9104"), teams):
        text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{recv.port}")
    text = text.replace("group_wait: 60s", f"group_wait: {fallback_delay}")
    return text.replace("group_wait: 10s", "group_wait: 1s").replace("group_interval: 1m", "group_interval: 1s")


class ConfigTest(unittest.TestCase):
    def test_deploy_configs_validate(self):
        d = os.path.join(SOURCE, "deploy", "prometheus")
        for cmd in (["promtool", "check", "config", f"{d}/prometheus.yml"],
                    ["promtool", "check", "rules", f"{d}/rules.yml"],
                    ["amtool", "check-config", f"{d}/alertmanager.yml"],
                    ["promtool", "check", "config", f"{d}/../replicas/prometheus.yml"],
                    ["amtool", "check-config", f"{d}/../replicas/alertmanager.yml"],
                    ["promtool", "test", "rules",
                     os.path.join(SOURCE, "tests", "prometheus", "rules_test.yml")]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("12 rules found", subprocess.run(["promtool", "check", "rules", f"{d}/rules.yml"],
                                                      capture_output=True, text=True).stdout)


    def test_the_replicas_config_routes_as_the_single_one(self):
        """deploy/replicas/alertmanager.yml differs only in its second webhook."""
        d = os.path.join(SOURCE, "deploy")
        def body(path):
            with open(path) as f:
                return [l for l in f.read().split("route:", 1)[1].splitlines()]
        one = body(f"{d}/prometheus/alertmanager.yml")
        two = body(f"{d}/replicas/alertmanager.yml")
        extra = ["      - url: http://127.0.0.1:7081/api/v1/alerts", "        send_resolved: true"]
        i = two.index(extra[0])
        self.assertEqual(two[i:i + 2], extra)
        self.assertEqual(two[:i] + two[i + 2:], one)


class WebhookTest(unittest.TestCase):
    """The webhook alone (no Alertmanager to send to)."""

    def setUp(self):
        self.d = Daemon(TRIAGED, args=["--kl-refresh", "1s"]).start()
        status, _ = self.d.request("POST", "/api/v1/bundle", p01_records())
        self.assertEqual(status, 200)

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)

    def post(self, body):
        status, reply = self.d.request("POST", "/api/v1/alerts", json.dumps(body).encode(),
                                       {"Content-Type": "application/json"})
        return status, json.loads(reply)

    def state(self, incident):
        status, view = self.d.post_json("/triage.v1.TriageService/GetIncident", {"id": incident})
        self.assertEqual(status, 200, view)
        return view

    def wait_report(self, incident):
        for _ in range(100):
            view = self.state(incident)
            if "report" in view and any(e["event"] == "walk_finished" for e in view["state"]["timeline"]):
                return view
            time.sleep(0.1)
        raise AssertionError(f"{incident} was never walked: {view}")

    def test_open_join_dedupe_resolve(self):
        status, r = self.post(webhook([alert("fp-a")]))
        self.assertEqual((status, r["opened"]), (200, 1))
        inc = r["incidents"][0]
        view = self.wait_report(inc)
        self.assertEqual(view["report"]["localized_category"], "code_deploy")
        self.assertEqual(view["report"]["now"], "2026-05-05T03:42:00Z", "walked as of startsAt")
        # The same alert again changes nothing.
        status, r = self.post(webhook([alert("fp-a")]))
        self.assertEqual((r["unchanged"], r["opened"]), (1, 0))
        # Another service 6 minutes later joins the open incident.
        status, r = self.post(webhook([alert("fp-b", service="embedding-service", metric="latency",
                                             starts="2026-05-05T03:48:00Z")]))
        self.assertEqual((r["joined"], r["incidents"]), (1, [inc]))
        # One 11 minutes after the last opens another.
        status, r = self.post(webhook([alert("fp-c", service="recsys", metric="ctr",
                                             starts="2026-05-05T04:00:00Z")]))
        self.assertEqual(r["opened"], 1)
        other = r["incidents"][0]
        self.assertNotEqual(other, inc)
        # Resolving every alert resolves the incident and records the time to resolve.
        status, r = self.post(webhook([alert("fp-a", status="resolved", ends="2026-05-05T04:12:00Z"),
                                       alert("fp-b", service="embedding-service", metric="latency",
                                             starts="2026-05-05T03:48:00Z", status="resolved",
                                             ends="2026-05-05T04:12:00Z")], status="resolved"))
        self.assertEqual(r["resolved"], 2)
        st = self.wait_report(inc)["state"]
        self.assertEqual(st["status"], "resolved")
        self.assertEqual(st["minutes_to_resolve"], 30)
        events = [e["event"] for e in st["timeline"]]
        self.assertEqual(events[0], "alert_received")
        for e in ("walk_finished", "alert_joined", "resolved"):
            self.assertIn(e, events)
        self.assertEqual(self.state(other)["state"]["status"], "open")
        _, metrics = self.d.get("/metrics")
        self.assertIn(b"triage_pages_total 3", metrics)
        self.assertIn(b"triage_incidents_open 1", metrics)
        # The drift gauges refresh on their schedule (every second here) for
        # features with a current hour: write some around the wall clock.
        hour = 3600
        now = int(time.time()) // hour * hour
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        lines = [json.dumps({"type": "histogram", "feature": "live", "service": "svc", "start": iso(now - h * hour),
                             "end": iso(now - (h - 1) * hour), "edges": [0, 1, 2],
                             "counts": [90, 10] if h > 1 else [10, 90]}) for h in range(60, 0, -1)]
        self.assertEqual(self.d.request("POST", "/api/v1/bundle", "\n".join(lines).encode())[0], 200)
        want = b'triage_feature_kl{feature="live",service="svc"} '
        for _ in range(50):
            _, metrics = self.d.get("/metrics")
            if want in metrics:
                break
            time.sleep(0.1)
        self.assertIn(want, metrics)
        kl = float(metrics.split(want)[1].split(b"\n")[0])
        self.assertGreater(kl, 1.0)

    def test_unmapped_alert_is_recorded_not_dropped(self):
        status, r = self.post(webhook([alert("fp-u", metric=None)]))
        self.assertEqual((status, r["unmapped"]), (200, 1))
        st = self.state(r["incidents"][0])["state"]
        self.assertEqual(st["unmapped_reason"], "no label metric and no annotation metric")
        status, r = self.post(webhook([alert("fp-v", service=None)]))
        self.assertEqual(self.state(r["incidents"][0])["state"]["unmapped_reason"], "no label service")

    def test_bad_webhooks_are_400_and_change_nothing(self):
        for body in (b"{", b'{"version":"5","alerts":[]}', b'{"alerts":[{"status":"firing"}]}',
                     b'{"alerts":[{"status":"maybe","fingerprint":"x"}]}'):
            status, reply = self.d.request("POST", "/api/v1/alerts", body)
            self.assertEqual(status, 400, (body, reply))
        status, r = self.d.post_json("/triage.v1.TriageService/ListIncidents", {})
        self.assertEqual(r["incidents"], [])


class AlertmanagerTest(unittest.TestCase):
    """Alertmanager -> webhook -> walk -> enriched alert -> routed to the owning team."""

    def setUp(self):
        self.teams = [Receiver(), Receiver(), Receiver(), Receiver()]
        self.am_port = free_port()

    def tearDown(self):
        for t in self.teams:
            t.close()

    def start_triaged(self, data_dir=None):
        return Daemon(TRIAGED, data_dir=data_dir, args=[
            "--alertmanager-url", f"http://127.0.0.1:{self.am_port}", "--resend-interval", "2s",
            "--resolve-missing-after", "2s"]).start()

    def start_am(self, d, am=None):
        am = am or Alertmanager(am_config(d.http_port, self.teams))
        am.port = self.am_port
        return am.start()

    def test_routed_to_the_owning_team_and_resolved(self):
        d = self.start_triaged()
        am = None
        try:
            self.assertEqual(d.request("POST", "/api/v1/bundle", p01_records())[0], 200)
            am = self.start_am(d)
            self.assertEqual(am.post_alerts([{"labels": {"alertname": "NDCGDrop", "service": "reranker",
                                                         "metric": "ndcg_at_10", "severity": "page"},
                                              "annotations": {"summary": "NDCG@10 dropped"},
                                              "startsAt": "2026-05-05T03:42:00Z",
                                              "generatorURL": "http://prometheus.invalid/graph"}]), 200)
            service_owners = self.teams[0]
            got = service_owners.wait_for(lambda a: a["labels"].get("triage_category") == "code_deploy")[0]
            self.assertEqual(got["labels"]["triage_owner"], "service-owners")
            self.assertEqual(got["labels"]["alertname"], "NDCGDrop")
            self.assertTrue(got["labels"]["triage_incident"].startswith("am-"))
            self.assertIn("chg-p01", got["annotations"]["triage_summary"])
            self.assertIn("Roll back", got["annotations"]["triage_mitigation"])
            self.assertTrue(got["annotations"]["triage_link"].endswith("#/incident/" + got["labels"]["triage_incident"]))
            self.assertEqual(self.teams[1].alerts(), [], "ml-platform is not paged for a code deploy")
            # Resolve at Alertmanager: the incident resolves and the team gets the resolve.
            # (The inhibit rule mutes the raw resolve to triaged's webhook while the
            # enriched twin fires: triaged sees Alertmanager no longer list the alert.)
            am.post_alerts([{"labels": {"alertname": "NDCGDrop", "service": "reranker", "metric": "ndcg_at_10",
                                        "severity": "page"}, "startsAt": "2026-05-05T03:42:00Z",
                             "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))}])
            service_owners.wait_for(lambda a: a["status"] == "resolved" and "triage_incident" in a["labels"])
            status, view = d.post_json("/triage.v1.TriageService/GetIncident", {"id": got["labels"]["triage_incident"]})
            self.assertEqual(view["state"]["status"], "resolved")
            events = [e["event"] for e in view["state"]["timeline"]]
            self.assertIn("delivered", events)
            self.assertIn("reconciled", events)
        finally:
            if am:
                am.stop()
            self.assertEqual(d.stop(), 0)

    def test_enriched_alert_waits_for_alertmanager_and_survives_a_restart(self):
        d = self.start_triaged()
        data_dir = d.data_dir
        am = Alertmanager(am_config(d.http_port, self.teams))
        try:
            self.assertEqual(d.request("POST", "/api/v1/bundle", p01_records())[0], 200)
            # Alertmanager is down while the incident opens.
            status, reply = d.request("POST", "/api/v1/alerts", json.dumps(webhook([alert("fp-down")])).encode())
            self.assertEqual(status, 200, reply)
            incident = json.loads(reply)["incidents"][0]
            for _ in range(100):
                _, metrics = d.get("/metrics")
                if b"triage_enrichment_delivery_failures_total 0" not in metrics:
                    break
                time.sleep(0.1)
            self.assertNotIn(b"triage_enrichment_delivery_failures_total 0", metrics)
            self.assertIn(b"triage_enrichment_queue_depth 1", metrics)
            # triaged restarts with the delivery still queued (it is persisted).
            self.assertEqual(d.stop(), 0)
            d = Daemon(TRIAGED, data_dir=data_dir, args=[
                "--alertmanager-url", f"http://127.0.0.1:{self.am_port}", "--resend-interval", "2s"]).start()
            # The page links point at the new port; Alertmanager's webhook too.
            am = Alertmanager(am_config(d.http_port, self.teams))
            am.port = self.am_port
            am.start()
            got = self.teams[0].wait_for(lambda a: a["labels"].get("triage_incident") == incident)[0]
            self.assertEqual(got["labels"]["triage_category"], "code_deploy")
            am.stop()
        finally:
            if d.proc is not None:
                self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    TRIAGED, SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
