"""End-to-end ``attrib analyze`` (streamed) on ``large``-preset-shaped inputs: time, CPU, memory.

For each ``--days`` value the simulator's ``large`` preset is generated once with that many days
(``attrib.simulate("large", seed, out, days=N)``; ~235k events a day: Zeek conn + ssl, Entra
sign-ins, M365 audit) into ``bench/_work/large-dN``. Then, per size and ``--repeat`` times, in the
same run:

* ``attrib analyze`` of the log folders (the streamed engine, with the scenario's ``org.toml``)
  as a child process: wall seconds, CPU seconds (user + system of the child), peak RSS of the
  process tree (psutil sampling), the per-stage seconds from ``run.json``;
* the **read + aggregate** part alone on the scenario's ``conn.log``: attrib's reader streamed
  into :class:`attrib.features.OriginAccumulator` (``--part attrib``) against a DuckDB reference
  (``read_csv`` of the same TSV + one ``GROUP BY`` of the source address computing a handful of
  per-origin aggregates: rows, sums of bytes/packets, first/last seen, distinct destinations and
  ports), both as child processes, so the figure is a ratio, not only a time.

It prints events/s (wall and CPU), seconds per million events, the per-event cost of each size
against the smallest (linearity), and the attrib / DuckDB ratio. The machine is shared and its
load changes the wall time; the CPU seconds are steadier: quote medians, ratios, and the load.

Usage:  .venv/bin/python bench/analyze_large.py [--days 4 20] [--seed 7] [--repeat 1]
        [--no-analyze] [--no-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"

_DUCKDB = """
import sys, duckdb
path = sys.argv[1]
names = next(l for l in open(path) if l.startswith('#fields')).rstrip('\\n').split('\\t')[1:]
cols = ', '.join(f"'{n}': 'VARCHAR'" for n in names)
con = duckdb.connect()
con.execute("SET threads TO 1")
q = f'''SELECT "id.orig_h" AS ip, count(*) AS n,
  sum(TRY_CAST(NULLIF(orig_bytes, '-') AS BIGINT)) AS bytes_out,
  sum(TRY_CAST(NULLIF(resp_bytes, '-') AS BIGINT)) AS bytes_in,
  sum(TRY_CAST(NULLIF(orig_pkts, '-') AS BIGINT)) AS pkts_out,
  min(CAST(ts AS DOUBLE)) AS first_seen, max(CAST(ts AS DOUBLE)) AS last_seen,
  count(DISTINCT "id.resp_h") AS n_hosts, count(DISTINCT "id.resp_p") AS n_ports
FROM read_csv('{path}', delim='\\t', comment='#', header=false, columns={{{cols}}},
              quote='', escape='', nullstr='-', auto_detect=false)
GROUP BY 1'''
print(len(con.execute(q).fetchall()))
"""

_ATTRIB = """
import sys
from attrib.context import OrgContext
from attrib.features import OriginAccumulator
from attrib.io import iter_read
acc = OriginAccumulator(OrgContext.from_toml(sys.argv[2]))
for chunk in iter_read([sys.argv[1]]):
    acc.update(chunk)
