#!/usr/bin/env python3
"""Hostile input against the real triaged on loopback: each case asserts the
status, that the message names the field, that nothing stored changed, and
that the daemon still serves. The numbered cases are issue 9's.

usage: hostile_test.py TRIAGED SOURCE_DIR
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from daemon import Daemon, protos, snappy_block

TRIAGED = SOURCE = None
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
RW_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}

BASE = [
    {"type": "dependency", "service": "svc", "depends_on": ["db"]},
    {"type": "change", "id": "base-1", "time": "2026-01-01T00:10:00Z", "kind": "config",
     "service": "svc", "summary": "before"},
    {"type": "series", "metric": "m", "labels": {"service": "svc"},
     "points": [[T0_MS + i * 60_000, 1.0 + i % 3] for i in range(120)]},
    {"type": "incident", "id": "base-incident", "title": "base",
     "alerts": [{"name": "A", "service": "svc", "metric": "m", "fired_at": "2026-01-01T01:00:00Z"}]},
]


def ndjson(records):
    return "\n".join(json.dumps(r) for r in records).encode() + b"\n"


def pb(field, payload):
    """A length-delimited protobuf field (payload shorter than 128 bytes)."""
    return bytes([(field << 3) | 2, len(payload)]) + payload


def raw(port, data, timeout=5):
    """Sends raw bytes and returns everything the server sends back before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except socket.timeout:
            out += b"<timeout: the connection stayed open>"
        return out


