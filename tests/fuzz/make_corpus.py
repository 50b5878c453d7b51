#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, drawn from recorded incidents.

usage: make_corpus.py SCENARIO_DIR OUT_DIR

Writes OUT_DIR/<target>/<seed> for bundle_reader_fuzz, remote_write_fuzz,
alertmanager_fuzz, change_event_fuzz and connect_fuzz. Long series are cut
to a few points so that seeds stay small.
"""
import gzip
import hashlib
import json
import os
import struct
import sys


def lines_of(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [l for l in f.read().splitlines() if l.strip()]


def short(rec):
    rec = dict(rec)
    if rec.get("type") == "series":
        rec["points"] = rec["points"][:8]
    return rec


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    return varint((num << 3) | 2) + varint(len(payload)) + payload


def write_request(series):
    ts = b""
    for s in series:
        labels = [("__name__", s["metric"])] + sorted(s.get("labels", {}).items())
        body = b"".join(field(1, field(1, k.encode()) + field(2, v.encode())) for k, v in labels)
        for t, v in s["points"]:
            sample = b"\x09" + struct.pack("<d", v) + b"\x10" + varint(int(t))
            body += field(2, sample)
        ts += field(1, body)
    return ts


def snappy_literal(data):
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 60):
        chunk = data[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def main():
    src, out = sys.argv[1], sys.argv[2]
    seeds = {t: [] for t in ["bundle_reader_fuzz", "remote_write_fuzz", "alertmanager_fuzz",
                             "change_event_fuzz", "connect_fuzz"]}
    files = sorted(f for f in os.listdir(src) if f.endswith((".jsonl", ".jsonl.gz")))
    for name in files:
        records = [json.loads(l) for l in lines_of(os.path.join(src, name))]
        by_type = {}
        for r in records:
            by_type.setdefault(r["type"], []).append(short(r))
        bundle = [recs[0] for recs in by_type.values()] + [recs[-1] for recs in by_type.values()]
        seeds["bundle_reader_fuzz"].append("\n".join(json.dumps(r) for r in bundle).encode())
        for r in bundle:
            seeds["bundle_reader_fuzz"].append(json.dumps(r).encode())
        series = by_type.get("series", [])[:3]
        if series:
            pb = write_request(series)
            seeds["remote_write_fuzz"] += [pb, snappy_literal(pb)]
        for c in by_type.get("change", [])[:3]:
            c = {k: v for k, v in c.items() if k != "type"}
            seeds["change_event_fuzz"].append(json.dumps(c).encode())
        for inc in by_type.get("incident", []):
            alerts = [{"status": "firing", "labels": dict(a.get("labels", {}), alertname=a.get("name", "A"),
                                                          service=a["service"], metric=a["metric"]),
                       "annotations": {"summary": inc.get("title", "")}, "startsAt": a["fired_at"],
                       "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus.invalid/graph",
                       "fingerprint": hashlib.sha1(a["service"].encode()).hexdigest()[:16]}
                      for a in inc["alerts"]]
            hook = {"version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "triage",
                    "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                    "externalURL": "http://alertmanager.invalid", "alerts": alerts}
            seeds["alertmanager_fuzz"].append(json.dumps(hook).encode())
            a = inc["alerts"][0]
            for method, body in [
                ("TriageService/Triage", {"alerts": [{"service": a["service"], "metric": a["metric"]}],
                                          "at": a["fired_at"]}),
                ("OverlayService/GetOverlay", {"service": a["service"], "metric": a["metric"],
                                               "window": "24h", "end": a["fired_at"]}),
                ("TriageService/GetIncident", {"id": inc["id"]}),
                ("TriageService/ListIncidents", {"page_size": 10, "page_token": inc["id"]}),
                ("IngestService/WriteChanges", {"changes": [
                    {k: v for k, v in c.items() if k != "type"} for c in by_type.get("change", [])[:2]]}),
                ("RulesService/CheckTree", {"text": "category { id: \"x\" }"}),
            ]:
                text = json.dumps(body).encode()
                seeds["connect_fuzz"].append(f"{method}\napplication/json\n\n".encode() + text)
                seeds["connect_fuzz"].append(
                    f"{method}\napplication/json\ngzip\n".encode() + gzip.compress(text))
    # Other systems' change events (tests/events).
    events = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")
    for name in sorted(os.listdir(events)):
        if name.endswith(".json"):
            with open(os.path.join(events, name), "rb") as f:
                seeds["change_event_fuzz"].append(f.read())
    for target, items in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for data in items:
            with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
                f.write(data)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
