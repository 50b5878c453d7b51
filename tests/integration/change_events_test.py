#!/usr/bin/env python3
"""Change events from other systems against the real triaged: CloudEvents
(structured, batch, binary) carrying CDEvents and a mapped type, AWS Health,
GitHub deployment_status with its signature, redeliveries, the mapping
file's errors, Grafana annotations out (a loopback recorder that checks the
request, down then back), and the deploy/change-events templates rendered
and posted.

usage: change_events_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import calendar
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import yaml

from daemon import Daemon, free_port

TRIAGED = TRIAGECTL = SOURCE = None
SECRET = b"It's a Secret to Everybody"
GRAFANA_TOKEN = "glsa_test_token_0123456789"


def event(name):
    with open(os.path.join(SOURCE, "tests", "events", name), "rb") as f:
        return f.read()


def structured(cdevent, ce_id, ce_type, subject):
    return {"specversion": "1.0", "id": ce_id, "source": "/event/source/123", "type": ce_type,
            "subject": subject, "time": "2023-03-20T14:27:05Z",
            "datacontenttype": "application/json", "data": json.loads(cdevent)}


class GrafanaRecorder:
    """Grafana's POST /api/annotations on loopback: checks each request's
    schema and token, records the bodies; stop() and start() take it down
    and bring it back on the same port."""

    def __init__(self):
        self.port = free_port()
        self.bodies = []
        self.problems = []
        self.server = None

    def start(self):
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problem = rec.check(self.path, self.headers, body)
                if problem:
                    rec.problems.append(problem)
                    self.send_response(400)
                    self.end_headers()
                    return
                rec.bodies.append(json.loads(body))
                reply = json.dumps({"message": "Annotation added", "id": len(rec.bodies)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def check(path, headers, body):
        if path != "/api/annotations":
            return f"path {path}"
        if headers.get("Authorization") != f"Bearer {GRAFANA_TOKEN}":
            return "no service-account token"
        if not headers.get("Content-Type", "").startswith("application/json"):
            return f"content type {headers.get('Content-Type')}"
        try:
            a = json.loads(body)
        except ValueError as e:
            return f"not JSON: {e}"
        if set(a) != {"time", "tags", "text"}:
            return f"fields {sorted(a)}"
        if not isinstance(a["time"], int) or a["time"] < 10**12:
            return f"time {a['time']!r} is not epoch milliseconds"
        if (not isinstance(a["tags"], list) or len(a["tags"]) != 3 or a["tags"][0] != "triage"
                or not all(isinstance(t, str) and t for t in a["tags"])):
            return f"tags {a['tags']!r}"
        if not isinstance(a["text"], str) or not a["text"]:
            return "no text"
        return None

    def wait_for(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.bodies) < n:
            time.sleep(0.05)
        return self.bodies


class ChangeEventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="triage-events-")
        cls.secret = os.path.join(cls.work, "github-secret")
        with open(cls.secret, "wb") as f:
            f.write(SECRET + b"\n")
        cls.token = os.path.join(cls.work, "grafana-token")
        with open(cls.token, "w") as f:
            f.write(GRAFANA_TOKEN + "\n")
        cls.sources = os.path.join(SOURCE, "deploy", "change-events", "change-sources.yml")
        cls.grafana = GrafanaRecorder().start()
        cls.d = Daemon(TRIAGED, args=[
            "--change-sources-file", cls.sources, "--github-secret-file", cls.secret,
            "--grafana-url", f"http://127.0.0.1:{cls.grafana.port}/",
            "--grafana-token-file", cls.token]).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.grafana.stop()

    def post(self, path, body, headers):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        status, reply = self.d.request("POST", path, body, headers)
        return status, json.loads(reply) if reply else None

    def cloud(self, body, content_type="application/cloudevents+json", headers=None):
        return self.post("/api/v1/cloudevents", body, {"Content-Type": content_type, **(headers or {})})

    def changes(self, service, end="2026-12-15T00:00:00Z", window="35d"):
        status, r = self.d.post_json("/triage.v1.OverlayService/GetOverlay",
                                     {"service": service, "metric": "m", "window": window,
                                      "end": end, "max_other_changes": -1})
        self.assertEqual(status, 200, r)
        return [c for c in r.get("changes", []) if c["service"] == service]

    def github(self, body, delivery, event="deployment_status", signature=None):
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
                   "X-GitHub-Delivery": delivery}
        if signature is None:
            signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if signature:
            headers["X-Hub-Signature-256"] = signature
        return self.post("/api/v1/github", body, headers)

    def test_cdevents_in_every_mode_and_redelivered(self):
        deployed = event("cdevents-service-deployed-0.4.1.json")
        rolledback = event("cdevents-service-rolledback-0.5.1.json")
        s, r = self.cloud(structured(deployed, "cd-1", "dev.cdevents.service.deployed.0.2.0",
                                     "mySubject123"))
        self.assertEqual((s, r["accepted"]["change"]), (200, 1), r)
        # The same CDEvent in binary mode: the same source and id, so the same change.
        s, r = self.cloud(deployed, "application/json; charset=utf-8", {
            "ce-specversion": "1.0", "ce-type": "dev.cdevents.service.deployed.0.2.0",
            "ce-source": "/event/source/123", "ce-id": "cd-1", "ce-subject": "mySubject123",
            "ce-time": "2023-03-20T14:27:05Z"})
        self.assertEqual((s, r["accepted"]["duplicate"], r["accepted"]["change"]), (200, 1, 0), r)
        # A batch: a new rollback (v0.5), the first event again, an event triage does not keep.
        batch = [structured(rolledback, "cd-2", "dev.cdevents.service.rolledback.0.3.0",
                            "/apps/prod/reranker"),
                 structured(deployed, "cd-1", "dev.cdevents.service.deployed.0.2.0",
                            "mySubject123"),
                 {"specversion": "1.0", "id": "x-1", "source": "/ci", "type": "dev.cdevents.pipelinerun.finished.0.2.0"}]
        s, r = self.cloud(batch, "application/cloudevents-batch+json")
        self.assertEqual(s, 200, r)
        self.assertEqual({k: r["accepted"][k] for k in ("change", "duplicate", "ignored")},
                         {"change": 1, "duplicate": 1, "ignored": 1}, r)
        self.assertIn("events[2]", r["ignored"][0])
        s, r = self.cloud(batch, "application/cloudevents-batch+json")
        self.assertEqual(r["accepted"]["duplicate"], 2, r)

        [mine] = self.changes("mySubject123", end="2023-04-01T00:00:00Z")
        self.assertEqual((mine["kind"], mine["origin"]), ("code_deploy", "cdevents"))
        self.assertTrue(mine["version"].startswith("pkg:oci/myapp@sha256"), mine)
        self.assertEqual(mine["time"], "2023-03-20T14:27:05.315Z")
        # subject.id /apps/prod/reranker -> reranker
        [back] = [c for c in self.changes("reranker", end="2023-04-01T00:00:00Z") if c["origin"] == "cdevents"]
        self.assertTrue(back["summary"].startswith("rollback: rolled back to pkg:oci/reranker@"), back)

    def test_a_mapped_cloudevent_type_and_refusals(self):
        ce = {"specversion": "1.0", "id": "flag-7", "source": "https://flags.example.com",
              "type": "com.example.flags.changed", "time": "2026-11-20T08:00:00Z",
              "data": {"service": "ranker-flags", "flag": "new_scoring=on", "user": "kim",
                       "description": "turn on new scoring"}}
        s, r = self.cloud(ce)
        self.assertEqual((s, r["accepted"]["change"]), (200, 1), r)
        [c] = self.changes("ranker-flags")
        self.assertEqual((c["kind"], c["version"], c["actor"], c["summary"], c["origin"], c["url"]),
                         ("config", "new_scoring=on", "kim", "turn on new scoring", "cloudevents",
                          "https://flags.example.com"))
        del ce["data"]["service"]
        ce["id"] = "flag-8"
        s, r = self.cloud(ce)
        self.assertEqual(s, 400, r)
        self.assertIn("event.data.service: required by the mapping", r["message"])
        # Neither a CloudEvents type nor binary-mode headers: 415, and nothing stored.
        s, r = self.post("/api/v1/cloudevents", b"{}", {"Content-Type": "text/plain"})
        self.assertEqual(s, 415, r)
        s, r = self.cloud(b'{"specversion":"1.0",', "application/cloudevents+json")
        self.assertEqual(s, 400, r)
        s, r = self.cloud(b"<e/>", "application/cloudevents+xml")
        self.assertEqual(s, 415, r)
        self.assertEqual(len(self.changes("ranker-flags")), 1)

    def test_aws_health_events(self):
        ec2 = event("aws-health-ec2-operational-issue.json")
        s, r = self.post("/api/v1/aws-health", ec2, {"Content-Type": "application/json"})
        self.assertEqual((s, r["accepted"]["change"]), (200, 1), r)
        s, r = self.post("/api/v1/aws-health", ec2, {"Content-Type": "application/json"})
        self.assertEqual(r["accepted"]["duplicate"], 1, r)
        [c] = self.changes("ec2", end="2023-02-01T00:00:00Z")
        self.assertEqual((c["kind"], c["time"], c["origin"]),
                         ("managed_service", "2023-01-27T06:02:51Z", "aws_health"))

        # A scheduled change on a mapped service appears at its start time; a
        # new status for it updates that change, not a second one.
        bedrock = event("aws-health-bedrock-scheduled-change.json")
        s, r = self.post("/api/v1/aws-health", bedrock, {"Content-Type": "application/json"})
        self.assertEqual((s, r["accepted"]["change"]), (200, 1), r)
        opened = bedrock.replace(b'"upcoming"', b'"open"')
        s, r = self.post("/api/v1/aws-health", opened, {"Content-Type": "application/json"})
        self.assertEqual(r["accepted"]["updated"], 1, r)
        s, r = self.post("/api/v1/aws-health", opened, {"Content-Type": "application/json"})
        self.assertEqual(r["accepted"]["duplicate"], 1, r)
        [b] = self.changes("bedrock")
        self.assertEqual(b["time"], "2026-12-01T16:00:00Z")
        self.assertTrue(b["summary"].startswith("[open] scheduledChange"), b)

        s, r = self.post("/api/v1/aws-health", b'{"source":"aws.ec2","detail-type":"x"}',
                         {"Content-Type": "application/json"})
        self.assertEqual(s, 400, r)
        self.assertIn('source: "aws.ec2" is not aws.health', r["errors"])

    def test_github_deployment_status_and_its_signature(self):
        body = event("github-deployment-status.json").replace(
            b'"full_name": "Codertocat/Hello-World"', b'"full_name": "example/reranker"')
        # Bad and missing signatures: 401, nothing stored.
        s, r = self.github(body, "gh-1", signature="sha256=" + "0" * 64)
        self.assertEqual(s, 401, r)
        s, r = self.github(body, "gh-1", signature="")
        self.assertEqual(s, 401, r)
        self.assertEqual([c for c in self.changes("reranker", end="2019-06-01T00:00:00Z")], [])
        s, r = self.github(body, "gh-1")
        self.assertEqual((s, r["accepted"]["change"]), (200, 1), r)
        s, r = self.github(body, "gh-1")  # GitHub's "Redeliver".
        self.assertEqual(r["accepted"]["duplicate"], 1, r)
        [c] = self.changes("reranker", end="2019-06-01T00:00:00Z")
        self.assertEqual((c["kind"], c["version"], c["actor"], c["origin"], c["url"]),
                         ("code_deploy", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "Codertocat",
                          "github", "https://github.com/Codertocat/Hello-World/actions/runs/1"))
        self.assertIn("to production", c["summary"])
        s, r = self.github(b'{"zen":"Design for failure."}', "gh-2", event="ping")
        self.assertEqual((s, r["accepted"]["ignored"]), (200, 1), r)
        failed = body.replace(b'"state": "success"', b'"state": "failure"')
        s, r = self.github(failed, "gh-3")
        self.assertEqual((s, r["accepted"]["ignored"]), (200, 1), r)
        s, metrics = self.d.request("GET", "/metrics")
        self.assertIn(b'triage_auth_failures_total{reason="github_signature"} 2', metrics)
        self.assertIn(b'triage_change_events_total{origin="github",result="duplicate"} 1', metrics)
        # The newest change by kind and way in, also after a restart (v1.2, change feeds).
        feed = ('triage_change_feed_last_event_timestamp_seconds{kind="code_deploy",origin="github"} %d'
                % calendar.timegm(time.strptime(c["time"][:19], "%Y-%m-%dT%H:%M:%S"))).encode()
        self.assertIn(feed, metrics)
        self.d.kill9()
        self.d.start()
        s, metrics = self.d.request("GET", "/metrics")
        self.assertIn(feed, metrics)

    def test_grafana_gets_each_new_change_once_in_order_and_waits_when_down(self):
        def api_change(i, t):
            return self.d.post_json("/api/v1/changes", {
                "id": f"graf-{i}", "kind": "config", "service": "grafana-check", "version": f"v{i}",
                "actor": "ci", "summary": f"step {i}", "url": "https://ci.example.com/1",
                "time": t})

        # Annotations of the other tests' changes may still be on their way:
        # count from an empty queue.
        deadline = time.time() + 30
        while time.time() < deadline and \
                b"triage_annotation_queue_depth 0" not in self.d.request("GET", "/metrics")[1]:
            time.sleep(0.05)
        start = len(self.grafana.wait_for(0))
        s, r = api_change(1, "2026-11-29T10:00:00Z")
        self.assertEqual(s, 200, r)
        bodies = self.grafana.wait_for(start + 1)
        mine = [b for b in bodies if "grafana-check" in b["tags"]]
        self.assertEqual(len(mine), 1, bodies)
        self.assertEqual(mine[0]["tags"], ["triage", "config", "grafana-check"])
        self.assertEqual(mine[0]["time"], 1795946400000)
        for want in ("v1", "step 1", "by ci", "https://ci.example.com/1"):
            self.assertIn(want, mine[0]["text"])

        # Grafana goes away: changes wait in the queue; it comes back: each
        # arrives once, in the order written.
        self.grafana.stop()
        for i in range(2, 6):
            s, r = api_change(i, f"2026-11-29T10:0{i}:00Z")
            self.assertEqual(s, 200, r)
        api_change(3, "2026-11-29T10:03:00Z")  # A known id: not annotated again.
        time.sleep(1.5)
        s, metrics = self.d.request("GET", "/metrics")
        depth = re.search(rb"triage_annotation_queue_depth (\d+)", metrics)
        self.assertGreaterEqual(int(depth.group(1)), 1, metrics)
        self.grafana.start()
        deadline = time.time() + 40
        while time.time() < deadline:
            mine = [b for b in self.grafana.bodies if "grafana-check" in b["tags"]]
            if len(mine) >= 5:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        mine = [b for b in self.grafana.bodies if "grafana-check" in b["tags"]]
        self.assertEqual([m["text"].split("\n")[0] for m in mine],
                         [f"config on grafana-check: v{i}" for i in range(1, 6)])

        # The queue is in the store: a change acknowledged while Grafana is
        # down survives kill -9 and is delivered after the restart.
        self.grafana.stop()
        s, r = api_change(6, "2026-11-29T10:06:00Z")
        self.assertEqual(s, 200, r)
        self.d.kill9()
        self.grafana.start()
        self.d.start()
        deadline = time.time() + 30
        while time.time() < deadline and len(
                [b for b in self.grafana.bodies if "grafana-check" in b["tags"]]) < 6:
            time.sleep(0.1)
        time.sleep(0.5)
        mine = [b for b in self.grafana.bodies if "grafana-check" in b["tags"]]
        self.assertEqual(len(mine), 6, mine)
        self.assertIn("v6", mine[5]["text"])
        self.assertEqual(self.grafana.problems, [])

    def test_a_mapping_with_an_unknown_kind_is_refused_at_start_with_its_line(self):
        bad = os.path.join(self.work, "bad-sources.yml")
        with open(bad, "w") as f:
            f.write("aws_health:\n  services: {ES: opensearch}\ncloudevents:\n"
                    "  - type: com.example.x\n    kind: deployment\n")
        d = tempfile.mkdtemp(prefix="triaged-bad-")
        p = subprocess.run([TRIAGED, "--data-dir", d, "--grpc-addr", "127.0.0.1:0",
                            "--http-addr", "127.0.0.1:0", "--change-sources-file", bad],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{bad}:5: unknown change kind \"deployment\"", p.stderr)
        p = subprocess.run([TRIAGECTL, "check", "change-sources", bad], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{bad}:5: unknown change kind", p.stderr)
        p = subprocess.run([TRIAGECTL, "check", "change-sources", self.sources],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("SUCCESS", p.stdout)


def render_go_template(text, data):
    """The part of Go's text/template the Argo CD template uses: {{.a.b}}."""
    def value(m):
        v = data
        for key in m.group(1).split("."):
            if not isinstance(v, dict) or key not in v:
                raise KeyError(f"{m.group(0)}: no {key}")
            v = v[key]
        return str(v)
    return re.sub(r"\{\{\s*\.([A-Za-z0-9_.]+)\s*\}\}", value, text)