class Hostile(unittest.TestCase):
    """One daemon with a known state; every case must leave that state as it was."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(TRIAGED, args=["--max-body-bytes", "8000000", "--max-bundle-bytes", "8000000",
                                      "--max-series", "200",
                                      "--max-drills", "2"]).start()
        status, body = cls.d.request("POST", "/api/v1/bundle", ndjson(BASE))
        assert status == 200, body
        _, _, _, cls.service_pb2, cls.remote_pb2 = protos(SOURCE)

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0, cls.d.read_log()

    def state(self):
        """What a reader sees: incidents, the overlay (points and changes), the tree."""
        incidents = []
        token = ""
        while True:
            status, page = self.d.post_json("/triage.v1.TriageService/ListIncidents",
                                            {"page_token": token} if token else {})
            self.assertEqual(status, 200, page)
            incidents += [(v["incident"]["id"], v["incident"].get("title")) for v in page["incidents"]]
            token = page["next_page_token"]
            if not token:
                break
        status, overlay = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "svc", "metric": "m", "window": "7d", "end": "2026-01-05T00:00:00Z",
            "max_points": 100000})
        self.assertEqual(status, 200, overlay)
        status, walk = self.d.post_json("/triage.v1.TriageService/Triage", {
            "alerts": [{"service": "svc", "metric": "m"}], "at": "2026-01-01T01:00:00Z"})
        self.assertEqual(status, 200, walk)
        return (incidents, overlay["points"], [c["id"] for c in overlay["changes"]],
                overlay["series_count"], walk["localized_category"])

    def assertRefused(self, status, body, want_status, *fields):
        self.assertEqual(status, want_status, body)
        text = body.decode(errors="replace") if isinstance(body, bytes) else json.dumps(body)
        try:
            reply = json.loads(text)
            text = reply["message"] + "\n" + "\n".join(reply.get("errors", []))
        except (ValueError, KeyError, TypeError):
            pass
        for f in fields:
            self.assertIn(f, text)

    def check(self, fn):
        """Runs a hostile case; the stored state and serving must be unchanged."""
        before = self.state()
        fn()
        self.assertEqual(self.state(), before, "a refused request changed what is stored")
        self.assertEqual(self.d.get("/healthz")[0], 200)

    def bundle(self, records):
        return self.d.request("POST", "/api/v1/bundle", ndjson(records) if isinstance(records, list)
                              else records, {"Content-Type": "application/x-ndjson"})

    def remote_write(self, series):
        req = self.remote_pb2.WriteRequest()
        for labels, samples in series:
            ts = req.timeseries.add()
            for k, v in labels:
                ts.labels.add(name=k, value=v)
            for t, v in samples:
                ts.samples.add(timestamp=t, value=v)
        return self.d.request("POST", "/api/v1/write", snappy_block(req.SerializeToString()),
                              RW_HEADERS)

    # 1. One bad byte must not break every walk.
    def test_1_invalid_utf8_is_refused_on_every_way_in(self):
        def run():
            bad = b'{"type":"incident","id":"u8","title":"bad \xc0\xaf","alerts":[{"name":"A","service":"s","metric":"m","fired_at":"2026-11-29T19:50:00Z"}]}\n'
            status, body = self.bundle(bad)
            self.assertRefused(status, body, 400, "request:1: json", "UTF-8")
            bad = b'{"type":"change","id":"u8c","time":"2026-01-01T00:20:00Z","kind":"config","service":"svc","summary":"\xff"}\n'
            self.assertRefused(*self.bundle(bad), 400, "UTF-8")
            bad = b'{"type":"series","metric":"m","labels":{"service":"svc","x":"\xed\xa0\x80"},"points":[[1767225600000,1]]}\n'
            self.assertRefused(*self.bundle(bad), 400, "UTF-8")
            bad = b'{"type":"change","id":"u8e","time":"2026-01-01T00:20:00Z","kind":"config","service":"svc","summary":"\\udc00"}\n'
            self.assertRefused(*self.bundle(bad), 400, "surrogate")
            status, body = self.d.request("POST", "/api/v1/changes",
                                          b'{"id":"u8h","kind":"config","service":"svc","summary":"\xc0\xaf"}',
                                          {"Content-Type": "application/json"})
            self.assertEqual(status, 400, body)
            # A label value that is not UTF-8 inside remote_write's protobuf.
            label = pb(1, b"__name__") + pb(2, b"m")
            bad_label = pb(1, b"service") + pb(2, b"\xc0\xaf")
            sample = b"\x09" + struct.pack("<d", 1.0) + b"\x10\x01"
            write = pb(1, pb(1, label) + pb(1, bad_label) + pb(2, sample))
            status, reply = self.d.request("POST", "/api/v1/write", snappy_block(write), RW_HEADERS)
            self.assertRefused(status, reply, 400, "UTF-8")
        self.check(run)

    # 3. A store that cannot be opened: one line and exit 1, not a segfault.
    def test_3_a_store_in_use_or_unwritable_exits_1_with_the_reason(self):
        r = subprocess.run([TRIAGED, "--data-dir", self.d.data_dir, "--grpc-addr", "127.0.0.1:0",
                            "--http-addr", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("in use by another process", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        with tempfile.NamedTemporaryFile() as f:  # A data dir that is a file.
            r = subprocess.run([TRIAGED, "--data-dir", f.name, "--grpc-addr", "127.0.0.1:0",
                                "--http-addr", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        mnt = tempfile.mkdtemp(prefix="ro-")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,ro", "tmpfs", mnt],
                          capture_output=True).returncode == 0:
            try:
                r = subprocess.run([TRIAGED, "--data-dir", mnt, "--grpc-addr", "127.0.0.1:0",
                                    "--http-addr", "127.0.0.1:0"], capture_output=True, text=True,
                                   timeout=60)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("Read-only file system", r.stderr)
            finally:
                subprocess.run(["umount", mnt])
        self.assertEqual(self.d.get("/healthz")[0], 200)

    # 4. Slow clients must not take HTTP down (1,000 of them, one header byte a second).
    def test_4_slow_clients_do_not_stop_normal_ones(self):
        socks = []
        stop = threading.Event()
        try:
            for _ in range(1000):
                s = socket.create_connection(("127.0.0.1", self.d.http_port))
                s.sendall(b"POST /api/v1/changes HTTP/1.1\r\n")
                socks.append(s)

            def drip():
                while not stop.is_set():
                    for s in socks:
                        try:
                            s.send(b"X")
                        except OSError:
                            pass
                    stop.wait(1.0)

            t = threading.Thread(target=drip)
            t.start()
            latencies = []
            for path in ["/healthz", "/readyz", "/", "/healthz", "/metrics"] * 2:
                start = time.time()
                status, _ = self.d.request("GET", path, timeout=5)
                latencies.append(time.time() - start)
                self.assertEqual(status, 200, path)
            status, body = self.remote_write([([("__name__", "slow"), ("service", "probe")],
                                               [(T0_MS, 1.0)])])
            self.assertEqual(status, 204, body)
            print(f"\n  10 probes beside 1000 slow connections: max {max(latencies) * 1000:.0f} ms",
                  file=sys.stderr)
        finally:
            stop.set()
            for s in socks:
                s.close()

    # 5. A 2 MB webhook must not break the incident list (pages instead).
    def test_5_big_webhook_pages_the_incident_list(self):
        alerts = [{"status": "firing", "labels": {"alertname": f"A{i}", "service": f"s{i}",
                                                   "metric": "m", "pad": "x" * 2000},
                   "annotations": {"summary": "y" * 200}, "startsAt": f"2026-02-{1 + i % 27:02d}T00:00:00Z",
                   "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"fp{i:05d}"}
                  for i in range(900)]
        hook = {"version": "4", "status": "firing", "receiver": "t", "alerts": alerts}
        body = json.dumps(hook).encode()
        self.assertGreater(len(body), 2_000_000)
        status, reply = self.d.request("POST", "/api/v1/alerts", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, reply)
        ids = set()
        token, pages = "", 0
        while True:
            status, page = self.d.post_json("/triage.v1.TriageService/ListIncidents",
                                            {"page_token": token, "page_size": 10} if token
                                            else {"page_size": 10})
            self.assertEqual(status, 200, page if status != 200 else "")
            ids |= {v["incident"]["id"] for v in page["incidents"]}
            pages += 1
            token = page["next_page_token"]
            if not token:
                break
        self.assertGreater(pages, 1)
        self.assertGreaterEqual(len(ids), 28)  # Alerts a day apart open their own incidents.

    # 6. Anonymous clients cannot exhaust it: each resource a client grows has a limit.
    def test_6_limits_on_what_a_client_can_grow(self):
        def run():
            deps = {"type": "dependency", "service": "big", "depends_on": [f"d{i}" for i in range(1001)]}
            self.assertRefused(*self.bundle([deps]), 400, "depends_on", "limit of 1000")
            labels = [("__name__", "wide"), ("service", "svc")] + [(f"l{i}", "v") for i in range(40)]
            self.assertRefused(*self.remote_write([(labels, [(T0_MS, 1.0)])]), 400,
                               "timeseries[0].labels", "limit of 30")
            status, metrics = self.d.get("/metrics")
            self.assertIn(b'triage_limit_rejections_total{limit="max_labels_per_series"}', metrics)
            self.assertIn(b'triage_limit_rejections_total{limit="max_depends_on"}', metrics)
        self.check(run)
        # The series cap (--max-series 200): new series past it are refused, old ones still written.
        series = [([("__name__", "cap"), ("service", "capsvc"), ("i", str(i))], [(T0_MS, 1.0)])
                  for i in range(250)]
        status, body = self.remote_write(series)
        self.assertRefused(status, body, 400, "series limit")
        status, body = self.remote_write([([("__name__", "m"), ("service", "svc")], [(T0_MS + 7_200_000, 5.0)])])
        self.assertEqual(status, 204, body)
        status, metrics = self.d.get("/metrics")
        self.assertIn(b'triage_limit_rejections_total{limit="max_series"}', metrics)
        # Drills are pruned (--max-drills 2).
        with open(os.path.join(SOURCE, "deploy", "demo", "scenarios", "p01-code-deploy.jsonl.gz"), "rb") as f:
            import gzip
            p01 = gzip.decompress(f.read()).decode()
        for i in range(3):
            status, drill = self.d.post_json("/triage.v1.DrillService/StartDrill",
                                             {"name": "p01", "ndjson": __import__("base64").b64encode(p01.encode()).decode(),
                                              "trainee": f"t{i}"})
            self.assertEqual(status, 200, drill)
        self.assertEqual(len(os.listdir(os.path.join(self.d.data_dir, "drills"))), 2)
        status, metrics = self.d.get("/metrics")
        self.assertIn(b"triage_drills_stored 2", metrics)

    # 7. remote_write gets the same checks as every other way in.
    def test_7_remote_write_checks_labels_and_timestamps(self):
        def run():
            cases = [
                ([("__name__", "m"), ("", "v")], "not a valid label name"),
                ([("__name__", "m"), ("1abc", "v")], "not a valid label name"),
                ([("__name__", "m"), ("service", "svc"), ("big", "v" * 2049)], "value longer than 2048"),
                ([("__name__", "m"), ("service", "svc"), ("a", "x" * 65536 + "1")], "value longer than 2048"),
                ([("__name__", "m"), ("service", "svc"), ("a", "1"), ("a", "2")], "appears twice"),
            ]
            for labels, want in cases:
                self.assertRefused(*self.remote_write([(labels, [(T0_MS, 1.0)])]), 400, want)
            status, body = self.remote_write([([("__name__", "m"), ("service", "svc")], [(2 ** 62, 1.0)])])
            self.assertRefused(status, body, 400, "timeseries[0].points[0].t_ms", "outside the supported range")
            status, body = self.remote_write([([("__name__", "m"), ("service", "svc")], [(-5, 1.0)])])
            self.assertRefused(status, body, 400, "outside the supported range")
        self.check(run)

    # 8. Ambiguous framing: 400 and the connection closed, nothing rides along.
    def test_8_ambiguous_framing_is_refused_and_closed(self):
        port = self.d.http_port
        smuggled = (b'POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                    b'Content-Length: 68\r\n\r\n{"id":"smuggled","kind":"config","service":"svc","time":"2026-01-01T00:30:00Z"}')

        def run():
            cases = [
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Length: 4\r\n\r\n0\r\n\r\n" + smuggled,
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                b"Content-Length: 90\r\n\r\n{}" + smuggled,
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"zz\r\n{}\r\n0\r\n\r\n" + smuggled,
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                b"0\r\n\r\n" + smuggled,
                b"POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
                b"Content-Length: 2\r\n\r\n{}" + smuggled,
            ]
            for case in cases:
                reply = raw(port, case)
                self.assertTrue(reply.startswith(b"HTTP/1.1 400"), (case[:120], reply[:200]))
                self.assertEqual(reply.count(b"HTTP/1.1 "), 1, "a second request rode along")
                self.assertNotIn(b"timeout", reply)
        self.check(run)

    # 9. Wrong questions get a clear 400 naming what is wrong.
    def test_9_wrong_questions_get_clear_errors(self):
        def run():
            status, body = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "m", "end": "0001-01-01T00:00:00Z"})
            self.assertRefused(status, body, 400, "end")
            alerts = [{"service": f"s{i}", "metric": "m"} for i in range(20_000)]
            status, body = self.d.post_json("/triage.v1.TriageService/Triage", {"alerts": alerts})
            self.assertRefused(status, body, 400, "alerts", "limit of 100")
            self.assertNotIn("id", body["message"].split(":")[0])
            status, body = self.d.request("POST", "/api/v1/changes", json.dumps({
                "id": "big-summary", "kind": "config", "service": "svc", "time": "2026-01-01T00:20:00Z",
                "summary": "s" * 1_000_000}).encode(), {"Content-Type": "application/json"})
            self.assertRefused(status, body, 400, "changes[0].summary", "longer than 4096")
        self.check(run)

    # The spec's error classes on the bundle path: each names its line and field.
    def test_spec_error_classes(self):
        hist = {"type": "histogram", "feature": "f", "service": "svc", "start": "2026-01-01T00:00:00Z",
                "end": "2026-01-01T01:00:00Z"}
        cases = [
            (b'{"type":"change",\n', "request:1: json: invalid JSON"),
            (ndjson([{"type": "series", "metric": "m", "labels": {"service": "svc"}, "points": [[1, "NaN"]]}]),
             "points[0][1]"),
            (b'{"type":"series","metric":"m","labels":{"service":"svc"},"points":[[1767225600000,NaN]]}\n',
             "request:1: points[0][1]: NaN is not a finite number"),
            (ndjson([dict(hist, edges=[0, 1, 2], counts=[1, -2])]), "request:1: counts[1]: negative count -2"),
            (ndjson([dict(hist, edges=[0, 1, 2], counts=[1, 2, 3])]), "request:1: counts: 3 counts for 3 edges"),
            (ndjson([{"type": "weather"}]), "request:1: type: unknown record type"),
            (ndjson([{"type": "change", "id": "k", "time": "2026-01-01T00:00:00Z", "kind": "deploy",
                      "service": "svc"}]), "request:1: kind: unknown change kind"),
            (ndjson([{"type": "dependency", "service": "a", "depends_on": ["b"]},
                     {"type": "dependency", "service": "b", "depends_on": ["a"]}]),
             "depends_on: dependency cycle: a -> b -> a"),
            (ndjson([{"type": "dependency", "service": "db", "depends_on": ["svc"]}]),
             "dependencies: dependency cycle"),
        ]

        def run():
            for body, want in cases:
                status, reply = self.bundle(body)
                self.assertRefused(status, reply, 400, want)
                reply = json.loads(reply)
                self.assertTrue(reply["errors"], reply)
                detail = reply["details"][0]  # Connect's shape: type, value, debug.
                self.assertEqual(detail["type"], "triage.v1.InputErrors")
                self.assertTrue(detail["value"])
                self.assertIn(detail["debug"]["errors"][0]["field"], reply["errors"][0])
            status, body = self.d.request("POST", "/api/v1/bundle", b"x" * 8_100_000)
            self.assertEqual(status, 413)
            # Bad protobuf over gRPC and remote_write.
            status, body = self.d.request("POST", "/api/v1/write", snappy_block(b"\x0a\x05\xff\xff"), RW_HEADERS)
            self.assertRefused(status, body, 400, "protobuf")
        self.check(run)

    def test_grpc_errors_carry_structured_details(self):
        import grpc
        req = self.service_pb2.WriteChangesRequest()
        req.changes.add(id="g1", kind="deploy", service="svc").time.seconds = 1_767_225_600
        channel = grpc.insecure_channel(self.d.grpc_addr)
        call = channel.unary_unary("/triage.v1.IngestService/WriteChanges",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=self.service_pb2.IngestResponse.FromString)
        with self.assertRaises(grpc.RpcError) as e:
            call(req, timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        trailers = dict(e.exception.trailing_metadata())
        details = trailers["grpc-status-details-bin"]
        self.assertIn(b"changes[0].kind", details)
        self.assertIn(b"type.googleapis.com/triage.v1.InputErrors", details)
        channel.close()


if __name__ == "__main__":
    TRIAGED, SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
