#!/usr/bin/env python3
"""A bundle larger than the daemon's memory budget, streamed to /api/v1/bundle
with a bad last line: refused naming that line, nothing of it stored, the
daemon's memory bounded all along (it streams and stages on disk, never
buffers the bundle), and it keeps serving.

usage: big_bundle_test.py TRIAGED SOURCE_DIR [--megabytes 300] [--sanitized]
(--sanitized: AddressSanitizer's quarantine makes RSS meaningless; the
memory bound is not checked.)
"""
import http.client
import json
import os
import sys
import unittest

SOURCE = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
from daemon import Daemon  # noqa: E402

TRIAGED = sys.argv[1] if len(sys.argv) > 1 else None
MEGABYTES = 300
SANITIZED = "--sanitized" in sys.argv
if "--megabytes" in sys.argv:
    MEGABYTES = int(sys.argv[sys.argv.index("--megabytes") + 1])
BUDGET_MB = 256  # triaged's resident memory during ingest, at most (the scale issue's budget).


def series_lines(count):
    """`count` series lines of a week of 1-minute points each (~285 kB a line)."""
    t0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    points = ",".join(f"[{t0 + i * 60_000},{0.5 + (i % 97) / 1000:.4f}]" for i in range(10_080))
    for k in range(count):
        yield (f'{{"type":"series","metric":"m","labels":{{"service":"big","shard":"s{k:06d}"}},'
               f'"points":[{points}]}}\n').encode()


class BigBundleTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(TRIAGED).start()

    def tearDown(self):
        self.d.stop()

    def vm(self, field):
        with open(f"/proc/{self.d.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024
        return 0

    def test_a_bad_last_line_leaves_nothing_and_memory_stays_bounded(self):
        one = next(series_lines(1))
        count = MEGABYTES * 1_000_000 // len(one) + 1
        bad = b'{"type":"series","metric":"m","labels":{"service":"big"},"points":[[1,2],[3,"x"]]}\n'
        size = count * len(one) + len(bad)
        self.assertGreater(size, BUDGET_MB * 1024 * 1024, "the bundle must not fit the budget")

        def body():
            yield from series_lines(count)
            yield bad

        conn = http.client.HTTPConnection("127.0.0.1", self.d.http_port, timeout=600)
        conn.request("POST", "/api/v1/bundle", body=body(),
                     headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)})
        resp = conn.getresponse()
        reply = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 400, reply)
        text = reply["message"] + " " + " ".join(reply.get("errors", []))
        self.assertIn(f":{count + 1}: points[1][1]: expected a number", text,
                      "the error names the bad last line and its field")
        peak = self.vm("VmHWM")
        print(f"\n  {size / 1e6:.0f} MB bundle refused at its last line; triaged peak RSS {peak} MB",
              file=sys.stderr)
        if not SANITIZED:
            self.assertLess(peak, BUDGET_MB, "triaged buffered the bundle")
        status, overlay = self.d.post_json("/triage.v1.OverlayService/GetOverlay", {
            "service": "big", "metric": "m", "window": "7d", "end": "2026-01-08T00:00:00Z"})
        self.assertEqual((status, overlay["series_count"], overlay["raw_points"]), (200, 0, 0),
                         "nothing of the refused bundle is stored")
        spool = os.path.join(self.d.data_dir, "store.spool")
        self.assertEqual(os.listdir(spool) if os.path.isdir(spool) else [], [],
                         "the staged records are gone")
        status, reply = self.d.request("POST", "/api/v1/bundle", next(series_lines(1)),
                                       {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, reply)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
