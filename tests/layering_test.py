#!/usr/bin/env python3
"""The folders depend one way, bottom-up: no file includes a folder above it.

  proto/  <-  collectors/, rules/  <-  triage/base  <-  triage/store  <-
  triage/replay  <-  triage/net  <-  triage/auth, triage/sources,
  triage/sinks  <-  triage/core  <-  triage/api, triage/peers  <-
  triage/server  <-  triage/ctl

(Generated triage/v1/*.pb.h headers are the data model: proto/.) Siblings
include neither each other: collectors/ and rules/; auth, sources and sinks;
api and peers.
triage/net is transport and knows nothing of triage: not even the data model.
Usage: layering_test.py SOURCE_DIR
"""
import os
import re
import sys

BELOW_NET = {"proto", "collectors", "rules", "triage/base", "triage/store", "triage/replay"}
# Folder -> the folders it may include (besides itself).
ALLOWED = {
    "proto": set(),
    "collectors": {"proto"},
    "rules": {"proto"},
    "triage/base": {"proto"},
    "triage/store": {"proto", "collectors", "rules", "triage/base"},
    "triage/replay": {"proto", "collectors", "rules", "triage/base", "triage/store"},
    "triage/net": set(),
    "triage/auth": BELOW_NET | {"triage/net"},
    "triage/sources": BELOW_NET | {"triage/net"},
    "triage/sinks": BELOW_NET | {"triage/net"},
    "triage/core": BELOW_NET | {"triage/net", "triage/sinks"},
    "triage/api": BELOW_NET | {"triage/net", "triage/auth", "triage/sinks", "triage/core"},
    "triage/peers": BELOW_NET | {"triage/net", "triage/auth", "triage/sinks", "triage/core"},
    "triage/server": BELOW_NET | {"triage/net", "triage/auth", "triage/sources", "triage/sinks",
                                  "triage/core", "triage/api", "triage/peers"},
    "triage/ctl": BELOW_NET | {"triage/auth"},
}
# Every folder of triage/ is a room listed above: a new one must say where it sits.
ROOMS = {f for f in ALLOWED if f.startswith("triage/")}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(include):
    if include.startswith(("triage/v1/", "google/rpc/", "prometheus/")) and include.endswith(".pb.h"):
        return "proto"
    for f in sorted(ALLOWED, key=len, reverse=True):
        if include.startswith(f + "/"):
            return f
    return None  # A library's header.


def main():
    root = sys.argv[1]
    problems = []
    for entry in sorted(os.listdir(os.path.join(root, "triage"))):
        if os.path.isdir(os.path.join(root, "triage", entry)) and f"triage/{entry}" not in ROOMS:
            problems.append(f"triage/{entry}: a room the layering does not place")
    for folder, allowed in ALLOWED.items():
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    for include in INCLUDE.findall(f.read()):
                        to = folder_of(include)
                        if to is not None and to != folder and to not in allowed:
                            problems.append(f"{os.path.relpath(path, root)}: includes {include} "
                                            f"({to} is above {folder})")
    for p in problems:
        print(p)
    print(f"{len(problems)} problems" if problems else
          f"every include points down ({len(ALLOWED)} folders: {', '.join(ALLOWED)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
