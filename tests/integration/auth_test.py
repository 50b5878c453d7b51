#!/usr/bin/env python3
"""Who may do what, against the real triaged: the role table (every RPC and
HTTP path x every role), TLS and credentials with triagectl, safe defaults,
SIGHUP reloads and secrets that never leak. Certificates and secrets come
from deploy/prometheus/secure/setup.sh. The real peers (prometheus,
prometheus-alertmanager) are in auth_peers_test.py, on these helpers.

usage: auth_test.py TRIAGED TRIAGECTL SOURCE_DIR
"""
import base64
import crypt
import gzip
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc

from daemon import Daemon, free_port, protos

TRIAGED = TRIAGECTL = SOURCE = None
AM_BIN = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

# The role table as documented (README): every RPC, every HTTP path.
EXPECTED = {
    "/triage.v1.IngestService/WriteChanges": "ingest",
    "/triage.v1.IngestService/WriteSeries": "ingest",
    "/triage.v1.IngestService/WriteHistograms": "ingest",
    "/triage.v1.IngestService/WriteUpstreams": "ingest",
    "/triage.v1.IngestService/WriteEvalSets": "ingest",
    "/triage.v1.IngestService/WriteDependencyHealth": "ingest",
    "/triage.v1.IngestService/WriteDependencies": "ingest",
    "/triage.v1.IngestService/IngestBundle": "ingest",
    "/triage.v1.TriageService/Triage": "read",
    "/triage.v1.TriageService/GetIncident": "read",
    "/triage.v1.TriageService/ListIncidents": "read",
    "/triage.v1.TriageService/ResolveIncident": "operate",
    "/triage.v1.TriageService/ExportIncident": "read",
    "/triage.v1.OverlayService/GetOverlay": "read",
    "/triage.v1.OverlayService/GetVocabulary": "read",
    "/triage.v1.RulesService/GetTree": "read",
    "/triage.v1.RulesService/CheckTree": "read",
    "/triage.v1.RulesService/ReloadTree": "admin",
    "/triage.v1.DrillService/StartDrill": "operate",
    "/triage.v1.DrillService/OpenCategory": "operate",
    "/triage.v1.DrillService/Answer": "operate",
    "/triage.v1.DrillService/GetDrill": "read",
    "/triage.v1.DrillService/DrillReport": "read",
}
HTTP_PATHS = {
    ("POST", "/api/v1/write"): "ingest",
    ("POST", "/api/v1/bundle"): "ingest",
    ("POST", "/api/v1/changes"): "ingest",
    ("POST", "/api/v1/alerts"): "ingest",
    ("GET", "/metrics"): "read",
    ("GET", "/"): "read",
    ("GET", "/app.js"): "read",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
}
ROLES = ["ingest", "read", "operate", "admin"]
GRANTS = {"ingest": {"ingest"}, "read": {"read"}, "operate": {"read", "operate"},
          "admin": {"ingest", "read", "operate", "admin"}}