print(len(acc.partials().tables["ip"]))
"""


def ensure_scenario(days: int, seed: int) -> Path:
    out = WORK / f"large-d{days}-s{seed}"
    if (out / "truth.parquet").exists():
        return out
    from attrib.simulate import simulate

    t0 = time.perf_counter()
    res = simulate("large", seed, out, days=days)
    print(f"generated large/{days} days in {time.perf_counter() - t0:.0f} s: {res}", flush=True)
    return out


def run_measured(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run cmd; return wall s, CPU s (user+sys), peak RSS MB of the process tree, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
        time.sleep(0.05)
    _, err = p.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        print(err[-3000:], file=sys.stderr)
    return wall, cpu, peak, p.returncode


def _analyze(data: Path, i: int) -> tuple[float, float, float, dict]:
    inputs = [str(p) for p in sorted(data.iterdir()) if p.is_dir()]
    out = WORK / f"analyze-out-{data.name}-{i}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "attrib", "analyze", *inputs, "--out", str(out),
           "--config", str(data / "org.toml")]  # fmt: skip
    wall, cpu, peak, rc = run_measured(cmd)
    if rc != 0:
        raise SystemExit(f"analyze failed with exit {rc}")
    return wall, cpu, peak, json.loads((out / "run.json").read_text())


def _reference(data: Path) -> dict[str, tuple[float, float, float]]:
    conn = str(data / "zeek" / "conn.log")
    got = {}
    for name, code, args in (("duckdb", _DUCKDB, [conn]),
                             ("attrib", _ATTRIB, [conn, str(data / "org.toml")])):  # fmt: skip
        wall, cpu, peak, rc = run_measured([sys.executable, "-c", code, *args])
        if rc != 0:
            raise SystemExit(f"{name} reference failed with exit {rc}")
        got[name] = (wall, cpu, peak)
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, nargs="+", default=[4, 20])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-analyze", action="store_true")
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows = []
    for days in args.days:
        data = ensure_scenario(days, args.seed)
        an, ref = [], []
        for i in range(args.repeat):
            if not args.no_analyze:
                an.append(_analyze(data, i))
                w, c, p, run = an[-1]
                print(f"large/{days}d analyze run {i + 1}: {w:.1f} s wall, {c:.1f} s CPU, "
                      f"peak {p:.0f} MB, {run['counts']['events']:,} events", flush=True)  # fmt: skip
            if not args.no_reference:
                ref.append(_reference(data))
                r = ref[-1]
                print(f"large/{days}d read+aggregate conn.log: attrib {r['attrib'][0]:.1f} s wall "
                      f"{r['attrib'][1]:.1f} s CPU, duckdb {r['duckdb'][0]:.1f} s wall "
                      f"{r['duckdb'][1]:.1f} s CPU", flush=True)  # fmt: skip
        rows.append((days, an, ref))
    _table(rows)
    print(f"load average at end: {os.getloadavg()}")
    return 0


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _table(rows: list[tuple[int, list, list]]) -> None:
    print(f"\n{'size':<9} {'events':>11} {'wall s':>8} {'CPU s':>8} {'ev/s wall':>10} "
          f"{'ev/s CPU':>10} {'CPU us/ev':>9} {'vs first':>8} {'peak MB':>8}")  # fmt: skip
    first = None
    for days, an, _ in rows:
        if not an:
            continue
        n = an[0][3]["counts"]["events"]
        wall, cpu = _med([a[0] for a in an]), _med([a[1] for a in an])
        per = cpu / n * 1e6
        first = first or per
        print(f"{days:>3} days {n:>11,} {wall:>8.1f} {cpu:>8.1f} {n / wall:>10,.0f} "
              f"{n / cpu:>10,.0f} {per:>9.1f} {per / first:>8.2f} "
              f"{max(a[2] for a in an):>8.0f}")  # fmt: skip
        stages = {s["stage"]: s["seconds"] for s in an[-1][3]["stages"]}
        print("          stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    for days, _, ref in rows:
        if not ref:
            continue
        aw, ac = _med([r["attrib"][0] for r in ref]), _med([r["attrib"][1] for r in ref])
        dw, dc = _med([r["duckdb"][0] for r in ref]), _med([r["duckdb"][1] for r in ref])
        print(
            f"{days:>3} days read+aggregate conn.log: attrib/duckdb {aw / dw:.2f}x wall, "
            f"{ac / dc:.2f}x CPU (attrib {ac:.1f} s CPU, duckdb {dc:.1f} s CPU; peak "
            f"{max(r['attrib'][2] for r in ref):.0f} / {max(r['duckdb'][2] for r in ref):.0f} MB)"
        )


if __name__ == "__main__":
    sys.exit(main())
