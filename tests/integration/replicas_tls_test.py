#!/usr/bin/env python3
"""Replicas over mutual TLS: two triaged replicas secured by a web config
(deploy/prometheus/secure/setup.sh's CA and certificate, client_ca_file,
VerifyClientCertIfGiven) peer with --peer https://127.0.0.1:PORT, present
the web config's certificate and converge. PeerService.Events refuses a
caller without a verified certificate or the peer role.

usage: replicas_tls_test.py TRIAGED SOURCE_DIR
"""
import json
import os
import sys
import tempfile
import time
import unittest

import grpc

import auth_test
from auth_test import basic, https, secured
from daemon import Daemon, free_port

TRIAGED = None


def web_config(dir_, secrets):
    path = os.path.join(dir_, "replica-web.yml")
    with open(path, "w") as f:
        f.write(f"""tls_server_config:
  cert_file: {dir_}/tls/triage.crt
  key_file: {dir_}/tls/triage.key
  client_ca_file: {dir_}/tls/ca.crt
  client_auth_type: VerifyClientCertIfGiven
basic_auth_users:
  oncall: {auth_test.bcrypt(secrets["oncall-password"])}
user_roles:
  oncall: [operate, ingest]
""")
    return path


class ReplicasOverMtlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="replicas-tls-")
        self.secrets = secured(self.dir)
        self.ca = os.path.join(self.dir, "tls", "ca.crt")
        self.auth = {"Authorization": basic("oncall", self.secrets["oncall-password"]),
                     "Content-Type": "application/json"}
        config = web_config(self.dir, self.secrets)
        ports = [free_port(), free_port()]
        self.ds = []
        for i in range(2):
            args = ["--web-config-file", config, "--grpc-addr", f"127.0.0.1:{ports[i]}",
                    "--peer-position", str(i), "--peer", f"https://127.0.0.1:{ports[1 - i]}",
                    "--peer-repair-interval", "200ms"]
            self.ds.append(Daemon(TRIAGED, args=args, ready=False).start())
        for d in self.ds:
            auth_test.TlsTest.wait_ready(d, self.ca)

    def tearDown(self):
        for d in self.ds:
            self.assertEqual(d.stop(), 0)

    def post(self, d, path, obj):
        status, body, _ = https(d.http_port, "POST", path, json.dumps(obj).encode(), self.auth, ca=self.ca)
        return status, json.loads(body) if body else None

    def change_ids(self, d):
        status, o = self.post(d, "/triage.v1.OverlayService/GetOverlay",
                              {"service": "reranker", "metric": "ndcg_at_10", "window": "7d",
                               "end": "2026-05-05T06:00:00Z"})
        self.assertEqual(status, 200, o)
        return sorted(c["id"] for c in o.get("changes", []))

    def events(self, d, cert=None, metadata=()):
        """PeerService.Events from cursor 0 as a raw stream: (code, batches)."""
        with open(self.ca, "rb") as f:
            ca = f.read()
        key = chain = None
        if cert:
            with open(cert[1], "rb") as f:
                key = f.read()
            with open(cert[0], "rb") as f:
                chain = f.read()
        creds = grpc.ssl_channel_credentials(ca, key, chain)
        with grpc.secure_channel(f"127.0.0.1:{d.grpc_port}", creds) as ch:
            call = ch.unary_stream("/triage.v1.PeerService/Events")
            try:
                return grpc.StatusCode.OK, list(call(b"", timeout=10, metadata=metadata))
            except grpc.RpcError as e:
                return e.code(), []

    def test_replicas_converge_over_mtls_and_others_are_refused(self):
        a, b = self.ds
        for i, d in enumerate((a, b, a)):
            change = {"id": f"tls-{i}", "kind": "config", "service": "reranker",
                      "time": f"2026-05-05T0{i + 1}:00:00Z", "summary": "over mTLS"}
            status, reply = self.post(d, "/api/v1/changes", change)
            self.assertEqual(status, 200, reply)
        want = ["tls-0", "tls-1", "tls-2"]
        deadline = time.time() + 30
        while time.time() < deadline and not (self.change_ids(a) == want and self.change_ids(b) == want):
            time.sleep(0.2)
        self.assertEqual((self.change_ids(a), self.change_ids(b)), (want, want))
        tls = os.path.join(self.dir, "tls")
        code, batches = self.events(a, cert=(f"{tls}/triage.crt", f"{tls}/triage.key"))
        self.assertEqual(code, grpc.StatusCode.OK)
        self.assertGreater(len(batches), 0)
        code, _ = self.events(a)  # TLS, no client certificate, no credentials.
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        code, _ = self.events(a, metadata=(("authorization", self.auth["Authorization"]),))
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED, "operate and ingest are not peer")


if __name__ == "__main__":
    TRIAGED, auth_test.SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
