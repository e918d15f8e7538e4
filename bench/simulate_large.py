#!/usr/bin/env python
"""Measure the ``large`` simulator preset: wall time, rows, throughput and peak RSS.

Usage::

    python bench/simulate_large.py [--seed 1] [--out /tmp/attrib-large] [--preset large]

Runs the preset in a child process (so peak RSS is the simulator's alone, measured with
``resource.getrusage(RUSAGE_CHILDREN)``), then prints wall time, conn rows, rows per second and
peak RSS (and the child's CPU time, which a loaded machine does not inflate), and checks the
targets of issue 5 (>= 5M conn rows, < 300 s, < 2 GB). As a reference
measured in the same run it times ``gzip -1`` of the written conn.log (a pure streaming
write of the same bytes), and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys
from attrib.simulate import simulate
res = simulate(sys.argv[1], int(sys.argv[2]), sys.argv[3])
print(json.dumps(res.counts))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="large")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="Output folder (default: a temporary one).")
    ap.add_argument("--keep", action="store_true", help="Keep the output folder.")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="attrib-large-"))
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, args.preset, str(args.seed), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    conn = out / "zeek" / "conn.log"
    size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    t = time.perf_counter()
    subprocess.run(["gzip", "-1", "-c", str(conn)], stdout=subprocess.DEVNULL, check=True)
    ref = time.perf_counter() - t
    rows = counts["conn_rows"]
    print(
        f"preset {args.preset} seed {args.seed}: wall {wall:.1f} s, conn rows {rows:,}, "
        f"{rows / wall:,.0f} conn rows/s, CPU {cpu:.1f} s, output {size_mb:,.0f} MB, "
        f"peak RSS {rss_mb:,.0f} MB"
    )
    print(f"  reference: gzip -1 of conn.log {ref:.1f} s; simulate/reference = {wall / ref:.1f}")
    print(f"  counts: {json.dumps(counts)}")
    print(
        f"  load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs (wall time on a shared machine is noisy; CPU time is not)"
    )
    ok = rows >= 5_000_000 and wall < 300 and rss_mb < 2048
    print(f"  targets (>= 5M conn rows, < 300 s, < 2048 MB): {'met' if ok else 'NOT met'}")
    if not args.keep and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