def render_actions_expressions(text, context):
    """GitHub Actions' ${{ a.b }} expressions, from a context of dotted names."""
    return re.sub(r"\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}", lambda m: context[m.group(1)], text)


class TemplatesTest(unittest.TestCase):
    """deploy/change-events: each template rendered as its system would, and
    posted to a triaged that asks for a bearer token with the ingest role."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="triage-templates-")
        config = os.path.join(cls.work, "web.yml")
        with open(config, "w") as f:
            f.write("bearer_tokens:\n"
                    f"  - name: ci\n    sha256: {hashlib.sha256(b'ci-token').hexdigest()}\n"
                    "    roles: [ingest]\n"
                    f"  - name: reader\n    sha256: {hashlib.sha256(b'reader').hexdigest()}\n"
                    "    roles: [read]\n")
        cls.d = Daemon(TRIAGED, args=["--web-config-file", config]).start()
        cls.dir = os.path.join(SOURCE, "deploy", "change-events")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def change(self, service):
        status, body = self.d.request(
            "POST", "/triage.v1.OverlayService/GetOverlay",
            json.dumps({"service": service, "metric": "m", "window": "35d",
                        "end": "2026-12-15T00:00:00Z"}).encode(),
            {"Content-Type": "application/json", "Authorization": "Bearer reader"})
        self.assertEqual(status, 200, body)
        return [c for c in json.loads(body).get("changes", []) if c["service"] == service]

    def test_argocd_notifications_template(self):
        with open(os.path.join(self.dir, "argocd-notifications-cm.yaml")) as f:
            cm = yaml.safe_load(f)["data"]
        service = yaml.safe_load(cm["service.webhook.triage"])
        hook = yaml.safe_load(cm["template.triage-change"])["webhook"]["triage"]
        trigger = yaml.safe_load(cm["trigger.on-deployed-triage"])
        self.assertEqual(trigger[0]["send"], ["triage-change"])
        app = {"metadata": {"name": "reranker", "namespace": "argocd"},
               "spec": {"destination": {"namespace": "ml-prod"}},
               "status": {"sync": {"revision": "9f8e7d6"}, "health": {"status": "Healthy"},
                          "operationState": {"phase": "Succeeded",
                                             "startedAt": "2026-11-20T09:59:00Z",
                                             "finishedAt": "2026-11-20T10:00:00Z",
                                             "syncResult": {"revision": "9f8e7d6"}}}}
        context = yaml.safe_load(cm["context"])
        body = render_go_template(hook["body"], {"app": app, "context": context})
        headers = {h["name"]: h["value"].replace("$triage-token", "ci-token")
                   for h in service["headers"]}
        self.assertEqual(hook["method"], "POST")
        status, reply = self.d.request("POST", hook["path"], body.encode(), headers)
        self.assertEqual(status, 200, reply)
        status, _ = self.d.request("POST", hook["path"], body.encode(), headers)  # Sent twice.
        [c] = self.change("reranker")
        self.assertEqual((c["kind"], c["version"], c["time"], c["actor"], c["origin"]),
                         ("code_deploy", "9f8e7d6", "2026-11-20T10:00:00Z", "argocd", "api"))
        self.assertEqual(c["url"], "https://argocd.example.com/applications/reranker")

    def run_script(self, shell, script, env):
        p = subprocess.run([shell, "-c", script], env={**os.environ, **env}, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_github_actions_step(self):
        with open(os.path.join(self.dir, "github-actions-step.yml")) as f:
            [step] = yaml.safe_load(f)
        context = {"vars.TRIAGE_URL": f"http://127.0.0.1:{self.d.http_port}",
                   "vars.TRIAGE_SERVICE": "feature-store", "secrets.TRIAGE_TOKEN": "ci-token",
                   "github.repository_id": "186853002", "github.run_id": "7001",
                   "github.run_attempt": "1", "github.sha": "f95f852bd8fc",
                   "github.actor": "octocat", "github.workflow": "deploy",
                   "github.ref_name": "main", "github.server_url": "https://github.com",
                   "github.repository": "example/feature-store"}
        env = {k: render_actions_expressions(v, context) for k, v in step["env"].items()}
        self.assertEqual(step["shell"], "bash")
        out = self.run_script("bash", step["run"], env)
        self.assertIn('"change":1', out.replace(" ", ""))
        [c] = self.change("feature-store")
        self.assertEqual((c["id"], c["version"], c["actor"], c["source"]),
                         ("gha-186853002-7001-1", "f95f852bd8fc", "octocat", "github-actions"))
        # Without the token the step's request is refused (and says so).
        env["TRIAGE_TOKEN"] = ""
        p = subprocess.run(["bash", "-c", step["run"]], env={**os.environ, **env},
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("unauthenticated", p.stdout + p.stderr)

    def test_gitlab_ci_job(self):
        with open(os.path.join(self.dir, "gitlab-ci-job.yml")) as f:
            job = yaml.safe_load(f)["triage-change"]
        env = {"TRIAGE_URL": f"http://127.0.0.1:{self.d.http_port}", "TRIAGE_TOKEN": "ci-token",
               "TRIAGE_SERVICE": "embedder", "CI_PROJECT_ID": "42", "CI_PIPELINE_ID": "9001",
               "CI_COMMIT_SHA": "0a1b2c3d", "GITLAB_USER_LOGIN": "kim",
               "CI_COMMIT_REF_NAME": "main",
               "CI_PIPELINE_URL": "https://gitlab.example.com/ml/embedder/-/pipelines/9001"}
        # GitLab runs the script lines in one shell (sh in the curl image).
        self.run_script("sh", "set -e\n" + "\n".join(job["script"]), env)
        [c] = self.change("embedder")
        self.assertEqual((c["id"], c["version"], c["actor"], c["url"]),
                         ("gitlab-42-9001", "0a1b2c3d", "kim",
                          "https://gitlab.example.com/ml/embedder/-/pipelines/9001"))


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:])
