"""Helpers for integration tests that run the real triaged on loopback ports.

Daemon starts triaged with --grpc-addr/--http-addr on port 0 and reads the
ports it bound from DATA_DIR/ports.json. protos() compiles the project's
protos for Python (protoc --python_out) so tests can speak gRPC from a second
language with Debian's python3-grpcio.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

_PROTO_DIR = None


def protos(source_dir):
    """Imports and returns (records_pb2, report_pb2, tree_pb2, service_pb2, remote_pb2)."""
    global _PROTO_DIR
    if _PROTO_DIR is None:
        _PROTO_DIR = tempfile.mkdtemp(prefix="triage-pb2-")
        proto_root = os.path.join(source_dir, "proto")
        files = sorted(f"triage/v1/{f}" for f in os.listdir(os.path.join(proto_root, "triage", "v1"))
                       if f.endswith(".proto")) + ["prometheus/remote.proto"]
        subprocess.run(["protoc", f"-I{proto_root}", "-I/usr/include", f"--python_out={_PROTO_DIR}",
                        *files], check=True)
        sys.path.insert(0, _PROTO_DIR)
    from triage.v1 import records_pb2, report_pb2, tree_pb2, service_pb2
    from prometheus import remote_pb2
    return records_pb2, report_pb2, tree_pb2, service_pb2, remote_pb2


def public_scenario_count(source_dir):
    """How many recorded incidents there are: those of ../shared/scenarios
    (the shipped copies in deploy/demo/scenarios must cover every one), or,
    on a machine without it, those shipped."""
    shared = os.path.join(source_dir, "..", "shared", "scenarios")
    if not os.path.isdir(shared):
        shared = os.path.join(source_dir, "deploy", "demo", "scenarios")
    return len([f for f in os.listdir(shared) if f.endswith((".jsonl", ".jsonl.gz"))])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snappy_block(data):
    """Encodes `data` as a valid snappy block made only of literals."""
    out = bytearray()
    n = len(data)
    while True:  # Uncompressed length as a varint.
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        m = len(chunk) - 1
        if m < 60:
            out.append(m << 2)
        elif m < 256:
            out += bytes([60 << 2, m])
        else:
            out += bytes([61 << 2, m & 0xFF, m >> 8])
        out += chunk
    return bytes(out)


class Daemon:
    def __init__(self, triaged, data_dir=None, args=(), ready=True):
        """ready=False: start() waits for ports.json only (TLS: the caller checks readiness)."""
        self.triaged = triaged
        self.wait_ready = ready
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="triaged-")
        self.args = list(args)
        self.proc = None
        self.grpc_port = self.http_port = None

    def start(self, timeout=30):
        ports = os.path.join(self.data_dir, "ports.json")
        if os.path.exists(ports):
            os.unlink(ports)
        self.log = open(os.path.join(self.data_dir, "triaged.log"), "ab")
        self.proc = subprocess.Popen(
            [self.triaged, "--data-dir", self.data_dir, "--grpc-addr", "127.0.0.1:0",
             "--http-addr", "127.0.0.1:0", *self.args],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"triaged exited with {self.proc.returncode}: {self.read_log()}")
            if os.path.exists(ports):
                with open(ports) as f:
                    p = json.load(f)
                self.grpc_port, self.http_port = p["grpc"], p["http"]
                if not self.wait_ready or self.get("/readyz")[0] == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError("triaged did not become ready: " + self.read_log())

    def read_log(self):
        with open(os.path.join(self.data_dir, "triaged.log"), "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def grpc_addr(self):
        return f"127.0.0.1:{self.grpc_port}"

    def request(self, method, path, body=b"", headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def get(self, path):
        try:
            return self.request("GET", path)
        except OSError as e:
            return 0, str(e).encode()

    def post_json(self, path, obj):
        status, body = self.request("POST", path, json.dumps(obj).encode(),
                                    {"Content-Type": "application/json"})
        return status, json.loads(body) if body else None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self.log.close()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)
