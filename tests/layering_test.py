#!/usr/bin/env python3
"""The folders depend one way, bottom-up: no file includes a folder above it.

  proto/  <-  collectors/, rules/  <-  triage/base  <-  triage/store  <-
  triage/replay  <-  triage/server  <-  triage/ctl

(Generated triage/v1/*.pb.h headers are the data model: proto/.) collectors/
and rules/ are siblings: neither includes the other.
Usage: layering_test.py SOURCE_DIR
"""
import os
import re
import sys

# Folder -> the folders it may include (besides itself).
ALLOWED = {
    "proto": set(),
    "collectors": {"proto"},
    "rules": {"proto"},
    "triage/base": {"proto"},
    "triage/store": {"proto", "collectors", "rules", "triage/base"},
    "triage/replay": {"proto", "collectors", "rules", "triage/base", "triage/store"},
    "triage/server": {"proto", "collectors", "rules", "triage/base", "triage/store",
                      "triage/replay"},
    "triage/ctl": {"proto", "collectors", "rules", "triage/base", "triage/store",
                   "triage/replay", "triage/server"},
}
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
    print(f"{len(problems)} includes point up" if problems else "every include points down")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
