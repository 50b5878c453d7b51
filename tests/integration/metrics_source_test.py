#!/usr/bin/env python3
"""triaged reading series and feature histograms from a real Prometheus
(Debian's prometheus 2.42, backfilled with promtool) through --metrics-url,
with the scenarios' other records ingested without their series.
usage: metrics_source_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import gzip
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from daemon import Daemon, free_port, public_scenario_count
from prom import Prometheus, backfill, openmetrics, split_bundle

TRIAGED = TRIAGECTL = SOURCE = None
MINUTE_MS = 60_000


def scenario_dir():
    shared = os.path.join(SOURCE, "..", "shared", "scenarios")
    return shared if os.path.isdir(shared) else os.path.join(SOURCE, "deploy", "demo", "scenarios")


def scenario_files():
    d = scenario_dir()
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".jsonl", ".jsonl.gz")))


def plain(path):
    """A bundle as an uncompressed file (replay and split_bundle read plain NDJSON)."""
    if not path.endswith(".gz"):
        return path
    out = os.path.join(tempfile.mkdtemp(prefix="bundle-"), os.path.basename(path)[:-3])
    with gzip.open(path, "rb") as f, open(out, "wb") as g:
        g.write(f.read())
    return out


def embedded_report(bundle, tree=None):
    args = [TRIAGECTL, "replay", bundle, "--json"] + (["--tree", tree] if tree else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def verdicts(report):
    return [(v["category"], v["verdict"]) for v in report["verdicts"]]


def seconds(rfc3339):
    return time.mktime(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


def walk_on_prometheus(om_text, lines, tree):
    """The report of `lines` (a bundle without series) ingested into a triaged
    reading a fresh Prometheus that holds om_text, with the tree file `tree`."""
    work = tempfile.mkdtemp(prefix="prom-")
    p = Prometheus(backfill(om_text, os.path.join(work, "tsdb"))).start()
    d = Daemon(TRIAGED, args=["--metrics-url", p.url, "--tree", tree]).start()
    try:
        return ingest(d, lines), p.url
    finally:
        d.stop()
        p.stop()


def ingest(d, lines):
    status, body = d.request("POST", "/api/v1/bundle", "\n".join(lines).encode(),
                             {"Content-Type": "application/x-ndjson"})
    assert status == 200, body
    return json.loads(body)["report"]


EXAMPLE = None  # deploy/prometheus/query/: its tree draws ndcg_at_10 by a template.


class ScenarioParityTest(unittest.TestCase):
    def test_the_example_deployment_checks(self):
        for cmd in (["promtool", "check", "config", os.path.join(EXAMPLE, "prometheus.yml")],
                    [TRIAGECTL, "rules", "check", os.path.join(EXAMPLE, "tree.textproto")]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_public_scenario_walks_as_on_the_embedded_store(self):
        tree = os.path.join(EXAMPLE, "tree.textproto")
        files = scenario_files()
        self.assertEqual(len(files), public_scenario_count(SOURCE))
        for path in files:
            with self.subTest(os.path.basename(path)):
                bundle = plain(path)
                want = embedded_report(bundle, tree)
                series, others = split_bundle(bundle)
                got, url = walk_on_prometheus(openmetrics(series), others, tree)
                self.assertEqual(got["localized_category"], want["localized_category"])
                self.assertLessEqual(abs(seconds(got["onset"]) - seconds(want["onset"])), 60,
                                     (got["onset"], want["onset"]))
                self.assertEqual(verdicts(got), verdicts(want))
                self.assertTrue(got["queries"])
                for q in got["queries"]:
                    self.assertEqual(q["source"], url, q)
                    self.assertFalse(q.get("error"), q)
                    if q["metric"] == "ndcg_at_10":
                        self.assertTrue(q["query"].startswith("avg without (instance, pod)"), q)


def p05_with_a_feature_only_in_prometheus(work):
    """p05's records with its most drifted feature taken out of the pushed
    histograms and kept in Prometheus as feature_value_bucket{feature=...}
    (cumulative counts every 5 min); returns (lines, om text, feature, tree)."""
    bundle = plain(next(f for f in scenario_files() if "p05-feature-drift" in f))
    drifted = embedded_report(bundle)
    feature = next(d["feature"] for v in drifted["verdicts"] for d in v.get("drift", [])
                   if v["category"] == "feature_drift")
    series, others = split_bundle(bundle)
    kept, hist = [], []
    for line in others:
        r = json.loads(line)
        if r.get("type") == "histogram" and r["feature"] == feature:
            hist.append(r)
        else:
            kept.append(line)
    hist.sort(key=lambda r: r["start"])
    edges = hist[0]["edges"]
    les = [repr(float(e)) for e in edges[1:]] + ["+Inf"]
    cumulative = [0.0] * len(edges)
    points = []
    for r in hist:
        start_ms = int(seconds(r["start"]) * 1000 - time.timezone * 1000)
        for step in range(1, 13):  # Spread over the hour, as a scrape every 5 min sees it.
            cumulative = [c + n / 12 for c, n in zip(cumulative, r["counts"] + [0])]
            running, buckets = 0.0, {}
            for i, le in enumerate(les):
                running = sum(cumulative[: i + 1])
                buckets[le] = round(running, 3)
            points.append((start_ms + step * 5 * MINUTE_MS, buckets))
    labels = {"service": hist[0]["service"], "feature": feature}
    om = openmetrics(series, [("feature_value", labels, points)])
    with open(os.path.join(SOURCE, "rules", "default_tree.textproto")) as f:
        tree_text = f.read()
    tree_text = tree_text.replace("feature_drift {", 'feature_drift {\n    histogram_metric: "feature_value"\n'
                                  '    feature_label: "feature"', 1)
    tree = os.path.join(work, "tree.textproto")
    with open(tree, "w") as f:
        f.write(tree_text)
    return kept, om, feature, tree


class Recorder:
    """A loopback stand-in for a query API that records each request's headers."""

    def __init__(self):
        self.port = free_port()
        self.requests = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append((self.path, dict(self.headers), body.decode()))
                reply = json.dumps({"status": "success",
                                    "data": {"resultType": "matrix", "result": []}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class EngineTest(unittest.TestCase):
    """p01 in Prometheus (and a counter for a rate() alert), triaged on it."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="metrics-source-")
        bundle = plain(next(f for f in scenario_files() if "p01-code-deploy" in f))
        series, cls.others = split_bundle(bundle)
        cls.fired = next(json.loads(l) for l in cls.others if '"type":"incident"' in l)["alerts"][0]
        fired_ms = int(seconds(cls.fired["fired_at"]) * 1000 - time.timezone * 1000)
        counter = {"metric": "requests_total", "labels": {"service": "reranker"},
                   "points": [[fired_ms - m * MINUTE_MS, 1_000_000 - m * 600] for m in range(24 * 60, -1, -1)]}
        cls.p = Prometheus(backfill(openmetrics(series + [counter]), os.path.join(cls.work, "tsdb"))).start()
        cls.d = Daemon(TRIAGED, args=["--metrics-url", cls.p.url, "--metrics-timeout", "2s"]).start()
        cls.report = ingest(cls.d, cls.others)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.p.stop()

    def walk(self):
        status, r = self.d.post_json("/triage.v1.TriageService/Triage", {
            "alerts": [{"service": "reranker", "metric": "ndcg_at_10"}], "at": self.fired["fired_at"]})
        self.assertEqual(status, 200, r)
        return r

    def test_the_alerts_generator_expression_draws_the_overlay(self):
        expr = 'rate(requests_total{service="reranker"}[5m]) > 5'
        from urllib.parse import quote_plus
        hook = {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing",
                "receiver": "triage", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://alertmanager.invalid",
                "alerts": [{"status": "firing",
                            "labels": {"alertname": "TrafficUp", "service": "reranker",
                                       "metric": "requests_total"},
                            "annotations": {}, "startsAt": self.fired["fired_at"],
                            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "fp-rate",
                            "generatorURL": "http://prometheus.invalid/graph?g0.expr="
                                            + quote_plus(expr) + "&g0.tab=1"}]}
        status, r = self.d.post_json("/api/v1/alerts", hook)
        self.assertEqual(status, 200, r)
        incident = r["incidents"][0]
        status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "reranker", "metric": "requests_total", "window": "60m",
            "end": self.fired["fired_at"], "incident_id": incident})
        self.assertEqual(status, 200, o)
        self.assertEqual(o["query"], 'rate(requests_total{service="reranker"}[5m])')
        self.assertEqual(o["source"], self.p.url)
        self.assertGreater(len(o["points"]), 30)
        for pt in o["points"]:  # 600 a minute is 10 a second.
            self.assertAlmostEqual(pt["value"], 10.0, places=3)
        # Without the incident, the tree's default draws the bare metric.
        status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "reranker", "metric": "requests_total", "window": "60m",
            "end": self.fired["fired_at"]})
        self.assertEqual(o["query"], 'requests_total{service="reranker"}')
        self.assertGreater(o["points"][0]["value"], 900_000)

    def test_an_export_holds_the_series_from_the_engine_and_replays_the_same(self):
        status, r = self.d.post_json("/triage.v1.TriageService/ExportIncident",
                                     {"id": self.report["incident_id"]})
        self.assertEqual(status, 200, r)
        self.assertGreater(r["records"].get("series", 0), 0)
        path = os.path.join(self.work, "export.jsonl")
        with open(path, "w") as f:
            f.write(r["ndjson"])
        replayed = embedded_report(path)
        self.assertEqual(replayed["localized_category"], self.report["localized_category"])
        self.assertEqual(verdicts(replayed), verdicts(self.report))

    def test_prometheus_down_is_no_data_with_the_reason_then_whole_again(self):
        self.p.stop()
        try:
            start = time.time()
            r = self.walk()
            self.assertLess(time.time() - start, 10, "one timeout, not one per read")
            self.assertEqual(r["localized_category"], "rare_class")
            blind = {b["category"]: b["reason"] for b in r["blind_spots"]}
            for category in ("code_deploy", "external_traffic"):
                self.assertIn("metrics source:", blind[category])
            for v in r["verdicts"]:
                self.assertNotEqual(v["verdict"], "CLEAR", v) if v["category"] in blind else None
            self.assertIn("metrics source:", r["onsets"][0]["note"])
            status, metrics = self.d.get("/metrics")
            self.assertIn(b'triage_metrics_source_queries_total{endpoint="query_range",outcome="error"}',
                          metrics)
        finally:
            self.p.start()
        r = self.walk()
        self.assertEqual(r["localized_category"], self.report["localized_category"])
        self.assertEqual(verdicts(r), verdicts(self.report))

    def test_tenant_header_and_bearer_token_reach_the_engine(self):
        rec = Recorder()
        secrets = tempfile.mkdtemp(prefix="secrets-")
        token = os.path.join(secrets, "token")
        with open(token, "w") as f:
            f.write("s3cret-token\n")
        d = Daemon(TRIAGED, args=["--metrics-url", f"http://127.0.0.1:{rec.port}/prefix",
                                  "--metrics-bearer-token-file", token,
                                  "--metrics-header", "X-Scope-OrgID=team-a",
                                  "--metrics-header=X-Extra=1"]).start()
        try:
            status, r = d.post_json("/triage.v1.TriageService/Triage", {
                "alerts": [{"service": "reranker", "metric": "ndcg_at_10"}], "at": self.fired["fired_at"]})
            self.assertEqual(status, 200, r)
            self.assertTrue(rec.requests)
            path, headers, body = rec.requests[0]
            self.assertEqual(path, "/prefix/api/v1/query_range")
            self.assertEqual(headers.get("Authorization"), "Bearer s3cret-token")
            self.assertEqual(headers.get("X-Scope-OrgID"), "team-a")
            self.assertEqual(headers.get("X-Extra"), "1")
            self.assertIn("query=ndcg_at_10%7Bservice%3D%22reranker%22%7D", body)
            self.assertNotIn(b"s3cret-token", d.get("/metrics")[1])
            self.assertNotIn("s3cret-token", d.read_log())
        finally:
            d.stop()
            rec.stop()

    def test_drift_of_a_feature_kept_only_as_a_prometheus_histogram(self):
        work = tempfile.mkdtemp(prefix="prom-hist-")
        lines, om, feature, tree = p05_with_a_feature_only_in_prometheus(work)
        report, _ = walk_on_prometheus(om, lines, tree)
        self.assertEqual(report["localized_category"], "feature_drift")
        drift = next(v for v in report["verdicts"] if v["category"] == "feature_drift")["drift"]
        self.assertEqual(drift[0]["feature"], feature, drift)
        self.assertGreater(drift[0]["kl"], drift[0]["threshold"])


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1:4]
    EXAMPLE = os.path.join(SOURCE, "deploy", "prometheus", "query")
    unittest.main(argv=sys.argv[:1], verbosity=2)
