"""End-to-end ``attrib analyze`` on the simulator's ``large`` preset: time and memory per stage.

Generates the scenario once into bench/_work/large (``attrib.simulate("large", seed)``; >= 5M conn
rows plus sign-ins), then runs ``attrib analyze`` as a separate process ``--repeat`` times with a
sightings store, and prints per stage the median wall seconds and the peak RSS recorded in
``run.json``, plus the process peak RSS seen from outside (psutil sampling of the child). As a
reference measured in the same run, ``attrib read`` of the same inputs (the pure reading cost)
is timed too, and the ratio analyze / read printed.

Usage:  .venv/bin/python bench/analyze_large.py [--preset large] [--seed 7] [--repeat 1] [--no-read-ref]
The machine is shared; quote medians and say it was loaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"


def ensure_scenario(preset: str, seed: int) -> Path:
    out = WORK / f"{preset}-{seed}"
    if (out / "truth.parquet").exists():
        return out
    from attrib.simulate import simulate

    t0 = time.perf_counter()
    res = simulate(preset, seed, out)
    print(f"generated {preset} scenario in {time.perf_counter() - t0:.0f} s: {res}", flush=True)
    return out


def run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """Run cmd; return wall seconds, peak RSS (MB) of the process tree, exit code."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(p.pid)
    peak = 0.0
    while p.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))
            peak = max(peak, rss / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        print(err[-3000:], file=sys.stderr)
    return wall, peak, p.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="large")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-read-ref", action="store_true")
    args = ap.parse_args()
    data = ensure_scenario(args.preset, args.seed)
    # the log folders (zeek/, entra/, m365/, pcap/); truth files and org.toml are not inputs
    inputs = [str(p) for p in sorted(data.iterdir()) if p.is_dir()]
    exe = [sys.executable, "-m", "attrib"]
    runs = []
    for i in range(args.repeat):
        out = WORK / f"analyze-out-{i}"
        store = WORK / f"analyze-store-{i}.db"
        shutil.rmtree(out, ignore_errors=True)
        store.unlink(missing_ok=True)
        cmd = [
            *exe,
            "-v",
            "analyze",
            *inputs,
            "--out",
            str(out),
            "--store",
            str(store),
            "--config",
            str(data / "org.toml"),
        ]
        wall, peak, rc = run_measured(cmd)
        if rc != 0:
            print(f"analyze failed with exit {rc}")
            return 1
        run = json.loads((out / "run.json").read_text())
        runs.append((wall, peak, run))
        print(
            f"run {i + 1}: {wall:.1f} s wall, peak RSS {peak:.0f} MB (outside), "
            f"{run['peak_rss_mb']:.0f} MB (run.json)",
            flush=True,
        )
    run = runs[-1][2]
    print(
        f"\ninput: {run['read']['rows']:,} rows read, {run['read']['skipped']:,} skipped, "
        f"{len(run['read']['files'])} files; {run['counts']}"
    )
    print(f"{'stage':<10} {'median s':>9} {'peak RSS MB':>12} {'rows':>12}")
    names = [s["stage"] for s in run["stages"]]
    for name in names:
        secs = [next(s for s in r[2]["stages"] if s["stage"] == name)["seconds"] for r in runs]
        peaks = [next(s for s in r[2]["stages"] if s["stage"] == name)["peak_rss_mb"] for r in runs]
        rows = next(s for s in run["stages"] if s["stage"] == name).get("rows", "")
        print(f"{name:<10} {statistics.median(secs):>9.1f} {max(peaks):>12.0f} {rows:>12}")
    walls = [r[0] for r in runs]
    peak = max(r[1] for r in runs)
    print(
        f"{'total':<10} {statistics.median(walls):>9.1f} {peak:>12.0f}   (limit 4096 MB: "
        f"{'OK' if peak < 4096 else 'EXCEEDED'})"
    )
    if not args.no_read_ref:
        rwall, rpeak, rc = run_measured([*exe, "read", *inputs])
        if rc == 0:
            print(
                f"reference: attrib read of the same inputs {rwall:.1f} s, peak {rpeak:.0f} MB; "
                f"analyze/read wall ratio {statistics.median(walls) / rwall:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
