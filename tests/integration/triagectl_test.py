#!/usr/bin/env python3
"""Integration tests of the real triagectl binary: output contracts and exit codes.

usage: triagectl_test.py TRIAGECTL SOURCE_DIR
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest

TRIAGECTL = SOURCE = None
REQUIRED_VERDICT_KEYS = {"category", "verdict", "evidence", "cost_minutes", "mitigation"}


def run(*args):
    return subprocess.run([TRIAGECTL, *args], capture_output=True, text=True, timeout=120)


def scenario(name):
    return os.path.join(SOURCE, "deploy", "demo", "scenarios", name + ".jsonl.gz")


def read_lines(name):
    with gzip.open(scenario(name), "rt") as f:
        return f.read().splitlines()


class ReplayTest(unittest.TestCase):
    def test_json_report_contract(self):
        r = run("replay", scenario("p12-shared-dep"), "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)  # Exactly one JSON object.
        for key in ("incident_id", "localized_category", "onset", "now", "verdicts",
                    "suspect_changes", "shared_dependencies", "blind_spots"):
            self.assertIn(key, report)
        self.assertEqual(report["incident_id"], "p12-shared-dep")
        self.assertEqual(report["localized_category"], "model_version")
        self.assertEqual(report["now"], "2026-05-01T03:16:00Z")
        self.assertEqual([v["category"] for v in report["verdicts"]],
                         ["code_deploy", "model_version", "config_change", "prompt_template",
                          "upstream_data", "feature_drift", "eval_staleness", "ui_deploy",
                          "external_traffic", "managed_service"])
        for v in report["verdicts"]:
            self.assertTrue(REQUIRED_VERDICT_KEYS <= v.keys(), v.keys())
            self.assertIn(v["verdict"], ("HIT", "CLEAR", "NO_DATA"))
        self.assertEqual(report["suspect_changes"][0]["change"]["id"], "chg-p12")
        self.assertTrue(report["suspect_changes"][0]["prime"])
        shared = [d["service"] for d in report["shared_dependencies"]]
        self.assertIn("embedding-service", shared[:2])

    def test_human_output_puts_the_localized_category_first(self):
        r = run("replay", scenario("p01-code-deploy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        first = next(i for i, l in enumerate(lines) if l.startswith("LOCALIZED:"))
        walk = lines.index("walk (cheapest first):")
        self.assertLess(first, walk)
        self.assertIn("code_deploy", lines[first])
        self.assertTrue(any("mitigation:" in l for l in lines[first:walk]))
        self.assertTrue(any("prime suspect: chg-p01" in l and "9f8e7d6" in l for l in lines[first:walk]))

    def test_rare_class_names_blind_spots(self):
        lines = read_lines("p11-rare")
        # Drop every upstream report and eval set: those categories become blind spots.
        kept = [l for l in lines if '"type":"upstream"' not in l and '"type":"eval_set"' not in l]
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("\n".join(kept) + "\n")
        try:
            r = run("replay", f.name, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            self.assertEqual(report["localized_category"], "rare_class")
            # p11 records no code, prompt or UI deploy in 30 days: those feeds
            # are blind spots too (v1.2, change-feed coverage).
            self.assertEqual([b["category"] for b in report["blind_spots"]],
                             ["code_deploy", "prompt_template", "upstream_data", "eval_staleness",
                              "ui_deploy"])
            self.assertIn("is a change feed connected?", report["blind_spots"][0]["reason"])
            verdicts = {v["category"]: v["verdict"] for v in report["verdicts"]}
            self.assertEqual(verdicts["upstream_data"], "NO_DATA")
            self.assertEqual(verdicts["eval_staleness"], "NO_DATA")
        finally:
            os.unlink(f.name)

    def test_expected_mismatch_exits_1(self):
        lines = read_lines("p01-code-deploy")
        lines = [l.replace('"category":"code_deploy"', '"category":"feature_drift"') for l in lines]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mismatch.jsonl")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            r = run("replay", path, "--json")
            self.assertEqual(r.returncode, 1)
            self.assertIn("expected feature_drift, got code_deploy", r.stderr)
            r = run("regress", d, scenario("p02-model-version"))
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout.splitlines()[-1], "1 passed, 1 failed")
            self.assertIn("FAIL", r.stdout)

    def test_where_the_drop_is_and_a_wrong_cohort_fails(self):
        r = run("replay", scenario("p13-cohort-locale"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\n  where: locale=ja carries \d+% of the drop with 12% of traffic "
                                   r"\(0\.76 -> 0\.42\)\n")
        r = run("replay", scenario("p15-cohort-spread"))
        self.assertIn("  where: spread over locale (no cohort carries the drop)\n", r.stdout)
        report = json.loads(run("replay", scenario("p14-cohort-shard"), "--json").stdout)
        self.assertEqual((report["cohort_localization"]["dimension"], report["cohort_localization"]["value"]),
                         ("shard", "3"))
        shards = report["cohorts"][0]["values"]
        self.assertEqual(len(shards), 8)
        self.assertEqual(shards[0]["value"], "3")
        for key in ("baseline", "current", "delta", "weight", "contribution", "left_band"):
            self.assertIn(key, shards[0])
        lines = [l.replace('"cohort":{"dimension":"locale","value":"ja"}', '"cohort":null')
                 for l in read_lines("p13-cohort-locale")]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "wrong-cohort.jsonl")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            r = run("replay", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("expected cohort spread, got locale=ja", r.stderr)
            r = run("regress", d)
            self.assertEqual(r.returncode, 1)
            self.assertIn("FAIL", r.stdout)
            self.assertIn("expected cohort spread, got locale=ja", r.stdout)

    def test_bad_bundle_exits_2_with_line_numbered_errors(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"type":"incident","id":"x","alerts":[]}\n')
            f.write('{"type":"change","id":"c","time":"soon","kind":"config","service":"s"}\n')
            f.write('{"type":"series","metric":"m","points":[[1,NaN]]}\n')
            f.write('not json\n')
        try:
            r = run("replay", f.name)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stdout, "")
            errors = r.stderr.splitlines()
            self.assertEqual(errors, [
                f"{f.name}:1: alerts: needs at least one alert",
                f'{f.name}:2: time: "soon" is not an RFC 3339 time like 2026-04-28T03:00:00Z',
                f"{f.name}:3: points[0][1]: NaN is not a finite number (NaN and Infinity are not allowed)",
                f"{f.name}:4: json: invalid JSON: column 1: invalid literal (expected true, false or null)",
            ])
        finally:
            os.unlink(f.name)

    def test_custom_tree_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".textproto", delete=False) as f:
            f.write('category { id: "only_drift" cost_minutes: 1 mitigation: "m" feature_drift {} }\n')
        try:
            r = run("replay", scenario("p01-code-deploy"), "--tree", f.name, "--json")
            # The bundle expects code_deploy; this tree cannot find it.
            self.assertEqual(r.returncode, 1)
            report = json.loads(r.stdout)
            self.assertEqual([v["category"] for v in report["verdicts"]], ["only_drift"])
        finally:
            os.unlink(f.name)


class RulesCheckTest(unittest.TestCase):
    def test_default_tree_is_valid(self):
        r = run("rules", "check", os.path.join(SOURCE, "rules", "default_tree.textproto"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok, 10 categories", r.stdout)

    def test_problems_have_line_numbers(self):
        with tempfile.NamedTemporaryFile("w", suffix=".textproto", delete=False) as f:
            f.write('category {\n  id: "a"\n  cost_minutes: 1\n  mitigation: "m"\n'
                    '  change_log { kinds: "config" }\n}\n'
                    'category {\n  id: "a"\n  change_log { kinds: "config" }\n}\n')
        try:
            r = run("rules", "check", f.name)
            self.assertEqual(r.returncode, 2)
            self.assertIn(f"{f.name}:8: duplicate id a (first at line 2)", r.stderr)
            self.assertIn(f"{f.name}:7: category a: missing cost_minutes", r.stderr)
            self.assertIn(f"{f.name}:7: category a: missing mitigation", r.stderr)
        finally:
            os.unlink(f.name)


    def test_regress_a_candidate_tree(self):
        with open(os.path.join(SOURCE, "rules", "default_tree.textproto")) as f:
            text = f.read()
        start = text.index('category {\n  id: "code_deploy"')
        end = text.index('category {\n  id: "model_version"')
        with tempfile.NamedTemporaryFile("w", suffix=".textproto", delete=False) as f:
            f.write(text[:start] + text[end:])  # A retrospective that dropped code_deploy.
        try:
            scenarios = os.path.join(SOURCE, "deploy", "demo", "scenarios")
            n = len([x for x in os.listdir(scenarios) if x.endswith(".jsonl.gz")])
            r = run("rules", "check", f.name, "--regress", scenarios)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("ok, 9 categories", r.stdout)
            self.assertRegex(r.stdout, r"p01-code-deploy +expected code_deploy +got rare_class +FAIL")
            self.assertEqual(r.stdout.splitlines()[-1], f"{n - 1} passed, 1 failed")
            r = run("rules", "check", os.path.join(SOURCE, "rules", "default_tree.textproto"),
                    "--regress", scenarios)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertEqual(r.stdout.splitlines()[-1], f"{n} passed, 0 failed")
        finally:
            os.unlink(f.name)


class UsageTest(unittest.TestCase):
    def test_usage_errors_exit_2(self):
        for args in ([], ["bogus"], ["replay"], ["replay", "a", "b"], ["replay", "x", "--nope"],
                     ["rules", "lint", "f"], ["regress"], ["replay", "/nonexistent.jsonl"]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertNotEqual(r.stderr, "", args)


if __name__ == "__main__":
    TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
