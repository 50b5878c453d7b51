#!/usr/bin/env python3
"""triaged as replicas (--peer): two and three real triaged processes on
loopback, each with its own data dir, each sent every write (as Prometheus,
Alertmanager and CI would), one of them kill -9ed and restarted, one started
empty. Afterwards every replica holds every acknowledged write exactly once,
derives the same incidents, answers the same reports, and Grafana (a
loopback recorder that answers tag searches as Grafana does) gets one
annotation per change, from position 0, and from position 1 once position 0
has been unreachable for --peer-timeout.

usage: replicas_test.py TRIAGED SOURCE_DIR
"""
import base64
import difflib
import gzip
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import alerting_test as at
from alerting_test import alert, p01_records, webhook
from daemon import Daemon, free_port

TRIAGED = SOURCE = None
PEER_TIMEOUT = 3  # Seconds (--peer-timeout; 15 s by default).
END = "2026-05-05T06:00:00Z"  # The overlay's end: every test change is in its 7 days.


class Grafana:
    """POST /api/annotations records; GET /api/annotations?tags=T&limit=N
    answers the recorded ones holding every tag T, as Grafana does."""

    def __init__(self):
        self.port = free_port()
        self.bodies = []
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with rec.lock:
                    rec.bodies.append(body)
                self.reply({"message": "Annotation added", "id": len(rec.bodies)})

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                tags = set(q.get("tags", []))
                with rec.lock:
                    hits = [b for b in rec.bodies if tags <= set(b["tags"])]
                self.reply(hits[:int(q.get("limit", ["100"])[0])])

            def reply(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tagged(self, change_id):
        with self.lock:
            return [b for b in self.bodies if f"change:{change_id}" in b["tags"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def change(i, service="reranker"):
    return {"id": f"chg-rep-{i}", "kind": "config", "service": service,
            "time": f"2026-05-05T0{1 + i % 4}:{i % 60:02d}:00Z", "summary": f"replica test {i}",
            "version": f"v{i}"}


class Replica:
    """One triaged replica: fixed gRPC port (its peers name it), own data
    dir; extra: more triaged flags."""

    def __init__(self, position, grafana, data_dir=None, extra=()):
        self.position = position
        self.extra = list(extra)
        self.grpc_port = free_port()
        self.grafana = grafana
        self.data_dir = data_dir or tempfile.mkdtemp(prefix=f"triaged-r{position}-")
        self.d = None
        self.peers = []

    def start(self, peers):
        self.peers = peers
        token = os.path.join(self.data_dir, "grafana.token")
        with open(token, "w") as f:
            f.write("glsa_test")
        args = ["--grpc-addr", f"127.0.0.1:{self.grpc_port}", "--peer-position", str(self.position),
                "--peer-timeout", f"{PEER_TIMEOUT}s", "--peer-repair-interval", "200ms",
                "--grafana-url", f"http://127.0.0.1:{self.grafana.port}",
                "--grafana-token-file", token]
        for p in peers:
            args += ["--peer", f"127.0.0.1:{p.grpc_port}"]
        self.d = Daemon(TRIAGED, data_dir=self.data_dir, args=args + self.extra).start()
        return self

    def post(self, path, obj):
        status, body = self.d.request("POST", path, json.dumps(obj).encode(),
                                      {"Content-Type": "application/json"})
        return status, json.loads(body) if body else None

    def changes(self):
        status, o = self.post("/triage.v1.OverlayService/GetOverlay",
                              {"service": "reranker", "metric": "ndcg_at_10", "window": "7d",
                               "end": END, "max_other_changes": 5000})
        assert status == 200, o
        return sorted((c for c in o.get("changes", []) if c["id"].startswith("chg-rep-")),
                      key=lambda c: c["id"])

    def incidents(self):
        status, o = self.post("/triage.v1.TriageService/ListIncidents", {})
        assert status == 200, o
        out = {}
        for v in o.get("incidents", []):
            state = v.get("state", {})
            # Walks and deliveries are each replica's own doing (its clock).
            state["timeline"] = [e for e in state.get("timeline", [])
                                 if e["event"] not in ("walk_finished", "walked_again", "delivered")]
            report = v.get("report")
            if report:
                strip_timings(report)
            out[v["incident"]["id"]] = {"incident": v["incident"], "state": state,
                                        "report": report}
        return out

    def metric(self, name, labels=""):
        _, body = self.d.get("/metrics")
        total = None
        for line in body.decode().splitlines():
            if line.startswith(name + "{" + labels) or line.startswith(name + " "):
                total = (total or 0) + float(line.rsplit(" ", 1)[1])
        return total


def wait(pred, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last is True:
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s: {last}")


def converged(*replicas):
    """True when every replica holds the first's changes and incidents, else what differs."""
    first = replicas[0]
    want_c, want_i = first.changes(), first.incidents()
    for r in replicas[1:]:
        got_c, got_i = r.changes(), r.incidents()
        if got_c != want_c:
            return f"changes differ: {len(want_c)} vs {len(got_c)}"
        if got_i != want_i:
            diff = difflib.unified_diff(json.dumps(want_i, indent=1, sort_keys=True).splitlines(),
                                        json.dumps(got_i, indent=1, sort_keys=True).splitlines(),
                                        lineterm="", n=2)
            return "incidents differ:\n" + "\n".join(list(diff)[:80])
    return True


class ReplicasTest(unittest.TestCase):
    def setUp(self):
        self.grafana = Grafana()
        self.a = Replica(0, self.grafana)
        self.b = Replica(1, self.grafana)
        self.c = None
        self.a.start([self.b])
        self.b.start([self.a])
        for r in (self.a, self.b):  # Every sender posts to each replica.
            self.assertEqual(r.d.request("POST", "/api/v1/bundle", p01_records())[0], 200)

    def tearDown(self):
        for r in (self.a, self.b, self.c):
            if r is not None and r.d is not None and r.d.proc is not None:
                r.d.stop()
        self.grafana.close()

    def test_writes_through_a_kill9_reach_every_replica_once(self):
        acked = []
        # Some writes reach both replicas, some only one (the other was down,
        # or the sender gave up on it): repair fills in the rest.
        for i in range(0, 10):
            targets = (self.a, self.b) if i % 3 == 0 else ((self.a,) if i % 3 == 1 else (self.b,))
            for r in targets:
                self.assertEqual(r.post("/api/v1/changes", change(i))[0], 200)
            acked.append(f"chg-rep-{i}")
        hook = webhook([alert("fp-rep-1", starts="2026-05-05T03:42:00Z")])
        self.assertEqual(self.a.post("/api/v1/alerts", hook)[0], 200)
        self.assertEqual(self.b.post("/api/v1/alerts", hook)[0], 200)
        self.b.d.kill9()
        for i in range(10, 20):  # While B is dead.
            self.assertEqual(self.a.post("/api/v1/changes", change(i))[0], 200)
            acked.append(f"chg-rep-{i}")
        # A second alert, resolved before its firing notification comes, to A.
        resolved = alert("fp-rep-2", starts="2026-05-05T03:44:00Z", status="resolved",
                         ends="2026-05-05T04:10:00Z")
        self.assertEqual(self.a.post("/api/v1/alerts", webhook([resolved], "resolved"))[0], 200)
        self.assertEqual(self.a.post("/api/v1/alerts",
                                     webhook([alert("fp-rep-2", starts="2026-05-05T03:44:00Z")]))[0], 200)
        self.b.start([self.a])
        for i in range(20, 25):  # After the restart, to B only.
            self.assertEqual(self.b.post("/api/v1/changes", change(i))[0], 200)
            acked.append(f"chg-rep-{i}")
        wait(lambda: converged(self.a, self.b), 60, "A and B converge")
        for r in (self.a, self.b):
            ids = [c["id"] for c in r.changes()]
            self.assertEqual(ids, sorted(acked), "every acknowledged change, none twice")
        incidents = self.a.incidents()
        self.assertEqual(len(incidents), 1, "one incident: both alerts fired within the window")
        (only,) = incidents.values()
        fp2 = [x for x in only["state"]["alerts"] if x["fingerprint"] == "fp-rep-2"]
        self.assertEqual(fp2[0]["status"], "resolved", "resolved before firing ends resolved")
        self.assertIsNotNone(only["report"], "walked on every replica")
        wait(lambda: self.a.metric("triage_peer_lag_events") == 0 and
             self.b.metric("triage_peer_lag_events") == 0, 30, "no lag")
        self.assertGreater(self.b.metric("triage_peer_repairs_total"), 0)
        self.assertGreater(self.a.metric("triage_peer_repairs_total"), 0)

    def test_a_replica_started_empty_converges(self):
        for i in range(8):
            r = self.a if i % 2 else self.b
            self.assertEqual(r.post("/api/v1/changes", change(i))[0], 200)
        self.assertEqual(self.a.post("/api/v1/alerts", webhook([alert("fp-rep-9")]))[0], 200)
        status, _ = self.a.post("/triage.v1.TriageService/ResolveIncident",
                                {"id": "am-fp-rep-9-1777952520", "root_cause": "code_deploy",
                                 "summary": "rolled back"})
        self.assertEqual(status, 200)
        wait(lambda: converged(self.a, self.b), 60, "A and B converge")
        self.c = Replica(2, self.grafana)
        self.c.start([self.a])  # Only A: it has B's events by now.
        # C walks the repaired incident before the bundle (not an event) comes;
        # the bundle walks it again.
        wait(lambda: "am-fp-rep-9-1777952520" in self.c.incidents(), 30, "C has the incident")
        self.assertEqual(self.c.d.request("POST", "/api/v1/bundle", p01_records())[0], 200)
        wait(lambda: converged(self.a, self.c), 60, "C, started empty, converges")
        state = self.c.incidents()["am-fp-rep-9-1777952520"]["state"]
        self.assertEqual(state["root_cause"], "code_deploy", "the resolution travelled too")

    def test_a_wiped_peer_is_pulled_from_its_new_start(self):
        self.assertEqual(self.b.post("/api/v1/changes", change(1))[0], 200)
        wait(lambda: converged(self.a, self.b), 30, "A has B's change")
        self.b.d.kill9()
        b2 = Replica(1, self.grafana)
        b2.grpc_port = self.b.grpc_port  # The same address, an empty data dir.
        self.b = b2.start([self.a])
        self.assertEqual(self.b.d.request("POST", "/api/v1/bundle", p01_records())[0], 200)
        self.assertEqual(self.b.post("/api/v1/changes", change(2))[0], 200)
        wait(lambda: converged(self.a, self.b), 60, "A pulls the new log from its start")
        self.assertEqual([c["id"] for c in self.a.changes()], ["chg-rep-1", "chg-rep-2"])

    def test_a_record_this_replica_refuses_is_skipped_alone(self):
        """A repaired run with one record this replica's limits refuse: the
        run is applied one by one, that record counted and skipped."""
        for i in range(6):
            c = change(i)
            if i == 3:
                c["summary"] = "x" * 300
            self.assertEqual(self.a.post("/api/v1/changes", c)[0], 200)
        self.c = Replica(2, self.grafana, extra=["--max-text-bytes", "200"]).start([self.a])
        wait(lambda: self.c.metric("triage_peer_refused_events_total") == 1 or
             self.c.metric("triage_peer_refused_events_total"), 30, "the long change refused")
        wait(lambda: [c["id"] for c in self.c.changes()] ==
             [f"chg-rep-{i}" for i in (0, 1, 2, 4, 5)] or self.c.changes(), 30, "the others applied")

    def test_a_drill_and_a_tree_reload_go_on_at_the_other_replica(self):
        """A trainee whose replica dies goes on at the other; a tree installed
        at one is the tree of both, also after a restart."""
        with gzip.open(os.path.join(SOURCE, "deploy", "demo", "scenarios", "p01-code-deploy.jsonl.gz")) as f:
            bundle = base64.b64encode(f.read()).decode()
        status, drill = self.a.post("/triage.v1.DrillService/StartDrill",
                                    {"name": "p01", "ndjson": bundle, "trainee": "sam"})
        self.assertEqual(status, 200, drill)
        step = {"drill_id": drill["id"], "category": "code_deploy"}
        status, opened = self.a.post("/triage.v1.DrillService/OpenCategory", dict(step, minute=3))
        self.assertEqual(status, 200, opened)
        with open(os.path.join(SOURCE, "rules", "default_tree.textproto")) as f:
            text = f.read()
        start = text.index('category {\n  id: "ui_deploy"')
        end = text.index("category {", start + 1)
        status, r = self.a.post("/triage.v1.RulesService/ReloadTree", {"text": text[:start] + text[end:]})
        self.assertEqual(status, 200, r)

        def categories(r):
            return len(r.post("/triage.v1.RulesService/GetTree", {})[1]["category"])
        wait(lambda: self.b.post("/triage.v1.DrillService/GetDrill", {"drill_id": drill["id"]})[0] == 200 and
             categories(self.b) == 9 or categories(self.b), 30, "B has the drill and the tree")
        self.a.d.kill9()
        status, done = self.b.post("/triage.v1.DrillService/Answer", dict(step, minute=7))
        self.assertEqual(status, 200, done)
        self.assertEqual([(s["action"], s["minute"]) for s in done["steps"]], [("open", 3), ("answer", 7)])
        self.assertTrue(done["score"]["correct"])
        self.a.start([self.b])
        wait(lambda: self.a.post("/triage.v1.DrillService/GetDrill", {"drill_id": drill["id"]})[1]
             .get("status") == "finished" or "running", 30, "A has the answer")
        self.assertEqual(categories(self.a), 9, "A installs the latest tree again at its start")
        self.b.d.stop()
        self.b.start([self.a])
        self.assertEqual(categories(self.b), 9, "so does B")

    def test_one_annotation_per_change_and_failover(self):
        for i in range(4):
            for r in (self.a, self.b):
                self.assertEqual(r.post("/api/v1/changes", change(i))[0], 200)
        self.assertEqual(self.b.post("/api/v1/changes", change(4))[0], 200)  # B only.
        wait(lambda: all(len(self.grafana.tagged(f"chg-rep-{i}")) == 1 for i in range(5)) or
             [len(self.grafana.tagged(f"chg-rep-{i}")) for i in range(5)], 30,
             "one annotation per change")
        self.assertEqual(self.a.metric("triage_annotation_writer"), 1)
        self.assertEqual(self.b.metric("triage_annotation_writer"), 0)
        time.sleep(PEER_TIMEOUT)  # B could have written duplicates by now: it has not.
        self.assertTrue(all(len(self.grafana.tagged(f"chg-rep-{i}")) == 1 for i in range(5)))
        died = time.time()
        self.a.d.kill9()
        self.assertEqual(self.b.post("/api/v1/changes", change(5))[0], 200)
        wait(lambda: len(self.grafana.tagged("chg-rep-5")) == 1, PEER_TIMEOUT + 10,
             "B writes the annotation once A is gone")
        took = time.time() - died
        print(f"failover: B wrote its first annotation {took:.1f} s after A died "
              f"(--peer-timeout {PEER_TIMEOUT}s)", file=sys.stderr)
        self.assertGreaterEqual(took, PEER_TIMEOUT - 1)
        self.assertEqual(self.b.metric("triage_annotation_writer"), 1)
        self.a.start([self.b])  # Back: A writes again, B stops; still one each.
        # Until B has reached A again (one repair interval) both write; a change
        # in that window can be annotated twice (README, replicas).
        wait(lambda: self.b.metric("triage_annotation_writer") == 0, 30, "B sees A again")
        self.assertEqual(self.a.post("/api/v1/changes", change(6))[0], 200)
        self.assertEqual(self.b.post("/api/v1/changes", change(6))[0], 200)
        wait(lambda: len(self.grafana.tagged("chg-rep-6")) == 1, 30, "A annotates again")
        time.sleep(2)
        for i in range(7):
            self.assertEqual(len(self.grafana.tagged(f"chg-rep-{i}")), 1, f"chg-rep-{i}")


def strip_timings(report):
    """A report without how long each read took (each replica's own measurement)."""
    for k in ("walk_ms", "load_ms"):
        report.pop(k, None)
    for x in report.get("verdicts", []) + report.get("queries", []):
        x.pop("check_ms", None)
        x.pop("ms", None)
    return report


class SkewedClocksTest(unittest.TestCase):
    """Three replicas whose clocks read 5 minutes apart (--fake-clock-file),
    each sent part of the writes: they derive the same incidents, resolutions
    and reports, because each event carries its own time."""

    def setUp(self):
        self.grafana = Grafana()
        self.rs = []
        for i in range(3):
            r = Replica(i, self.grafana)
            clock = os.path.join(r.data_dir, "clock")
            with open(clock, "w") as f:
                f.write(f"2026-05-05T04:{5 * i:02d}:00Z")
            r.extra = ["--fake-clock-file", clock]
            self.rs.append(r)
        for r in self.rs:
            r.start([o for o in self.rs if o is not r])
            self.assertEqual(r.d.request("POST", "/api/v1/bundle", p01_records())[0], 200)

    def tearDown(self):
        for r in self.rs:
            if r.d is not None and r.d.proc is not None:
                r.d.stop()
        self.grafana.close()

    def test_replicas_five_minutes_apart_agree(self):
        a, b, c = self.rs
        for i in range(9):
            self.assertEqual(self.rs[i % 3].post("/api/v1/changes", change(i))[0], 200)
        self.assertEqual(a.post("/api/v1/alerts", webhook([alert("fp-skew-1")]))[0], 200)
        self.assertEqual(c.post("/api/v1/alerts", webhook([alert("fp-skew-1")]))[0], 200)
        # The second alert once B has the first (which alert opens an incident
        # still depends on which one a replica saw first; see the README).
        wait(lambda: converged(a, b, c), 60, "three replicas converge")
        other = alert("fp-skew-2", service="embedding-service", metric="latency",
                      starts="2026-05-05T03:47:00Z")
        self.assertEqual(b.post("/api/v1/alerts", webhook([other]))[0], 200)
        wait(lambda: converged(a, b, c), 60, "three replicas converge")
        (incident,) = a.incidents()
        status, view = b.post("/triage.v1.TriageService/ResolveIncident",
                              {"id": incident, "root_cause": "code_deploy", "summary": "rolled back"})
        self.assertEqual(status, 200, view)
        wait(lambda: converged(a, b, c), 60, "the resolution reaches every replica")
        state = c.incidents()[incident]["state"]
        self.assertEqual(state["root_cause"], "code_deploy")
        self.assertEqual(len(state["alerts"]), 2, "both alerts joined, whichever replica took them")
        # A walk asked of each replica as of the same time answers the same.
        ask = {"alerts": [{"service": "reranker", "metric": "ndcg_at_10"}], "at": "2026-05-05T03:42:00Z"}
        answers = []
        for r in self.rs:
            status, report = r.post("/triage.v1.TriageService/Triage", ask)
            self.assertEqual(status, 200, report)
            answers.append(json.dumps(strip_timings(report), sort_keys=True))
        self.assertEqual(answers[1:], answers[:1] * 2)
        self.assertIn("code_deploy", answers[0])


if __name__ == "__main__":
    TRIAGED, SOURCE = sys.argv[1], sys.argv[2]
    at.SOURCE = SOURCE
    unittest.main(argv=sys.argv[:1], verbosity=2)
