#!/usr/bin/env python3
"""Groups the live allocations of a `heaptrack_print --print-leaks 1` report by the part of
the operator that made them, per ScaledObject.

    heaptrack_print -f prescale.zst --print-leaks 1 --print-peaks 0 --print-allocators 0 \
        --print-temporary 0 --peak-limit 100000 --sub-peak-limit 100000 > leaks.txt
    python3 benches/heaptrack_groups.py leaks.txt 2000

A report taken from a running process (a copy of heaptrack's file while the operator still
runs) lists what is live at that moment as "leaked". Each backtrace is put in the first group
whose marker one of its frames contains (order matters: a poll loop's allocation made under a
reconcile counts for the loop). benches/README.md ("Operator at steady state") has the
command sequence and the figures.
"""

import re
import sys

GROUPS = [
    ("Event series", "write::events"),
    ("poll loop task (spawned future)", "Pollers::start"),
    ("poll spec (desired HPA JSON)", "poll_spec"),
    ("dependency record", "Dependencies::record"),
    ("duplicate-target index", "target_index"),
    ("metrics families", "prometheus_client"),
    ("metrics families", "OperatorMetrics"),
    ("metric store", "MetricStore"),
    ("controller scheduler", "kube_runtime::scheduler"),
    ("writer records", "write::"),
    ("informer caches (store tables)", "apply_watcher_event"),
    ("poll loop, other", "poller::"),
    ("reconcile, other", "reconcile::"),
    ("informer caches (objects from the watch)", "StreamBackoff"),
    ("HTTP buffers", "hyper"),
    ("tracing", "tracing_subscriber"),
]

UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
SUB = re.compile(r"^([\d.]+)([KMG]?)B? leaked over (\d+) calls from:$")
TOP = re.compile(r"^([\d.]+)([KMG]?)B? leaked over (\d+) calls from$")


def entries(lines):
    """(bytes, frames) of every sub-entry (one backtrace each)."""
    current = None
    for line in lines:
        m = SUB.match(line.strip()) if not line.startswith(" ") else None
        if m:
            if current:
                yield current
            current = (float(m.group(1)) * UNITS[m.group(2)], [])
            continue
        if TOP.match(line):
            if current:
                yield current
            current = None
            continue
        if current is not None and line.startswith("    ") and not line.startswith("      "):
            current[1].append(line.strip())
    if current:
        yield current


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: heaptrack_groups.py LEAKS.txt OBJECTS")
    objects = int(sys.argv[2])
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    totals = {}
    for size, frames in entries(lines):
        trace = " ".join(frames)
        group = next((g for g, marker in GROUPS if marker in trace), "other")
        totals[group] = totals.get(group, 0) + size
    print("| MB | bytes per object | group |\n|---|---|---|")
    for group, size in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {size / 1e6:.2f} | {size / objects:.0f} | {group} |")
    print(f"| {sum(totals.values()) / 1e6:.2f} | {sum(totals.values()) / objects:.0f} | all |")


if __name__ == "__main__":
    main()
