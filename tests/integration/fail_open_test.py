#!/usr/bin/env python3
"""Nobody goes unpaged: the shipped fail-open Alertmanager config
(deploy/prometheus/alertmanager.yml) with Debian's prometheus-alertmanager
and the real triaged. With triaged up the owning team gets one enriched page
and the fallback nothing; with triaged killed or stopped (SIGSTOP) the
fallback gets the raw page within the delay plus 10 s.

The fallback delay is 6 s here instead of 60 s (the test's only change to
the config besides loopback ports). Alerts start now, as Prometheus sends
them (startsAt is when the rule began firing): Alertmanager flushes an alert
whose startsAt is older than group_wait at once, delay or not.

usage: fail_open_test.py TRIAGED SOURCE_DIR
"""
import json
import signal
import sys
import time
import unittest

import alerting_test as at
from alerting_test import Alertmanager, Receiver, p01_records
from daemon import Daemon, free_port

TRIAGED = SOURCE = None
DELAY = 6  # Seconds: the fallback route's group_wait in this test.


def raw_alert(name):
    return [{"labels": {"alertname": name, "service": "reranker", "metric": "ndcg_at_10",
                        "severity": "page"},
             "annotations": {"summary": "NDCG@10 dropped"},
             "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "generatorURL": "http://prometheus.invalid/graph"}]


class FailOpenTest(unittest.TestCase):
    def setUp(self):
        # service-owners, ml-platform, incident-commander, the fallback on-call.
        self.teams = [Receiver(), Receiver(), Receiver(), Receiver()]
        self.fallback = self.teams[3]
        self.am_port = free_port()
        self.am = None
        self.d = Daemon(TRIAGED, args=["--alertmanager-url", f"http://127.0.0.1:{self.am_port}",
                                       "--resend-interval", "2s"]).start()
        self.assertEqual(self.d.request("POST", "/api/v1/bundle", p01_records())[0], 200)

    def tearDown(self):
        if self.am:
            self.am.stop()
        if self.d.proc is not None:
            self.d.proc.send_signal(signal.SIGCONT)
            self.d.stop()
        for t in self.teams:
            t.close()

    def start_am(self):
        self.am = Alertmanager(at.am_config(self.d.http_port, self.teams, f"{DELAY}s"))
        self.am.port = self.am_port
        self.am.start()

    def page(self, name):
        """Posts the raw alert as Prometheus would; returns when it was sent."""
        sent = time.time()
        self.assertEqual(self.am.post_alerts(raw_alert(name)), 200)
        return sent

    def fallback_gets_the_raw_page(self, name, sent):
        got = self.fallback.wait_for(lambda a: a["labels"]["alertname"] == name, timeout=DELAY + 10)
        self.assertLessEqual(time.time() - sent, DELAY + 10)
        self.assertNotIn("triage_incident", got[0]["labels"])
        self.assertEqual(got[0]["labels"]["service"], "reranker")
        for team in self.teams[:3]:
            self.assertEqual(team.alerts(), [], "no enriched page without triaged")

    def test_triaged_up_pages_the_owning_team_once_and_not_the_fallback(self):
        self.start_am()
        sent = self.page("NDCGDropUp")
        # As of now the recorded incident's changes are months old: the walk
        # escalates (rare_class), and its owner is the incident commander.
        commander = self.teams[2]
        got = commander.wait_for(lambda a: "triage_incident" in a["labels"], timeout=DELAY)
        self.assertLess(time.time() - sent, DELAY, "enriched before the fallback delay")
        self.assertEqual(got[0]["labels"]["alertname"], "NDCGDropUp")
        self.assertEqual(got[0]["labels"]["triage_owner"], "incident-commander")
        # Past the delay (and then some), the fallback has heard nothing.
        time.sleep(max(0, sent + DELAY + 4 - time.time()))
        self.assertEqual(self.fallback.alerts(), [], "the enriched twin muted the raw page")
        enriched = [a for t in self.teams[:3] for a in t.alerts()]
        self.assertEqual(len({a["labels"]["triage_incident"] for a in enriched}), 1, enriched)
        _, metrics = self.d.get("/metrics")
        self.assertIn(b"triage_enrichment_seconds_count 1", metrics)
        total = float(metrics.split(b"triage_enrichment_seconds_sum ")[1].split(b"\n")[0])
        self.assertLess(total, DELAY)

    def test_triaged_killed_the_fallback_gets_the_raw_page(self):
        self.d.kill9()
        self.start_am()
        self.fallback_gets_the_raw_page("NDCGDropKilled", self.page("NDCGDropKilled"))

    def test_triaged_stopped_the_fallback_gets_the_raw_page(self):
        self.start_am()
        self.d.proc.send_signal(signal.SIGSTOP)  # Up, listening, and answering nothing.
        self.fallback_gets_the_raw_page("NDCGDropStopped", self.page("NDCGDropStopped"))


if __name__ == "__main__":
    TRIAGED, SOURCE = sys.argv[1], sys.argv[2]
    at.SOURCE = SOURCE
    unittest.main(argv=sys.argv[:1], verbosity=2)
