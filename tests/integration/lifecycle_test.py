#!/usr/bin/env python3
"""After the page: resolving with a root cause, retrospectives, and tree
reloads that must not break past incidents. Real triaged and triagectl.

usage: lifecycle_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import unittest

from daemon import Daemon, public_scenario_count

TRIAGED = TRIAGECTL = SOURCE = None


def scenario(name):
    return os.path.join(SOURCE, "deploy", "demo", "scenarios", name + ".jsonl.gz")


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(TRIAGED).start()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)

    def ctl(self, *args):
        return subprocess.run([TRIAGECTL, "--server", self.d.grpc_addr, *args], capture_output=True,
                              text=True, timeout=120)

    def test_resolve_requires_a_root_cause_and_unknown_opens_an_action_item(self):
        self.assertEqual(self.ctl("ingest", scenario("p11-rare")).returncode, 0)
        r = self.ctl("resolve", "p11-rare")
        self.assertEqual(r.returncode, 2)
        self.assertIn("root_cause: required", r.stderr)
        r = self.ctl("resolve", "p11-rare", "--root-cause", "cosmic_rays")
        self.assertEqual(r.returncode, 2)
        self.assertIn('"cosmic_rays" is not a category of the tree', r.stderr)
        r = self.ctl("resolve", "p11-rare", "--root-cause", "unknown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("open action item: Record the root cause of p11-rare", r.stdout)
        # The JSON API: a cause recorded later closes the action item.
        status, view = self.d.post_json("/triage.v1.TriageService/ResolveIncident",
                                        {"id": "p11-rare", "root_cause": "managed_service",
                                         "summary": "silent shard rebalance"})
        self.assertEqual(status, 200, view)
        st = view["state"]
        self.assertEqual((st["status"], st["root_cause"]), ("resolved", "managed_service"))
        self.assertEqual([a["status"] for a in st["action_items"]], ["done"])
        self.assertEqual(view["incident"]["expected"]["category"], "managed_service")
        status, err = self.d.post_json("/triage.v1.TriageService/ResolveIncident", {"id": "nope", "root_cause": "x"})
        self.assertEqual(status, 400)

    def test_retro_has_seven_sections_and_asks_about_a_new_category(self):
        self.assertEqual(self.ctl("ingest", scenario("p11-rare")).returncode, 0)
        r = self.ctl("retro", "p11-rare")
        self.assertEqual(r.returncode, 0, r.stderr)
        md = r.stdout
        sections = [l for l in md.splitlines() if l.startswith("## ")]
        self.assertEqual(sections, ["## 1. Timeline", "## 2. Root cause", "## 3. Customer impact",
                                    "## 4. What went well", "## 5. What did not go well",
                                    "## 6. Action items", "## 7. Calibration"])
        self.assertIn("Is this a new category?", md)
        self.assertIn("The walk ended in rare_class", md)
        self.assertIn("T-50 min", md)  # The onset, 50 minutes before the page.
        self.assertIn("TODO", md)
        self.assertIn("managed_service (CLEAR):", md)
        # A localized incident: calibration against the recorded cause.
        self.assertEqual(self.ctl("ingest", scenario("p01-code-deploy")).returncode, 0)
        md = self.ctl("retro", "p01-code-deploy").stdout
        self.assertIn("Localized code_deploy, recorded code_deploy: the tree was right.", md)
        self.assertIn("reaches code_deploy at step 1 after 2 min of checks", md)
        self.assertIn("Is this a new category?", md)
        self.assertNotIn("Where:", md)  # One series: no cohorts.
        # Where the drop is: in the timeline and the calibration.
        self.assertEqual(self.ctl("ingest", scenario("p13-cohort-locale")).returncode, 0)
        md = self.ctl("retro", "p13-cohort-locale").stdout
        self.assertRegex(md, r"\(onset\); where: locale=ja carries \d+% of the drop with 12% of traffic")
        self.assertRegex(md, r"- Where: locale=ja carries .* \(as recorded\)\.")

    def test_reload_refuses_a_tree_that_breaks_a_past_incident_unless_forced(self):
        self.assertEqual(self.ctl("ingest", scenario("p01-code-deploy")).returncode, 0)
        with open(os.path.join(SOURCE, "rules", "default_tree.textproto")) as f:
            text = f.read()
        start = text.index('category {\n  id: "code_deploy"')
        end = text.index('category {\n  id: "model_version"')
        candidate = text[:start] + text[end:]
        status, err = self.d.post_json("/triage.v1.RulesService/ReloadTree", {"text": candidate})
        self.assertEqual((status, err["code"]), (400, "failed_precondition"))
        self.assertIn("p01-code-deploy: expected code_deploy, got rare_class", err["message"])
        status, tree = self.d.post_json("/triage.v1.RulesService/GetTree", {})
        self.assertEqual(len(tree["category"]), 10, "the refused tree was not installed")
        status, r = self.d.post_json("/triage.v1.RulesService/ReloadTree", {"text": candidate, "force": True})
        self.assertEqual(status, 200, r)
        self.assertEqual((r["checked"], r["broken"]), (1, ["p01-code-deploy: expected code_deploy, got rare_class"]))
        status, tree = self.d.post_json("/triage.v1.RulesService/GetTree", {})
        self.assertEqual(len(tree["category"]), 9)


    def test_learned_order_from_recorded_root_causes(self):
        with open(os.path.join(SOURCE, "rules", "default_tree.textproto")) as f:
            text = f.read().replace("ordering: COST", "ordering: LEARNED")
        status, r = self.d.post_json("/triage.v1.RulesService/ReloadTree", {"text": text})
        self.assertEqual(status, 200, r)
        for name in ("p10-managed", "p06-eval-stale"):
            self.assertEqual(self.ctl("ingest", scenario(name)).returncode, 0)
        # Two past root causes (managed_service, eval_staleness) move those up the walk.
        report = json.loads(self.ctl("triage", "--service", "reranker", "--metric", "ndcg_at_10",
                                     "--at", "2026-05-11T03:38:00Z", "--json").stdout)
        self.assertEqual(report["ordering"], "learned")
        self.assertEqual(report["history_incidents"], 2)
        order = [v["category"] for v in report["verdicts"]]
        # p = (n + 1) / (2 + 10): managed_service 2/12 over 12 min beats ui_deploy and
        # external_traffic (1/12 over 9 and 10 min), which cost order puts first.
        self.assertLess(order.index("managed_service"), order.index("ui_deploy"))
        self.assertLess(order.index("managed_service"), order.index("external_traffic"))
        self.assertLess(report["expected_minutes"], report["expected_minutes_cost_order"])
        # The JSON API exports the same incidents.
        status, exported = self.d.post_json("/triage.v1.TriageService/ExportIncident", {"id": "p10-managed"})
        self.assertEqual(status, 200)
        self.assertEqual(exported["records"]["incident"], 1)
        self.assertIn('"expected":{"category":"managed_service"', exported["ndjson"])


class DrillTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(TRIAGED).start()

    def tearDown(self):
        self.assertEqual(self.d.stop(), 0)

    def ctl(self, *args):
        r = subprocess.run([TRIAGECTL, "--server", self.d.grpc_addr, *args], capture_output=True, text=True,
                           timeout=120)
        return r

    def start(self, trainee):
        r = self.ctl("drill", "start", scenario("p05-feature-drift"), "--trainee", trainee, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_scripted_trainees_are_scored_and_reported(self):
        drill = self.start("alice")
        self.assertEqual(drill["status"], "running")
        self.assertNotIn("expected", drill["page"], "the trainee does not see the answer")
        self.assertNotIn("score", drill)
        self.assertEqual(drill["page_time"], "2026-05-04T03:06:00Z")
        self.assertEqual(drill["walk_order"][:2], ["code_deploy", "model_version"])
        # Alice checks code_deploy, skips ahead to feature_drift, and answers at T+6.
        r = json.loads(self.ctl("drill", "open", drill["id"], "code_deploy", "--minute", "1", "--json").stdout)
        # p05 records no code deploy in 30 days: no feed, so not ruled out (v1.2).
        self.assertEqual(r["verdict"]["verdict"], "NO_DATA")
        r = json.loads(self.ctl("drill", "open", drill["id"], "feature_drift", "--minute", "4", "--json").stdout)
        self.assertEqual(r["verdict"]["verdict"], "HIT")
        self.assertEqual(r["step"]["time"], "2026-05-04T03:10:00Z", "the drill clock starts at the page")
        done = json.loads(self.ctl("drill", "answer", drill["id"], "feature_drift", "--minute", "6", "--json").stdout)
        score = done["score"]
        self.assertEqual((score["correct"], score["minutes_to_answer"], score["within_target"]), (True, 6, True))
        self.assertEqual((score["categories_opened"], score["out_of_order"], score["check_minutes"]), (2, 1, 8))
        r = self.ctl("drill", "open", drill["id"], "code_deploy")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is finished", r.stderr)
        # Bob misses: answers code_deploy at T+20.
        bob = self.start("bob")
        self.ctl("drill", "open", bob["id"], "code_deploy", "--minute", "3")
        missed = json.loads(self.ctl("drill", "answer", bob["id"], "code_deploy", "--minute", "20", "--json").stdout)
        self.assertEqual((missed["score"]["correct"], missed["score"]["within_target"]), (False, False))
        report = json.loads(self.ctl("drill", "report", "--json").stdout)
        trainees = {t["trainee"]: t for t in report["trainees"]}
        self.assertEqual((trainees["alice"]["correct"], trainees["bob"]["correct"]), (1, 0))
        self.assertEqual(report["categories"], [{"category": "feature_drift", "drills": 2, "missed": 1,
                                                 "answered_instead": ["code_deploy"]}])
        only_bob = json.loads(self.ctl("drill", "report", "--trainee", "bob", "--json").stdout)
        self.assertEqual([t["trainee"] for t in only_bob["trainees"]], ["bob"])
        # Drills never touch live data or alert routing.
        status, live = self.d.post_json("/triage.v1.TriageService/ListIncidents", {})
        self.assertEqual(live["incidents"], [])
        self.assertTrue(os.path.isdir(os.path.join(self.d.data_dir, "drills", drill["id"])))

    def test_a_bundle_without_a_recorded_root_cause_cannot_be_drilled(self):
        path = os.path.join(self.d.data_dir, "no-expected.jsonl")
        with open(path, "w") as f:
            f.write('{"type":"incident","id":"x","alerts":[{"service":"s","metric":"m","fired_at":"2026-01-01T00:00:00Z"}]}\n')
        r = self.ctl("drill", "start", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected.category", r.stderr)


class ExportTest(unittest.TestCase):
    def test_export_then_replay_gives_the_same_report_for_every_public_scenario(self):
        d = os.path.join(SOURCE, "deploy", "demo", "scenarios")
        names = sorted(f[:-len(".jsonl.gz")] for f in os.listdir(d) if f.endswith(".jsonl.gz"))
        self.assertEqual(len(names), public_scenario_count(SOURCE))
        for name in names:
            with self.subTest(name):
                daemon = Daemon(TRIAGED).start()
                try:
                    ctl = lambda *a: subprocess.run([TRIAGECTL, "--server", daemon.grpc_addr, *a],
                                                    capture_output=True, text=True, timeout=300)
                    self.assertEqual(ctl("ingest", scenario(name)).returncode, 0)
                    exported = ctl("export", "--incident", name)
                    self.assertEqual(exported.returncode, 0, exported.stderr)
                finally:
                    self.assertEqual(daemon.stop(), 0)
                path = os.path.join(daemon.data_dir, "export.jsonl")
                with open(path, "w") as f:
                    f.write(exported.stdout)
                replay = lambda p: json.loads(subprocess.run([TRIAGECTL, "replay", p, "--json"], capture_output=True,
                                                             text=True, timeout=300).stdout)
                original, again = replay(scenario(name)), replay(path)
                self.assertEqual(again["localized_category"], original["localized_category"])
                self.assertEqual(again["onset"], original["onset"])
                for a, b in zip(again["verdicts"], original["verdicts"]):
                    self.assertEqual((a["category"], a["verdict"], a["evidence"]),
                                     (b["category"], b["verdict"], b["evidence"]))
                self.assertEqual([s["change"]["id"] for s in again["suspect_changes"]],
                                 [s["change"]["id"] for s in original["suspect_changes"]])
                expected = [json.loads(l) for l in exported.stdout.splitlines() if '"type":"incident"' in l][0]
                self.assertEqual(expected["expected"]["category"], original["localized_category"])


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=sys.argv[:1], verbosity=2)
