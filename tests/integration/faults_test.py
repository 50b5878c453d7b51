#!/usr/bin/env python3
"""Faults survived by the real triaged: a full disk (a small tmpfs, where the
machine lets the test mount one) and kill -9 during writes on every write
path (changes, bundles, remote_write, Alertmanager webhooks, gRPC, the
remote_write head): every acknowledged write is found after the restart.

usage: faults_test.py TRIAGED SOURCE_DIR [KILL_CYCLES]
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

from daemon import Daemon, protos, snappy_block

TRIAGED = SOURCE = None
CYCLES = 5
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
RW_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}


def remote_write_body(remote_pb2, series_name, first_ts, n_series=50, n_samples=40):
    req = remote_pb2.WriteRequest()
    for s in range(n_series):
        ts = req.timeseries.add()
        ts.labels.add(name="__name__", value=series_name)
        ts.labels.add(name="service", value="svc")
        ts.labels.add(name="k", value=str(s))
        for j in range(n_samples):
            ts.samples.add(value=random.random(), timestamp=first_ts + j * 1000)
    return snappy_block(req.SerializeToString())


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="triage-tmpfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a small tmpfs here ({r.stderr.strip()})")

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt])

    def test_full_disk_refuses_writes_keeps_reads_and_resumes(self):
        _, _, _, _, remote_pb2 = protos(SOURCE)
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (8 << 20))
        data = os.path.join(self.mnt, "data")
        os.makedirs(data)
        d = Daemon(TRIAGED, data_dir=data,
                   args=["--min-free-disk-bytes", str(8 << 20), "--retention", "0s"]).start()
        acked = 0
        try:
            for cycle in range(3):
                refused = None
                for _ in range(2000):
                    status, body = d.request("POST", "/api/v1/write",
                                             remote_write_body(remote_pb2, "m", T0_MS + acked * 40_000),
                                             RW_HEADERS)
                    if status == 204:
                        acked += 1
                        continue
                    refused = (status, body)
                    break
                self.assertIsNotNone(refused, "the disk never filled")
                status, body = refused
                self.assertEqual(status, 507, body)
                self.assertIn(b"below the reserve", body)
                self.assertIsNone(d.proc.poll(), "triaged died on a full disk")
                ready = d.get("/readyz")
                self.assertEqual(ready[0], 503)
                self.assertIn(b"not ready for writes", ready[1])
                # Reads keep working and hold every acknowledged sample.
                status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                    "service": "svc", "metric": "m", "window": "2d", "end": "2026-01-02T12:00:00Z",
                    "max_points": 100000})
                self.assertEqual(status, 200)
                self.assertEqual(overlay["raw_points"], acked * 40)
                status, metrics = d.get("/metrics")
                self.assertIn(b"triage_store_writable 0", metrics)
                # Space comes back: writes resume by themselves.
                os.unlink(filler)
                status, body = d.request("POST", "/api/v1/write",
                                         remote_write_body(remote_pb2, "m", T0_MS + acked * 40_000),
                                         RW_HEADERS)
                self.assertEqual(status, 204, body)
                acked += 1
                ready = d.get("/readyz")
                self.assertEqual(ready[0], 200, ready[1])
                with open(filler, "wb") as f:
                    f.write(b"\0" * (4 << 20))
        finally:
            self.assertEqual(d.stop(), 0, d.read_log())
        # And everything acknowledged is there after a restart, which serves
        # reads although the disk is still nearly full (/readyz may say 503:
        # not ready for writes).
        d.wait_ready = False
        d.start()
        try:
            self.assertIn(d.get("/healthz")[0], (200,))
            status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "m", "window": "2d", "end": "2026-01-02T12:00:00Z",
                "max_points": 100000})
            self.assertEqual(overlay["raw_points"], acked * 40)
        finally:
            self.assertEqual(d.stop(), 0)


class KillTest(unittest.TestCase):
    """kill -9 while four writers use the four write paths; acknowledged = found."""

    def test_acknowledged_writes_survive_kill_9_on_every_write_path(self):
        _, _, _, _, remote_pb2 = protos(SOURCE)
        # Keep everything: the writes are dated 2026-01, older than the default
        # retention, and a compaction would drop them.
        d = Daemon(TRIAGED, args=["--retention", "0s"]).start()
        acked = {"change": [], "bundle": [], "remote_write": [], "alert": []}
        lock = threading.Lock()
        counter = [0]

        def next_id():
            with lock:
                counter[0] += 1
                return counter[0]

        def ok(kind, key):
            with lock:
                acked[kind].append(key)

        def change_writer(stop):
            while not stop.is_set():
                i = next_id()
                body = json.dumps({"id": f"c{i}", "kind": "config", "service": "svc",
                                   "time": f"2026-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"})
                try:
                    status, _ = d.request("POST", "/api/v1/changes", body.encode(),
                                          {"Content-Type": "application/json"}, timeout=5)
                except OSError:
                    return
                if status == 200:
                    ok("change", f"c{i}")

        def bundle_writer(stop):
            while not stop.is_set():
                i = next_id()
                lines = [json.dumps({"type": "change", "id": f"b{i}", "kind": "code_deploy", "service": "svc",
                                     "time": f"2026-01-02T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"}),
                         json.dumps({"type": "series", "metric": "bundled", "labels": {"service": "svc"},
                                     "points": [[T0_MS + i * 1000, float(i)]]})]
                try:
                    status, _ = d.request("POST", "/api/v1/bundle", "\n".join(lines).encode(), timeout=5)
                except OSError:
                    return
                if status == 200:
                    ok("bundle", i)

        def remote_writer(stop):
            while not stop.is_set():
                i = next_id()
                req = remote_pb2.WriteRequest()
                ts = req.timeseries.add()
                ts.labels.add(name="__name__", value="rw")
                ts.labels.add(name="service", value="svc")
                ts.samples.add(value=float(i), timestamp=T0_MS + i * 1000)
                try:
                    status, _ = d.request("POST", "/api/v1/write", snappy_block(req.SerializeToString()),
                                          RW_HEADERS, timeout=5)
                except OSError:
                    return
                if status == 204:
                    ok("remote_write", T0_MS + i * 1000)

        def alert_writer(stop):
            while not stop.is_set():
                i = next_id()
                starts = f"2026-03-{1 + i % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00Z"
                hook = {"version": "4", "status": "firing", "receiver": "t", "alerts": [{
                    "status": "firing", "labels": {"alertname": "A", "service": "svc", "metric": "m"},
                    "annotations": {}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"f{i}"}]}
                try:
                    status, reply = d.request("POST", "/api/v1/alerts", json.dumps(hook).encode(),
                                              {"Content-Type": "application/json"}, timeout=5)
                except OSError:
                    return
                if status == 200:
                    ok("alert", json.loads(reply)["incidents"][0])

        writers = [change_writer, bundle_writer, remote_writer, alert_writer]
        for cycle in range(CYCLES):
            stop = threading.Event()
            threads = [threading.Thread(target=w, args=(stop,)) for w in writers]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.5, 1.5))
            d.kill9()
            stop.set()
            for t in threads:
                t.join()
            d.start()
        try:
            for kind, keys in acked.items():
                self.assertGreater(len(keys), 0, kind)
            status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "rw", "window": "2d", "end": "2026-01-02T23:59:00Z",
                "max_points": 100000})
            ids = {c["id"] for c in overlay["changes"]}
            self.assertEqual(set(acked["change"]) - ids, set(), "acknowledged changes lost")
            self.assertEqual({f"b{i}" for i in acked["bundle"]} - ids, set(), "acknowledged bundles lost")
            found = {int(p["t_ms"]) for p in overlay["points"]}
            self.assertEqual(set(acked["remote_write"]) - found, set(), "acknowledged samples lost")
            status, bundled = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "bundled", "window": "2d", "end": "2026-01-02T23:59:00Z",
                "max_points": 100000})
            found = {int(p["t_ms"]) for p in bundled["points"]}
            self.assertEqual({T0_MS + i * 1000 for i in acked["bundle"]} - found, set())
            for incident in set(acked["alert"]):
                status, view = d.post_json("/triage.v1.TriageService/GetIncident", {"id": incident})
                self.assertEqual(status, 200, f"acknowledged alert lost: {incident}")
            total = sum(len(v) for v in acked.values())
            print(f"\n  {CYCLES} kill -9 cycles: {total} acknowledged writes "
                  f"({', '.join(f'{k} {len(v)}' for k, v in acked.items())}), all found",
                  file=sys.stderr)
        finally:
            self.assertEqual(d.stop(), 0)


class DurabilityTest(unittest.TestCase):
    def test_remote_write_of_known_series_goes_through_the_head_and_survives_kill_9(self):
        _, _, _, _, remote_pb2 = protos(SOURCE)
        headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        d = Daemon(TRIAGED, args=["--head-max-samples", "50"]).start()
        t0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z

        def request(r, pods=("a", "b", "c"), timestamp=None, reorder=False):
            req = remote_pb2.WriteRequest()
            for pod in pods:
                ts = req.timeseries.add()
                labels = [("__name__", "queue_depth"), ("pod", pod), ("service", "svc")]
                for name, value in (reversed(labels) if reorder else labels):
                    ts.labels.add(name=name, value=value)
                ts.samples.add(value=float(r), timestamp=t0 + r * 60_000 if timestamp is None else timestamp)
            return snappy_block(req.SerializeToString())

        try:
            for r in range(40):
                # The first request stores the series; the rest are known by their label bytes
                # (the same series in another label order takes the whole way, to the same series).
                status, body = d.request("POST", "/api/v1/write", request(r, reorder=r == 7), headers)
                self.assertEqual(status, 204, body)
            # A known series with a sample outside the time limits still gets the validator's error.
            status, body = d.request("POST", "/api/v1/write", request(99, timestamp=-5), headers)
            self.assertEqual(status, 400, body)
            self.assertIn(b"timeseries[0]", body)
            status, metrics = d.get("/metrics")
            # Three series, each by two spellings of its labels.
            self.assertIn(b"triage_remote_write_known_series 6", metrics)
            self.assertIn(b"triage_store_series 3", metrics)
            self.assertIn(b'triage_ingest_records_total{kind="sample"} 120', metrics)
            head = float(re.search(rb"^triage_store_head_samples (\S+)$", metrics, re.M)[1])
            self.assertLess(head, 100, "the head flushed at --head-max-samples")
            d.kill9()
            d.start()

            status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "queue_depth", "window": "60m",
                "end": "2026-01-01T00:45:00Z"})
            self.assertEqual(status, 200, overlay)
            self.assertEqual(overlay["series_count"], 3)
            self.assertEqual([p["value"] for p in overlay["points"]], list(range(40)),
                             "every acknowledged sample, once, after kill -9")
        finally:
            d.stop()

    def test_acknowledged_writes_survive_kill_9(self):
        _, _, _, service_pb2, _ = protos(SOURCE)
        d = Daemon(TRIAGED).start()
        acked = [[] for _ in range(8)]
        stop = threading.Event()
        base_s = 1_767_225_600  # 2026-01-01T00:00:00Z

        def writer(w):
            channel = grpc.insecure_channel(d.grpc_addr)
            call = channel.unary_unary("/triage.v1.IngestService/WriteChanges",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=service_pb2.IngestResponse.FromString)
            i = 0
            while not stop.is_set():
                req = service_pb2.WriteChangesRequest()
                c = req.changes.add(id=f"w{w}-{i}", kind="config", service="svc")
                c.time.seconds = base_s + (w * 100000 + i) % 86400
                try:
                    call(req, timeout=10)
                except grpc.RpcError:
                    break
                acked[w].append(c.id)
                i += 1
            channel.close()

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        d.kill9()
        stop.set()
        for t in threads:
            t.join()
        total = sum(len(a) for a in acked)
        self.assertGreater(total, 100)
        d.start()
        try:
            status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "svc", "metric": "m", "window": "2d", "end": "2026-01-02T12:00:00Z"})
            self.assertEqual(status, 200)
            ids = [c["id"] for c in overlay["changes"]]
            self.assertEqual(len(ids), len(set(ids)), "no duplicate change ids")
            missing = set(i for a in acked for i in a) - set(ids)
            self.assertEqual(missing, set(), f"{len(missing)} of {total} acknowledged writes lost")
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    TRIAGED, SOURCE = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        CYCLES = int(sys.argv[3])
    unittest.main(argv=sys.argv[:1], verbosity=2)
