#!/usr/bin/env python3
"""A scripted quarter through the real triaged on an injected clock
(--fake-clock-file): Alertmanager webhooks open and resolve incidents,
resolutions record causes (one unknown, one proposing a new category),
three people walk drills (one misses), and the review is asserted number by
number over the Connect API, `triagectl review --json` and /metrics.

usage: review_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import base64
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from daemon import Daemon

TRIAGED = TRIAGECTL = SOURCE = None


def p01(with_incident):
    with gzip.open(os.path.join(SOURCE, "deploy", "demo", "scenarios", "p01-code-deploy.jsonl.gz"),
                   "rb") as f:
        lines = f.read().splitlines()
    return b"\n".join(l for l in lines if with_incident or b'"type":"incident"' not in l)


def webhook(fingerprint, service, metric, starts, status="firing", ends="0001-01-01T00:00:00Z"):
    labels = {"alertname": f"Drop-{fingerprint}", "severity": "page", "service": service,
              "metric": metric}
    a = {"status": status, "labels": labels, "annotations": {"summary": "quality dropped"},
         "startsAt": starts, "endsAt": ends, "generatorURL": "http://prometheus.invalid/graph",
         "fingerprint": fingerprint}
    return {"version": "4", "groupKey": f"{{}}:{{alertname=\"{labels['alertname']}\"}}",
            "truncatedAlerts": 0, "status": status, "receiver": "triage", "groupLabels": {},
            "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://am.invalid",
            "alerts": [a]}


class ScriptedQuarterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="triage-review-")
        cls.clock = os.path.join(cls.work, "now")
        cls.set_clock("2026-03-01T00:00:00Z")
        cls.d = Daemon(TRIAGED, args=["--fake-clock-file", cls.clock,
                                      "--roster", "alice,bob,carol,dave"]).start()
        status, body = cls.d.request("POST", "/api/v1/bundle", p01(False),
                                     {"Content-Type": "application/x-ndjson"})
        assert status == 200, body
        cls.script()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    @classmethod
    def set_clock(cls, t):
        with open(cls.clock + ".tmp", "w") as f:
            f.write(t)
        os.replace(cls.clock + ".tmp", cls.clock)

    @classmethod
    def call(cls, method, body):
        status, reply = cls.d.post_json(f"/triage.v1.{method}", body)
        assert status == 200, (method, status, reply)
        return reply

    @classmethod
    def fire(cls, fp, service, metric, starts):
        """The page: the clock at the alert, the webhook, and the walk's answer."""
        cls.set_clock(starts)
        status, reply = cls.d.post_json("/api/v1/alerts", webhook(fp, service, metric, starts))
        assert status == 200, reply
        [incident] = reply["incidents"]
        deadline = time.time() + 30
        while time.time() < deadline:
            view = cls.call("TriageService/GetIncident", {"id": incident})
            if any(e["event"] == "walk_finished" for e in view["state"]["timeline"]):
                return incident, view["report"]["localized_category"]
            time.sleep(0.05)
        raise AssertionError(f"no walk for {incident}")

    @classmethod
    def resolve_alert(cls, fp, service, metric, starts, ends):
        cls.set_clock(ends)
        status, reply = cls.d.post_json(
            "/api/v1/alerts", webhook(fp, service, metric, starts, "resolved", ends))
        assert status == 200 and reply["resolved"] == 1, reply

    @classmethod
    def resolve(cls, incident, at, cause, new_category=""):
        cls.set_clock(at)
        cls.call("TriageService/ResolveIncident",
                 {"id": incident, "root_cause": cause, "new_category": new_category})

    @classmethod
    def script(cls):
        cls.localized = {}
        # 2026Q1: one page, resolved by its alert after 100 min, no cause recorded.
        i0, cls.localized["i0"] = cls.fire("f0", "payments", "latency", "2026-03-10T10:00:00Z")
        cls.resolve_alert("f0", "payments", "latency", "2026-03-10T10:00:00Z", "2026-03-10T11:40:00Z")
        # 2026Q2, four pages. The reranker's deploy (p01's data): resolved by its
        # alert after 45 min, the cause recorded 78 min after the page.
        i1, cls.localized["i1"] = cls.fire("f1", "reranker", "ndcg_at_10", "2026-05-05T03:42:00Z")
        cls.resolve_alert("f1", "reranker", "ndcg_at_10", "2026-05-05T03:42:00Z", "2026-05-05T04:27:00Z")
        cls.resolve(i1, "2026-05-05T05:00:00Z", "code_deploy")
        # Three in the week of 11 May (above 2 a week): nothing in the tree fits.
        i2, cls.localized["i2"] = cls.fire("f2", "payments", "latency", "2026-05-12T10:00:00Z")
        cls.resolve_alert("f2", "payments", "latency", "2026-05-12T10:00:00Z", "2026-05-12T12:00:00Z")
        cls.resolve(i2, "2026-05-12T12:30:00Z", "rare_class", new_category="gpu_driver")
        i3, cls.localized["i3"] = cls.fire("f3", "search", "ctr", "2026-05-13T09:00:00Z")
        cls.resolve_alert("f3", "search", "ctr", "2026-05-13T09:00:00Z", "2026-05-13T09:30:00Z")
        cls.resolve(i3, "2026-05-13T10:00:00Z", "unknown")  # An action item, due in 7 days.
        i4, cls.localized["i4"] = cls.fire("f4", "feeds", "freshness", "2026-05-14T08:00:00Z")
        cls.resolve(i4, "2026-05-14T09:00:00Z", "upstream_data")  # By hand, after 60 min.
        cls.ids = {"i0": i0, "i1": i1, "i2": i2, "i3": i3, "i4": i4}
        # Drills in June: alice and bob find the deploy, carol answers config_change.
        bundle = base64.b64encode(p01(True)).decode()
        cls.set_clock("2026-06-10T09:00:00Z")
        for trainee, answer in [("alice", "code_deploy"), ("bob", "code_deploy"),
                                ("carol", "config_change")]:
            drill = cls.call("DrillService/StartDrill",
                             {"name": "p01.jsonl", "ndjson": bundle, "trainee": trainee})
            cls.call("DrillService/Answer", {"drill_id": drill["id"], "category": answer, "minute": 12})
        cls.set_clock("2026-07-02T00:00:00Z")

    def review(self, **request):
        return self.call("TriageService/Review", request)

    def test_the_walks_localized_what_the_script_expects(self):
        self.assertEqual(self.localized, {"i0": "rare_class", "i1": "code_deploy",
                                          "i2": "rare_class", "i3": "rare_class",
                                          "i4": "rare_class"})

    def test_the_quarter_for_everyone(self):
        r = self.review(quarter="2026Q2")
        self.assertEqual((r["pages_threshold"], r["mttr_target_minutes"]), (2, 60))
        q = [x for x in r["quarters"] if x["team"] == "all"]
        self.assertEqual(len(q), 1, r)
        q = q[0]
        self.assertEqual(q["quarter"], "2026Q2")
        self.assertEqual(q["incidents"], 4)
        # 14 ISO weeks touch the quarter (W14 from 30 March to W27 on 29 June).
        self.assertEqual(len(q["weeks"]), 14)
        self.assertAlmostEqual(q["pages_per_week"], 4 / 14)
        above = [w for w in q["weeks"] if w["above_threshold"]]
        self.assertEqual([(w["week"], w["pages"]) for w in above], [("2026-W20", 3)])
        self.assertEqual((q["weeks_above_threshold"], q["sustained"]), (1, False))
        # MTTR 45, 120, 30 (by the alerts) and 60 (by hand): median 52.5, p90 102.
        self.assertEqual(q["mttr_minutes"]["count"], 4)
        self.assertAlmostEqual(q["mttr_minutes"]["median"], 52.5)
        self.assertAlmostEqual(q["mttr_minutes"]["p90"], 102)
        # Against 2026Q1 (one incident, 100 min).
        self.assertAlmostEqual(q["mttr_minutes"]["median_change"], -47.5)
        self.assertAlmostEqual(q["mttr_minutes"]["p90_change"], 2)
        # The walk answers as the page arrives; the causes came 78, 150, 60 and 60 min later.
        self.assertEqual((q["time_to_localize_minutes"]["count"],
                          q["time_to_localize_minutes"]["median"]), (4, 0))
        self.assertAlmostEqual(q["time_to_cause_minutes"]["median"], 69)
        self.assertAlmostEqual(q["time_to_cause_minutes"]["p90"], 128.4)
        # Accuracy over the three known causes: code_deploy and rare_class right, upstream_data not.
        self.assertEqual((q["localization_recorded"], q["localization_correct"]), (3, 2))
        self.assertAlmostEqual(q["localization_accuracy"], 2 / 3)
        self.assertEqual(q["unknown_causes"], 1)
        self.assertEqual(sorted((c["recorded"], c["localized"], c["count"]) for c in q["confusion"]),
                         [("code_deploy", "code_deploy", 1), ("rare_class", "rare_class", 1),
                          ("upstream_data", "rare_class", 1)])
        rare = {x["incident_id"]: x["new_category"] for x in q["rare_class"]}
        self.assertEqual(rare, {self.ids["i2"]: "yes: gpu_driver", self.ids["i3"]: "not answered",
                                self.ids["i4"]: "no: recorded as upstream_data"})
        [item] = q["overdue_action_items"]
        self.assertEqual((item["incident_id"], item["owner"]), (self.ids["i3"], "incident-commander"))
        self.assertAlmostEqual(item["days_overdue"], 42 + 14 / 24)  # Due 20 May 10:00.
        d = q["drills"]
        self.assertEqual((d["drills"], d["correct"]), (3, 2))
        self.assertEqual(d["walked"], ["alice", "bob", "carol"])
        self.assertEqual(d["missing"], ["dave"])
        self.assertEqual(d["missed_most"], ["code_deploy"])
        [cat] = d["categories"]
        self.assertEqual((cat["category"], cat["drills"], cat["missed"], cat["answered_instead"]),
                         ("code_deploy", 3, 1, ["config_change"]))

    def test_teams_and_quarters(self):
        r = self.review()
        self.assertEqual([(q["quarter"], q["team"]) for q in r["quarters"]],
                         [("2026Q1", "incident-commander"), ("2026Q1", "all"),
                          ("2026Q2", "data-platform"), ("2026Q2", "incident-commander"),
                          ("2026Q2", "service-owners"), ("2026Q2", "all")])
        by = {(q["quarter"], q["team"]): q for q in r["quarters"]}
        self.assertEqual(by[("2026Q2", "service-owners")]["incidents"], 1)
        self.assertEqual(by[("2026Q2", "service-owners")]["drills"]["drills"], 3)
        self.assertEqual(by[("2026Q2", "incident-commander")]["incidents"], 2)
        self.assertEqual(by[("2026Q1", "all")]["mttr_minutes"]["median"], 100)
        self.assertNotIn("median_change", by[("2026Q1", "all")]["mttr_minutes"])
        only = self.review(quarter="2026Q2", team="data-platform")
        self.assertEqual([(q["quarter"], q["team"]) for q in only["quarters"]],
                         [("2026Q2", "data-platform")])
        status, body = self.d.post_json("/triage.v1.TriageService/Review", {"quarter": "Q2-2026"})
        self.assertEqual(status, 400, body)
        self.assertIn("2026Q2", body["message"])

    def test_triagectl_review(self):
        p = subprocess.run([TRIAGECTL, "--server", self.d.grpc_addr, "review", "--quarter",
                            "2026Q2", "--team", "all", "--json"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        [q] = out["quarters"]
        for key in ("quarter", "team", "incidents", "pages_per_week", "mttr_minutes",
                    "time_to_localize_minutes", "localization_accuracy", "rare_class",
                    "overdue_action_items", "drills"):
            self.assertIn(key, q)
        self.assertEqual((q["incidents"], q["mttr_minutes"]["median"]), (4, 52.5))
        p = subprocess.run([TRIAGECTL, "--server", self.d.grpc_addr, "review", "--quarter", "2026Q2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for want in ("## 2026Q2, team all: 4 incidents", "median 52.5, p90 102.0 min (n=4); -47.5",
                     "localized right    2 of 3 (67%); 1 cause unknown", "1 week above",
                     "new category? yes: gpu_driver", "NOT walked: dave", "missed most: code_deploy"):
            self.assertIn(want, p.stdout)

    def test_metrics(self):
        status, text = self.d.request("GET", "/metrics")
        text = text.decode()
        self.assertIn('triage_mttr_minutes_count{category="code_deploy"} 1', text)
        self.assertIn('triage_mttr_minutes_count{category="upstream_data"} 1', text)
        self.assertIn('triage_time_to_localize_minutes_count{category="rare_class"} 4', text)
        self.assertIn('triage_localization_correct_total{correct="true"} 2', text)
        self.assertIn('triage_localization_correct_total{correct="false"} 1', text)
        self.assertIn("triage_action_items_overdue 1", text)


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:])