def bcrypt(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def secured(dir_):
    """A secured deployment (setup.sh) in dir_; returns {secret name: value}."""
    subprocess.run(["bash", os.path.join(SOURCE, "deploy", "prometheus", "secure", "setup.sh"), dir_],
                   check=True, capture_output=True)
    out = {}
    for name in os.listdir(os.path.join(dir_, "secrets")):
        with open(os.path.join(dir_, "secrets", name)) as f:
            out[name] = f.read().strip()
    return out


def https(port, method, path, body=b"", headers=None, ca=None, cert=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(*cert)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


class RoleTableTest(unittest.TestCase):
    """Every RPC and HTTP path x every role: allowed, or 403; 401 without credentials."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="roles-")
        cls.users = {role: f"{role}-pw" for role in ROLES}
        lines = ["basic_auth_users:"] + [f"  u-{r}: {bcrypt(p)}" for r, p in cls.users.items()]
        lines += [f"  everyone: {bcrypt('all-pw')}", "user_roles:"]
        lines += [f"  u-{r}: [{r}]" for r in ROLES]
        lines += ["bearer_tokens:", "  - name: ci", f"    sha256: {hashlib.sha256(b'ci-token').hexdigest()}",
                  "    roles: [ingest]"]
        cls.config = os.path.join(cls.work, "web.yml")
        with open(cls.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        cls.d = Daemon(TRIAGED, args=["--web-config-file", cls.config]).start()
        cls.pb = protos(SOURCE)

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def http(self, method, path, auth=None, body=b"{}", content_type="application/json"):
        headers = {"Content-Type": content_type} if method == "POST" else {}
        if auth:
            headers["Authorization"] = auth
        conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=60)
        try:
            conn.request(method, path, body=body if method == "POST" else None, headers=headers)
            r = conn.getresponse()
            return r.status, r.read(), dict(r.getheaders())
        finally:
            conn.close()

    def test_every_rpc_over_http_for_every_role(self):
        for path, needed in EXPECTED.items():
            if path.endswith("IngestBundle"):
                continue  # Client-streaming: gRPC only.
            status, body, headers = self.http("POST", path)
            self.assertEqual(status, 401, path)
            self.assertIn("Basic realm=\"triage\"", headers.get("WWW-Authenticate", ""))
            for role in ROLES + ["everyone"]:
                user, pw = (f"u-{role}", self.users[role]) if role != "everyone" else ("everyone", "all-pw")
                status, body, _ = self.http("POST", path, basic(user, pw))
                allowed = role == "everyone" or needed in GRANTS[role]
                if allowed:
                    self.assertNotIn(status, (401, 403), f"{path} as {role}: {body[:200]}")
                else:
                    self.assertEqual(status, 403, f"{path} as {role}")
                    self.assertEqual(json.loads(body)["code"], "permission_denied")

    def test_every_rpc_over_grpc_for_every_role(self):
        channel = grpc.insecure_channel(self.d.grpc_addr)
        for path, needed in EXPECTED.items():
            for role in ROLES + ["everyone", None]:
                if role is None:
                    md = []
                else:
                    user, pw = (f"u-{role}", self.users[role]) if role != "everyone" else ("everyone", "all-pw")
                    md = [("authorization", basic(user, pw))]
                if path.endswith("IngestBundle"):
                    call = channel.stream_unary(path, request_serializer=lambda b: b,
                                                response_deserializer=lambda b: b)
                    args = (iter([]),)
                else:
                    call = channel.unary_unary(path, request_serializer=lambda b: b,
                                               response_deserializer=lambda b: b)
                    args = (b"",)
                try:
                    call(*args, metadata=md, timeout=60)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as e:
                    code = e.code()
                if role is None:
                    self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED, path)
                elif role == "everyone" or needed in GRANTS[role]:
                    self.assertNotIn(code, (grpc.StatusCode.UNAUTHENTICATED,
                                            grpc.StatusCode.PERMISSION_DENIED), f"{path} as {role}")
                else:
                    self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED, f"{path} as {role}")
        channel.close()

    def test_every_http_path_for_every_role(self):
        for (method, path), needed in HTTP_PATHS.items():
            body = b"" if path == "/api/v1/write" else b"{}"
            ctype = "application/x-protobuf" if path == "/api/v1/write" else "application/json"
            status, _, headers = self.http(method, path, None, body, ctype)
            self.assertEqual(status == 401, needed != "public", (method, path, status))
            for role in ROLES:
                status, reply, _ = self.http(method, path, basic(f"u-{role}", self.users[role]), body, ctype)
                if needed == "public" or needed in GRANTS[role]:
                    self.assertNotIn(status, (401, 403), (method, path, role, reply[:200]))
                else:
                    self.assertEqual(status, 403, (method, path, role))
        # A token with the ingest role: writes yes, reads no.
        status, _, _ = self.http("POST", "/api/v1/changes", "Bearer ci-token",
                                 b'{"kind":"config","service":"svc"}')
        self.assertEqual(status, 200)
        self.assertEqual(self.http("GET", "/metrics", "Bearer ci-token")[0], 403)
        self.assertEqual(self.http("GET", "/metrics", "Bearer not-a-token")[0], 401)

    def test_secrets_never_leak_into_logs_metrics_or_errors(self):
        status, body, _ = self.http("GET", "/metrics", basic("u-read", "wrong-secret-777"))
        self.assertEqual(status, 401)
        status, body, _ = self.http("GET", "/metrics", "Bearer leaked-token-555")
        self.assertEqual(status, 401)
        self.assertNotIn(b"leaked-token-555", body)
        status, metrics, _ = self.http("GET", "/metrics", basic("u-read", self.users["read"]))
        self.assertEqual(status, 200)
        self.assertIn(b'triage_auth_failures_total{reason="wrong_password"}', metrics)
        for secret in [b"wrong-secret-777", b"leaked-token-555", b"read-pw", b"ci-token"]:
            self.assertNotIn(secret, metrics)
            self.assertNotIn(secret, self.d.read_log().encode())


class TlsTest(unittest.TestCase):
    """TLS on both ports; triagectl with every kind of credential; mutual TLS."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="secure-")
        cls.secrets = secured(cls.dir)
        cls.ca = os.path.join(cls.dir, "tls", "ca.crt")
        cls.d = Daemon(TRIAGED, args=["--web-config-file", os.path.join(cls.dir, "triage-web.yml")],
                       ready=False).start()
        cls.wait_ready(cls.d, cls.ca)

    @staticmethod
    def wait_ready(d, ca):
        for _ in range(200):
            try:
                if https(d.http_port, "GET", "/readyz", ca=ca)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("not ready over TLS: " + d.read_log())

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0

    def ctl(self, *args, creds=()):
        return subprocess.run([TRIAGECTL, "--server", self.d.grpc_addr, *creds, *args],
                              capture_output=True, text=True, timeout=120)

    def secret_file(self, name, value=None):
        path = os.path.join(self.dir, "secrets", name)
        if value is not None:
            with open(path, "w") as f:
                f.write(value)
        return path

    def test_triagectl_with_each_credential_kind(self):
        oncall = ["--ca-file", self.ca, "--user", "oncall", "--password-file", self.secret_file("oncall-password")]
        r = self.ctl("incidents", creds=oncall)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = ["--ca-file", self.ca, "--token-file", self.secret_file("prometheus-token")]
        r = self.ctl("change", "add", "--kind", "config", "--service", "svc", "--id", "tok-1", creds=token)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Wrong password, unknown token, wrong role: refused with what went wrong.
        wrong = ["--ca-file", self.ca, "--user", "oncall", "--password-file", self.secret_file("wrong", "nope")]
        r = self.ctl("incidents", creds=wrong)
        self.assertEqual(r.returncode, 2)
        self.assertIn("wrong user name or password", r.stderr)
        r = self.ctl("incidents", creds=["--ca-file", self.ca, "--token-file", self.secret_file("bad-token", "x")])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown bearer token", r.stderr)
        am = ["--ca-file", self.ca, "--user", "alertmanager", "--password-file",
              self.secret_file("alertmanager-to-triaged")]
        r = self.ctl("incidents", creds=am)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs the read role", r.stderr)
        # No TLS when TLS is required: nothing gets through.
        r = self.ctl("incidents", creds=["--user", "oncall", "--password-file", self.secret_file("oncall-password")])
        self.assertEqual(r.returncode, 3, r.stderr)
        # Tests only: skip the certificate check.
        r = self.ctl("incidents", creds=["--insecure-skip-verify", "--user", "oncall", "--password-file",
                                         self.secret_file("oncall-password")])
        self.assertEqual(r.returncode, 0, r.stderr)
        # HTTP: plain HTTP on the TLS port gets no answer.
        status, _ = self.d.get("/healthz")
        self.assertEqual(status, 0)
        status, _, _ = https(self.d.http_port, "GET", "/metrics", ca=self.ca,
                             headers={"Authorization": "Bearer " + self.secrets["prometheus-token"]})
        self.assertEqual(status, 200)

    def hup(self):
        """SIGHUP, then wait for the reload to be logged (bcrypt checks take a moment)."""
        before = self.d.read_log().count("SIGHUP:")
        self.d.proc.send_signal(signal.SIGHUP)
        for _ in range(300):
            if self.d.read_log().count("SIGHUP:") > before:
                return
            time.sleep(0.02)
        raise AssertionError("no reload: " + self.d.read_log())

    def test_sighup_reloads_users_and_tokens_without_dropping_connections(self):
        web = os.path.join(self.dir, "triage-web.yml")
        with open(web) as f:
            original = f.read()
        ctx = ssl.create_default_context(cafile=self.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.d.http_port, context=ctx, timeout=30)
        auth = {"Authorization": basic("oncall", self.secrets["oncall-password"])}
        conn.request("GET", "/metrics", headers=auth)
        self.assertEqual(conn.getresponse().read() and 200, 200)
        try:
            expired = hashlib.sha256(b"old-token").hexdigest()
            with open(web, "a") as f:
                f.write(f"  - name: old\n    sha256: {expired}\n    roles: [read]\n"
                        "    expires: 2020-01-01T00:00:00Z\n")
            self.hup()
            conn.request("GET", "/metrics", headers=auth)  # Same connection.
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            status, body, _ = https(self.d.http_port, "GET", "/metrics", ca=self.ca,
                                    headers={"Authorization": "Bearer old-token"})
            self.assertEqual(status, 401)
            self.assertIn(b"expired", body)
            r = self.ctl("incidents", creds=["--ca-file", self.ca, "--token-file",
                                             self.secret_file("old", "old-token")])
            self.assertEqual(r.returncode, 2)
            self.assertIn("expired", r.stderr)
            # A broken file keeps the config in force.
            with open(web, "w") as f:
                f.write("nonsense: [\n")
            self.hup()
            conn.request("GET", "/metrics", headers=auth)
            r = conn.getresponse()
            self.assertIn(b"triage_web_config_last_reload_successful 0", r.read())
        finally:
            conn.close()
            with open(web, "w") as f:
                f.write(original)
            self.hup()

    def test_mutual_tls(self):
        t = os.path.join(self.dir, "tls")
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{t}/client.key",
                        "-out", f"{t}/client.csr", "-subj", "/CN=oncall-laptop"], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", f"{t}/client.csr", "-CA", f"{t}/ca.crt",
                        "-CAkey", f"{t}/ca.key", "-CAcreateserial", "-out", f"{t}/client.crt",
                        "-days", "1"], check=True, capture_output=True)
        web = os.path.join(self.dir, "mtls-web.yml")
        with open(os.path.join(self.dir, "triage-web.yml")) as f:
            text = f.read()
        text = text.replace("  min_version: TLS12\n", "  min_version: TLS12\n  client_ca_file: tls/ca.crt\n"
                            "  client_auth_type: RequireAndVerifyClientCert\n")
        with open(web, "w") as f:
            f.write(text)
        d = Daemon(TRIAGED, args=["--web-config-file", web], ready=False).start()
        try:
            client = (f"{t}/client.crt", f"{t}/client.key")
            for _ in range(200):
                try:
                    if https(d.http_port, "GET", "/readyz", ca=self.ca, cert=client)[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                https(d.http_port, "GET", "/readyz", ca=self.ca)
            creds = ["--ca-file", self.ca, "--user", "oncall", "--password-file",
                     self.secret_file("oncall-password")]
            base = [TRIAGECTL, "--server", d.grpc_addr, *creds]
            r = subprocess.run(base + ["incidents"], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0, "no client certificate must be refused")
            r = subprocess.run(base + ["--cert-file", client[0], "--key-file", client[1], "incidents"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            self.assertEqual(d.stop(), 0)


class SafeDefaultsTest(unittest.TestCase):
    def test_no_web_config_means_loopback_only(self):
        d = tempfile.mkdtemp()
        r = subprocess.run([TRIAGED, "--data-dir", d, "--http-addr", "0.0.0.0:0", "--grpc-addr", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("refusing to serve 0.0.0.0:0 without --web-config-file", r.stderr)
        proc = subprocess.Popen([TRIAGED, "--data-dir", d, "--http-addr", "0.0.0.0:0", "--grpc-addr",
                                 "127.0.0.1:0", "--insecure-listen-any"], stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(200):
                if os.path.exists(os.path.join(d, "ports.json")):
                    break
                time.sleep(0.05)
            with open(os.path.join(d, "ports.json")) as f:
                port = json.load(f)["http"]
            time.sleep(0.2)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/metrics")
            self.assertIn(b"triage_insecure_listen 1", conn.getresponse().read())
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        self.assertIn("WARNING: serving 0.0.0.0:0 without TLS or authentication", err)

    def test_browsers_on_other_origins_cannot_change_state(self):
        d = Daemon(TRIAGED, args=["--cors-origin", "https://dash.example.com"]).start()
        try:
            change = b'{"id":"csrf1","kind":"config","service":"x","time":"2026-01-01T00:00:00Z"}'
            # text/plain is what a page sends without a preflight.
            status, body = d.request("POST", "/api/v1/changes", change, {"Content-Type": "text/plain"})
            self.assertEqual(status, 415, body)
            status, body = d.request("POST", "/api/v1/changes", change,
                                     {"Content-Type": "application/json", "Origin": "http://evil.example"})
            self.assertEqual(status, 403, body)
            status, _ = d.request("POST", "/api/v1/changes", change,
                                  {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
            self.assertEqual(status, 403)
            status, _ = d.request("OPTIONS", "/api/v1/changes", b"",
                                  {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
            self.assertEqual(status, 403)
            conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
            conn.request("OPTIONS", "/triage.v1.RulesService/GetTree",
                         headers={"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "https://dash.example.com")
            conn.close()
            status, overlay = d.post_json("/triage.v1.OverlayService/GetOverlay", {
                "service": "x", "metric": "m", "window": "24h", "end": "2026-01-01T12:00:00Z"})
            self.assertEqual(overlay["changes"], [], "nothing was stored")
            # Same origin (or none) works.
            status, _ = d.request("POST", "/api/v1/changes", change, {
                "Content-Type": "application/json", "Origin": f"http://127.0.0.1:{d.http_port}"})
            self.assertEqual(status, 200)
            # The page's security headers; no wildcard CORS anywhere.
            conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=10)
            conn.request("GET", "/")
            r = conn.getresponse()
            r.read()
            self.assertIn("script-src 'self'", r.getheader("Content-Security-Policy"))
            self.assertEqual(r.getheader("X-Content-Type-Options"), "nosniff")
            self.assertEqual(r.getheader("Referrer-Policy"), "no-referrer")
            self.assertIsNone(r.getheader("Access-Control-Allow-Origin"))
            conn.close()
        finally:
            self.assertEqual(d.stop(), 0)

    def test_host_names_from_the_web_config(self):
        work = tempfile.mkdtemp()
        web = os.path.join(work, "web.yml")
        with open(web, "w") as f:
            f.write("allowed_hosts: [triage.example.com, 127.0.0.1]\n")
        d = Daemon(TRIAGED, args=["--web-config-file", web]).start()
        try:
            self.assertEqual(d.request("GET", "/healthz", headers={"Host": "evil.example"})[0], 421)
            self.assertEqual(d.request("GET", "/healthz", headers={"Host": "triage.example.com:7080"})[0], 200)
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    TRIAGED, TRIAGECTL, SOURCE = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    unittest.main(argv=sys.argv[:1], verbosity=2)
