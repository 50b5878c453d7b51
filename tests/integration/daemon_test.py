#!/usr/bin/env python3
"""Integration tests of the real triaged on ephemeral loopback ports.

usage: daemon_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import concurrent.futures
import gzip
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

from daemon import Daemon, free_port, protos, public_scenario_count, snappy_block

TRIAGED = TRIAGECTL = SOURCE = None


def scenarios():
    d = os.path.join(SOURCE, "deploy", "demo", "scenarios")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jsonl.gz"))


def ctl(*args, check=True):
    r = subprocess.run([TRIAGECTL, *args], capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"triagectl {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r


def incident_of(path):
    with gzip.open(path, "rt") as f:
        for line in f:
            if '"type":"incident"' in line:
                return json.loads(line)


def stub(daemon, service, method, request, response_cls):
    channel = grpc.insecure_channel(daemon.grpc_addr)
    call = channel.unary_unary(f"/triage.v1.{service}/{method}",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_cls.FromString)
    try:
        return call(request, timeout=60)
    finally:
        channel.close()


class ScenarioTest(unittest.TestCase):
    """Every public scenario, ingested over gRPC and over HTTP, triages as replay does."""

    def check_scenario(self, path):
        inc = incident_of(path)
        replay = json.loads(ctl("replay", path, "--json").stdout)
        at = max(a["fired_at"] for a in inc["alerts"])
        triage_args = []
        for a in inc["alerts"]:
            triage_args += ["--service", a["service"], "--metric", a["metric"]]
        results = {}
        # Over gRPC: triagectl ingest, then triagectl triage --at fired_at.
        d = Daemon(TRIAGED).start()
        try:
            out = ctl("--server", d.grpc_addr, "ingest", path, "--json").stdout
            ingested = json.loads(out)
            results["grpc_ingest_report"] = ingested["report"]["localized_category"]
            t = json.loads(ctl("--server", d.grpc_addr, "triage", *triage_args, "--at", at,
                               "--json").stdout)
            results["grpc_triage"] = t["localized_category"]
            self.assertEqual([v["verdict"] for v in t["verdicts"]],
                             [v["verdict"] for v in replay["verdicts"]], path)
        finally:
            self.assertEqual(d.stop(), 0)
        # Over HTTP: POST /api/v1/bundle, then the Connect gateway.
        d = Daemon(TRIAGED).start()
        try:
            with gzip.open(path, "rb") as f:
                status, body = d.request("POST", "/api/v1/bundle", f.read(),
                                         {"Content-Type": "application/x-ndjson"})
            self.assertEqual(status, 200, body[:500])
            accepted = json.loads(body)
            self.assertEqual(accepted["accepted"], ingested["accepted"])
            results["http_ingest_report"] = accepted["report"]["localized_category"]
            status, t = d.post_json("/triage.v1.TriageService/Triage", {
                "alerts": [{"service": a["service"], "metric": a["metric"]} for a in inc["alerts"]],
                "at": at})
            self.assertEqual(status, 200, t)
            results["http_triage"] = t["localized_category"]
            status, view = d.post_json("/triage.v1.TriageService/GetIncident", {"id": inc["id"]})
            self.assertEqual(status, 200)
            results["stored_report"] = view["report"]["localized_category"]
        finally:
            self.assertEqual(d.stop(), 0)
        for how, got in results.items():
            self.assertEqual(got, replay["localized_category"], f"{path} {how}")
        return replay["localized_category"]

    def test_every_public_scenario(self):
        paths = scenarios()
        self.assertEqual(len(paths), public_scenario_count(SOURCE))
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            got = list(pool.map(self.check_scenario, paths))
        for path, category in zip(paths, got):
            self.assertEqual(category, incident_of(path)["expected"]["category"], path)


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(TRIAGED, args=["--max-body-bytes", "4000000",
                                       "--max-bundle-bytes", "4000000"]).start()

    def tearDown(self):
        if self.d.proc is not None:
            self.assertEqual(self.d.stop(), 0, self.d.read_log())

    def assertServing(self):
        self.assertEqual(self.d.get("/healthz")[0], 200)
        status, _ = self.d.post_json("/triage.v1.RulesService/GetTree", {})
        self.assertEqual(status, 200)

    def test_ports_file_health_readiness_and_metrics(self):
        with open(os.path.join(self.d.data_dir, "ports.json")) as f:
            ports = json.load(f)
        self.assertEqual(set(ports), {"grpc", "http"})
        self.assertEqual(self.d.get("/healthz"), (200, b"ok\n"))
        self.assertEqual(self.d.get("/readyz")[0], 200)
        status, body = self.d.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"# TYPE triage_walk_duration_seconds histogram", body)
        status, body = self.d.get("/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body)

    def test_static_serving_refuses_paths_outside_web(self):
        for raw in ("/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/../../../etc/passwd"):
            with socket.create_connection(("127.0.0.1", self.d.http_port)) as s:
                s.sendall(f"GET {raw} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            status = int(reply.split(b" ", 2)[1])
            self.assertIn(status, (400, 403, 404), raw)
            self.assertNotIn(b"cmake_minimum_required", reply)
            self.assertNotIn(b"root:", reply)
        self.assertServing()

    def test_connect_gateway_error_codes(self):
        cases = [
            ("/triage.v1.OverlayService/GetOverlay", {"service": "x"}, 400, "invalid_argument"),
            ("/triage.v1.TriageService/GetIncident", {"id": "nope"}, 404, "not_found"),
            ("/triage.v1.TriageService/Triage", {"alerts": []}, 400, "invalid_argument"),
            ("/triage.v1.TriageService/Triage", {"no_such_field": 1}, 400, "invalid_argument"),
            ("/triage.v1.RulesService/ReloadTree", {"text": "category { id: \"x\" }"}, 400,
             "invalid_argument"),
            ("/triage.v1.NoService/Nope", {}, 404, "unimplemented"),
        ]
        for path, body, status, code in cases:
            got_status, got = self.d.post_json(path, body)
            self.assertEqual((got_status, got["code"]), (status, code), (path, got))
            self.assertTrue(got["message"])
        status, body = self.d.request("POST", "/triage.v1.RulesService/GetTree", b"{",
                                      {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["code"], "invalid_argument")
        status, body = self.d.request("POST", "/triage.v1.RulesService/GetTree", b"{}",
                                      {"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        status, got = self.d.post_json("/triage.v1.RulesService/CheckTree", {"text": "category {"})
        self.assertEqual(status, 200)
        self.assertFalse(got["ok"])
        self.assertServing()

    def test_bundle_errors_are_line_numbered_and_store_nothing(self):
        body = (b'{"type":"change","id":"good-1","time":"2026-01-01T00:00:00Z","kind":"config","service":"s"}\n'
                b'{"type":"change","id":"bad","time":"later","kind":"config","service":"s"}\n'
                b'{"type":"histogram","feature":"f","service":"s","start":"2026-01-01T00:00:00Z",'
                b'"end":"2026-01-01T01:00:00Z","edges":[0,1],"counts":[-1]}\n'
                b'not json\n')
        status, reply = self.d.request("POST", "/api/v1/bundle", body)
        self.assertEqual(status, 400)
        reply = json.loads(reply)
        self.assertEqual(reply["code"], "invalid_argument")
        self.assertEqual(reply["errors"], [
            'request:2: time: "later" is not an RFC 3339 time like 2026-04-28T03:00:00Z',
            "request:3: counts[0]: negative count -1",
            "request:4: json: invalid JSON: column 1: invalid literal (expected true, false or null)",
        ])
        status, overlay = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "s", "metric": "m", "window": "24h", "end": "2026-01-01T12:00:00Z"})
        self.assertEqual(overlay["changes"], [], "nothing of a bad bundle is stored")
        status, reply = self.d.request("POST", "/api/v1/bundle", body.splitlines()[0])
        self.assertEqual((status, json.loads(reply)["accepted"]), (200, {"change": 1}))

    def test_oversized_bodies_get_413_and_the_daemon_keeps_serving(self):
        big = b"x" * 5_000_000
        for path in ("/api/v1/bundle", "/api/v1/write", "/api/v1/changes",
                     "/triage.v1.RulesService/CheckTree"):
            status, body = self.d.request("POST", path, big, {"Content-Type": "application/json"})
            self.assertEqual(status, 413, path)
            self.assertEqual(json.loads(body)["code"], "resource_exhausted")
        # A snappy block that claims to decode to more than the limit.
        status, _ = self.d.request("POST", "/api/v1/write", snappy_block(b"\0" * 4_100_000)[:100])
        self.assertIn(status, (400, 413))
        self.assertServing()

    def test_remote_write_bad_input_and_staleness(self):
        _, _, _, _, remote_pb2 = protos(SOURCE)
        headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        status, body = self.d.request("POST", "/api/v1/write", b"\xff\xff\xff\xff\xff garbage", headers)
        self.assertEqual(status, 400, body)
        self.assertIn(b"snappy", body)
        status, body = self.d.request("POST", "/api/v1/write", snappy_block(b"\x0a\x05\xff\xff"), headers)
        self.assertEqual(status, 400, body)
        self.assertIn(b"protobuf", body)
        req = remote_pb2.WriteRequest()
        ts = req.timeseries.add()
        ts.labels.add(name="service", value="svc")
        status, body = self.d.request("POST", "/api/v1/write", snappy_block(req.SerializeToString()), headers)
        self.assertEqual(status, 400)
        self.assertIn(b"no __name__", body)

        stale = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
        req = remote_pb2.WriteRequest()
        ts = req.timeseries.add()
        ts.labels.add(name="__name__", value="latency")
        ts.labels.add(name="service", value="svc")
        ts.labels.add(name="region", value="eu")
        t0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
        for i, v in enumerate([1.0, 2.0, stale, 4.0, math.inf]):
            ts.samples.add(value=v, timestamp=t0 + i * 60_000)
        status, body = self.d.request("POST", "/api/v1/write", snappy_block(req.SerializeToString()), headers)
        self.assertEqual(status, 204, body)
        status, overlay = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "svc", "metric": "latency", "window": "60m", "end": "2026-01-01T00:30:00Z"})
        values = [p["value"] for p in overlay["points"]]
        self.assertEqual(values, [1, 2, 4, "Infinity"], "the staleness marker is a gap")
        status, metrics = self.d.get("/metrics")
        self.assertIn(b'triage_ingest_records_total{kind="sample"} 5', metrics)
        self.assertServing()

    def test_overlay_sends_changes_in_scope_and_caps_and_pages_the_others(self):
        lines = [json.dumps({"type": "dependency", "service": "ovl", "depends_on": ["ovl-dep"]})]
        t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
        def change(i, service):
            return json.dumps({"type": "change", "id": f"ovl-{service}-{i}", "kind": "code_deploy",
                               "service": service, "time": time.strftime(
                                   "%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 60 * i))})
        lines += [change(i, "ovl-dep") for i in range(3)] + [change(i, "ovl") for i in range(2)]
        lines += [change(i, f"other-{i % 7}") for i in range(250)]
        status, body = self.d.request("POST", "/api/v1/bundle", "\n".join(lines).encode())
        self.assertEqual(status, 200, body)
        ask = {"service": "ovl", "metric": "m", "window": "24h", "end": "2026-01-01T12:00:00Z"}
        status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay", ask)
        self.assertEqual(status, 200, o)
        self.assertEqual(len(o["in_scope_change_ids"]), 5)
        self.assertEqual([c["id"] for c in o["changes"][:5]],
                         ["ovl-ovl-0", "ovl-ovl-dep-0", "ovl-ovl-1", "ovl-ovl-dep-1", "ovl-ovl-dep-2"],
                         "in scope first, oldest first")
        others = [c["id"] for c in o["changes"][5:]]
        self.assertEqual((len(others), o["other_changes"]), (100, 250), "others capped, counted")
        self.assertEqual(others[0], "ovl-other-4-249", "newest first")
        seen = list(others)
        while o.get("next_page_token"):
            status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay",
                                         {**ask, "page_token": o["next_page_token"]})
            self.assertEqual(status, 200, o)
            self.assertEqual((o.get("points"), o.get("in_scope_change_ids")), ([], []),
                             "a later page holds only changes on other services")
            seen += [c["id"] for c in o["changes"]]
        self.assertEqual(seen, [f"ovl-other-{i % 7}-{i}" for i in range(249, -1, -1)])
        status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay",
                                     {**ask, "max_other_changes": -1})
        self.assertEqual((len(o["changes"]), o["other_changes"]), (5, 250))
        for bad in ({"max_other_changes": 5001}, {"page_token": "x"}):
            status, o = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {**ask, **bad})
            self.assertEqual(status, 400, o)
            self.assertIn(next(iter(bad)), o["message"])

    def test_change_webhook(self):
        status, reply = self.d.request("POST", "/api/v1/changes", json.dumps({
            "id": "ci-42", "time": "2026-01-01T00:00:00Z", "kind": "code_deploy", "service": "svc",
            "version": "v2", "previous_version": "v1", "actor": "ci", "summary": "deploy"}).encode(),
            {"Content-Type": "application/json"})
        self.assertEqual((status, json.loads(reply)["accepted"]), (200, {"change": 1}))
        status, reply = self.d.request("POST", "/api/v1/changes",
                                       b'{"kind":"deploy","service":"s v c"}')
        self.assertEqual(status, 400)
        errors = json.loads(reply)["errors"]
        self.assertEqual(len(errors), 2, errors)
        self.assertTrue(errors[0].startswith("changes[0].kind: unknown change kind"), errors)
        status, reply = self.d.request("POST", "/api/v1/changes", b'{"kind": ')
        self.assertEqual(status, 400)
        r = ctl("--server", self.d.grpc_addr, "change", "add", "--kind", "config", "--service", "svc",
                "--id", "cli-1", "--time", "2026-01-01T00:10:00Z", "--previous-version", "a",
                "--version", "b", "--actor", "me", "--summary", "flip", "--url", "https://example.invalid/1")
        overlay = json.loads(ctl("--server", self.d.grpc_addr, "overlay", "--service", "svc",
                                 "--metric", "m", "--window", "60m", "--end", "2026-01-01T00:30:00Z",
                                 "--json").stdout)
        self.assertEqual([c["id"] for c in overlay["changes"]], ["ci-42", "cli-1"])
        self.assertEqual(overlay["changes"][1]["previous_version"], "a")
        self.assertEqual(overlay["points"], [])

    def test_overlay_downsamples_keeping_min_and_max(self):
        lines = [json.dumps({"type": "series", "metric": "m", "labels": {"service": "svc"},
                             "points": [[1_767_225_600_000 + i * 60_000, 10.0 + (i % 7)] for i in range(7 * 1440)]})]
        lines += [json.dumps({"type": "series", "metric": "m", "labels": {"service": "svc"},
                                  "points": [[1_767_225_600_000 + 3000 * 60_000, -50.0],
                                             [1_767_225_600_000 + 4000 * 60_000, 99.0]]})]
        status, _ = self.d.request("POST", "/api/v1/bundle", "\n".join(lines).encode())
        self.assertEqual(status, 200)
        overlay = json.loads(ctl("--server", self.d.grpc_addr, "overlay", "--service", "svc", "--metric", "m",
                                 "--window", "7d", "--end", "2026-01-08T00:00:00Z", "--max-points", "200",
                                 "--json").stdout)
        self.assertLessEqual(len(overlay["points"]), 200)
        values = [p["value"] for p in overlay["points"]]
        self.assertIn(-50, values)
        self.assertIn(99, values)
        times = [int(p["t_ms"]) for p in overlay["points"]]
        self.assertEqual(times, sorted(times))
        self.assertEqual(overlay["raw_points"], 7 * 1440)

    def test_tree_reload_and_check_over_grpc_and_http(self):
        status, got = self.d.post_json("/triage.v1.RulesService/ReloadTree", {
            "text": 'category { id: "only" cost_minutes: 1 mitigation: "m" change_log { kinds: "config" } }'})
        self.assertEqual(status, 200, got)
        status, tree = self.d.post_json("/triage.v1.RulesService/GetTree", {})
        self.assertEqual([c["id"] for c in tree["category"]], ["only"])
        status, got = self.d.post_json("/triage.v1.RulesService/ReloadTree", {})
        self.assertEqual(len(got["tree"]["category"]), 10)

    def test_python_grpc_client(self):
        """A second-language client: Python grpcio with protoc-generated messages."""
        _, _, _, service_pb2, _ = protos(SOURCE)
        r = stub(self.d, "RulesService", "CheckTree", service_pb2.CheckTreeRequest(text="category {"),
                 service_pb2.CheckTreeResponse)
        self.assertFalse(r.ok)
        self.assertTrue(r.problems[0].startswith("tree:1:"))
        tree = stub(self.d, "RulesService", "GetTree", service_pb2.GetTreeRequest(),
                    __import__("triage.v1.tree_pb2", fromlist=["Tree"]).Tree)
        self.assertEqual(len(tree.category), 10)
        with self.assertRaises(grpc.RpcError) as e:
            stub(self.d, "TriageService", "GetIncident", service_pb2.GetIncidentRequest(id="none"),
                 service_pb2.IncidentView)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_grpc_rejects_nan_and_keeps_serving(self):
        records_pb2, _, _, service_pb2, _ = protos(SOURCE)
        req = service_pb2.WriteSeriesRequest()
        s = req.series.add(metric="m")
        s.labels["service"] = "svc"
        s.points.add(t_ms=1, value=float("nan"))
        with self.assertRaises(grpc.RpcError) as e:
            stub(self.d, "IngestService", "WriteSeries", req, service_pb2.IngestResponse)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("series[0].points[0].value", e.exception.details())
        self.assertServing()


class PrometheusTest(unittest.TestCase):
    def test_real_prometheus_remote_writes_its_metrics(self):
        prometheus = shutil.which("prometheus")
        self.assertIsNotNone(prometheus, "Debian's prometheus must be installed (deploy/install-deps.sh)")
        d = Daemon(TRIAGED).start()
        work = tempfile.mkdtemp(prefix="prom-")
        port = free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""
global:
  scrape_interval: 1s
  external_labels: {{service: prometheus}}
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
remote_write:
  - url: http://127.0.0.1:{d.http_port}/api/v1/write
    queue_config: {{batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}}
""")
        log = open(os.path.join(work, "prometheus.log"), "wb")
        prom = subprocess.Popen([prometheus, f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        try:
            deadline = time.time() + 120
            points = []
            while time.time() < deadline and not points:
                time.sleep(1)
                status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                    "service": "prometheus", "metric": "up", "window": "60m"})
                points = overlay.get("points", []) if status == 200 else []
            self.assertTrue(points, "no 'up' samples arrived from prometheus: " +
                            open(os.path.join(work, "prometheus.log")).read()[-2000:])
            self.assertEqual(points[-1]["value"], 1)
            status, metrics = d.get("/metrics")
            self.assertIn(b'triage_http_requests_total{code="204",route="/api/v1/write"}', metrics)
        finally:
            prom.terminate()
            prom.wait(timeout=30)
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=sys.argv[:1] + sys.argv[4:], verbosity=2)
