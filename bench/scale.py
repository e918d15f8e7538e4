"""Scaling bench: the streamed engine and the Dask engine (1 and 2 workers) against DuckDB.

For each size N (``--sizes``, default ``1M,5M``; 20M and 50M are for manual runs, not CI) a
synthetic Zeek conn.log of N rows is written once into ``bench/_work/scale-N/`` as one folder
per day (``day=YYYY-MM-DD/conn.log``, the partitioning the Dask engine maps to one partition
per day), by a fast vectorised writer in this file (not the simulator: its cost grows with the
scenario's behaviour model and it cannot reach 50M rows in reasonable time): inbound
connections from a pool of N/100 public origins (Zipf-like activity) to the organisation's
services, with ports, bytes, states and durations. The organisation's ``org.toml`` is written
beside the logs and passed with ``-c`` and ``--direction inbound``, so every engine makes one
reading pass.

Per size it measures, as separate processes, ``attrib analyze --engine stream`` and
``--engine dask --workers 1`` / ``--workers 2`` (a LocalCluster): wall seconds, events/s and
the peak RSS of every process (the client and each worker, sampled with psutil every 0.1 s);
and, in the same run, the reference: DuckDB ``read_csv`` of the same conn.logs + ``GROUP BY``
origin computing count, sum of bytes, min/max ts and distinct destinations. It prints the
ratios (engine / DuckDB, Dask / stream) and the size of the pickled partial state a worker
ships per million events (one day's partition folded by the Dask engine's own task).

Also, in the same run, the read + aggregate part alone (each in its own process, imports
included): attrib's reader streamed into ``OriginAccumulator`` against DuckDB ``read_csv`` +
one ``GROUP BY`` with one thread, wall and CPU seconds. CPU seconds (user + system of the
process tree) are printed beside wall seconds: on a shared machine they are the comparable
figure.

Usage:  nice -n 10 .venv/bin/python bench/scale.py [--sizes 1M,5M] [--repeat 1] [--days 10]
        [--engines stream,dask-1,dask-2] [--no-read-aggregate] [--no-partial]
The machine is shared: quote medians of ``--repeat`` runs and the load average printed.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
          "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts "
          "orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents").split()  # fmt: skip
TYPES = ("time string addr port addr port enum string interval count count string bool bool "
         "count string count count count count set[string]").split()  # fmt: skip
ORG = """name = "Scale bench"
home_countries = ["DE"]
timezone = "Europe/Berlin"
work_hours = [8, 18]
offices = ["185.227.158.8/29"]
services = ["185.227.158.10", "185.227.158.11", "185.227.158.12"]
accounts = 200
"""
T0 = 1_772_409_600  # 2026-03-02 00:00 UTC
_STATES = np.array(["SF", "S0", "REJ", "RSTO", "SH"])
_HIST = np.array(["ShADadFf", "S", "Sr", "ShADadR", "ShAFf"])
_PORTS = np.array([443, 443, 443, 22, 80, 8080, 3389, 445])


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 10**3, "M": 10**6}.get(s[-1], 1)
    return int(float(s.rstrip("KM")) * mult)


def _public_ips(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.choice(np.r_[11:100, 101:126, 129:169, 171:172, 173:192, 193:223], n)
    b, c, d = rng.integers(0, 256, (3, n))
    d = np.clip(d, 1, 254)
    return np.char.add(np.char.add(np.char.add(a.astype(str), "."), np.char.add(
        b.astype(str), ".")), np.char.add(np.char.add(c.astype(str), "."), d.astype(str)))  # fmt: skip


def write_day(path: Path, n: int, day: int, pool: np.ndarray, rng: np.random.Generator) -> None:
    """One day's conn.log of ``n`` rows (Zeek TSV with its header)."""
    w = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
    src = pool[rng.choice(len(pool), n, p=w / w.sum())]
    ts = np.sort(T0 + day * 86_400 + rng.random(n) * 86_400)
    k = rng.integers(0, len(_STATES), n)
    ob, rb = rng.integers(0, 5_000, n), rng.integers(0, 50_000, n)
    df = pd.DataFrame({
        "ts": np.char.mod("%.6f", ts), "uid": np.char.add("C", (np.arange(n) + day * 10**9)
                                                          .astype(str)),
        "id.orig_h": src, "id.orig_p": rng.integers(1024, 65535, n),
        "id.resp_h": np.char.add("185.227.158.", rng.integers(10, 13, n).astype(str)),
        "id.resp_p": _PORTS[rng.integers(0, len(_PORTS), n)], "proto": "tcp",
        "service": np.where(k == 0, "ssl", "-"), "duration": np.char.mod("%.6f", rng.random(n)),
        "orig_bytes": ob, "resp_bytes": rb, "conn_state": _STATES[k], "local_orig": "F",
        "local_resp": "T", "missed_bytes": 0, "history": _HIST[k],
        "orig_pkts": ob // 500 + 1, "orig_ip_bytes": ob + 52, "resp_pkts": rb // 1400 + 1,
        "resp_ip_bytes": rb + 52, "tunnel_parents": "-",
    })  # fmt: skip
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", "#path\tconn", "#fields\t" + "\t".join(FIELDS),
            "#types\t" + "\t".join(TYPES)]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(head) + "\n")
        df.to_csv(fh, sep="\t", header=False, index=False)


def ensure_input(n: int, days: int) -> Path:
    out = WORK / f"scale-{n}-{days}d"
    if (out / "org.toml").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    rng = np.random.default_rng(n)
    pool = np.unique(_public_ips(rng, max(n // 100, 100)))
    t0 = time.perf_counter()
    per = np.full(days, n // days)
    per[: n % days] += 1
    for d in range(days):
        day = pd.Timestamp(T0 + d * 86_400, unit="s").strftime("%Y-%m-%d")
        write_day(out / f"day={day}" / "conn.log", int(per[d]), d, pool, rng)
    (out / "org.toml").write_text(ORG)
    print(f"wrote {n:,} rows in {days} day folders in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


_RA_ATTRIB = """
import sys
from attrib.context import OrgContext
from attrib.features import OriginAccumulator
from attrib.io import iter_read
acc = OriginAccumulator(OrgContext.from_toml(sys.argv[2]))
for chunk in iter_read([sys.argv[1]]):
    acc.update(chunk)
print(len(acc.partials().tables["ip"]))
"""

_RA_DUCKDB = """
import sys, duckdb
fields = sys.argv[2].split()
con = duckdb.connect()
con.execute("SET threads TO 1")
cols = ", ".join(f"'{f}': '{'DOUBLE' if f == 'ts' else 'VARCHAR'}'" for f in fields)
q = (
    'SELECT "id.orig_h" AS ip, count(*) AS n, sum(CAST(orig_bytes AS BIGINT)) AS bytes_out, '
    'sum(CAST(resp_bytes AS BIGINT)) AS bytes_in, sum(CAST(orig_pkts AS BIGINT)) AS pkts_out, '
    'min(ts) AS first_seen, max(ts) AS last_seen, count(DISTINCT "id.resp_h") AS n_hosts, '
    'count(DISTINCT "id.resp_p") AS n_ports '
    f"FROM read_csv('{sys.argv[1]}/*/conn.log', delim='\\t', header=false, skip=7, quote='', "
    f"escape='', nullstr='-', columns={{{cols}}}, auto_detect=false) GROUP BY 1"
)
print(len(con.execute(q).fetchall()))
"""


def read_aggregate(folder: Path) -> dict[str, dict[str, Any]]:
    """Read + aggregate only, each in its own process (imports included).

    attrib: its Zeek reader streamed into ``OriginAccumulator`` (the whole feature fold, every
    partial table); DuckDB: ``read_csv`` + one ``GROUP BY`` origin with eight aggregates, one
    thread.
    """
    py = str(Path(sys.executable))
    return {
        "attrib": run_measured([py, "-c", _RA_ATTRIB, str(folder), str(folder / "org.toml")],
                               parse=False),
        "duckdb": run_measured([py, "-c", _RA_DUCKDB, str(folder), " ".join(FIELDS)],
                               parse=False),
    }  # fmt: skip


def run_measured(cmd: list[str], *, parse: bool = True) -> dict[str, Any]:
    """Run ``cmd``; wall and CPU seconds, and the peak RSS (MB) of it and of each descendant.

    CPU is the user + system time of the process tree (``RUSAGE_CHILDREN`` around the run):
    on a shared machine it is the figure to compare, wall time is inflated by other jobs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(p.pid)
    peaks: dict[int, float] = {}
    names: dict[int, str] = {}
    while p.poll() is None:
        try:
            for proc in [root, *root.children(recursive=True)]:
                rss = proc.memory_info().rss / 2**20
                peaks[proc.pid] = max(peaks.get(proc.pid, 0.0), rss)
                names.setdefault(proc.pid, " ".join(proc.cmdline()[1:4])[:60])
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd[:5])}\n{err[-2000:]}")
    workers = [v for pid, v in peaks.items() if pid != p.pid and v > 100]  # not the tiny helpers
    res = {"wall": wall, "cpu": cpu, "client_mb": peaks.get(p.pid, 0.0),
           "worker_mb": sorted(workers)}  # fmt: skip
    if parse:
        meta = json.loads(out)
        res.update(events=meta["counts"]["events"], origins=meta["counts"]["origins"])
    return res


def duckdb_ref(folder: Path) -> tuple[float, int]:
    """DuckDB read_csv + GROUP BY origin: count, bytes, first/last ts, distinct destinations."""
    import duckdb

    con = duckdb.connect()
    cols = ", ".join(f"'{f}': '{'DOUBLE' if f == 'ts' else 'VARCHAR'}'" for f in FIELDS)
    sql = f"""
        SELECT "id.orig_h" AS ip, count(*) AS n,
               sum(CAST(orig_bytes AS BIGINT) + CAST(resp_bytes AS BIGINT)) AS bytes,
               min(ts) AS first_ts, max(ts) AS last_ts, count(DISTINCT "id.resp_h") AS n_dst
        FROM read_csv('{folder}/*/conn.log', delim='\t', header=false, skip=7, quote='',
                      nullstr='-', columns={{{cols}}})
        GROUP BY 1"""  # noqa: S608 (the bench's own paths)
    t0 = time.perf_counter()
    n = len(con.execute(sql).fetchall())
    return time.perf_counter() - t0, n


def partial_bytes(folder: Path) -> tuple[int, int]:
    """Pickled size of what a worker ships for one day's partition, and that day's events."""
    from attrib.context import OrgContext
    from attrib.pipeline._dask import _fold_part, partitions
    from attrib.pipeline.options import RunOptions

    ctx = OrgContext.from_toml(folder / "org.toml")
    opts = RunOptions(context=ctx, window=(None, None), run_id="bench",
                      created=pd.Timestamp.now(tz="UTC").to_pydatetime(),
                      direction="inbound")  # fmt: skip
    part = _fold_part(partitions([folder])[0], ctx, opts)
    return len(pickle.dumps(part, protocol=5)), part.seen.events


_ENGINES = {"stream": ["--engine", "stream"],
            "dask-1": ["--engine", "dask", "--workers", "1"],
            "dask-2": ["--engine", "dask", "--workers", "2"]}  # fmt: skip


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _report(n: int, days: int, ref: list[float], ra: list[dict[str, dict[str, Any]]],
            res: dict[str, list[dict[str, Any]]]) -> None:  # fmt: skip
    duck = statistics.median(ref)
    print(f"\nN = {n:,} events, {days} partitions, load {os.getloadavg()[0]:.1f}")
    print(f"  duckdb read_csv + GROUP BY   {duck:7.2f} s  {n / duck:12,.0f} ev/s (default threads)")
    if ra:
        at = [r["attrib"] for r in ra]
        dk = [r["duckdb"] for r in ra]
        print(f"  read + aggregate: attrib {_med(at, 'wall'):.2f} s wall {_med(at, 'cpu'):.2f} s CPU "
              f"{max(r['client_mb'] for r in at):.0f} MB; duckdb (1 thread) {_med(dk, 'wall'):.2f}"
              f" s wall {_med(dk, 'cpu'):.2f} s CPU; attrib/duckdb {_med(at, 'wall') / _med(dk, 'wall'):.2f}x"
              f" wall, {_med(at, 'cpu') / _med(dk, 'cpu'):.2f}x CPU", flush=True)  # fmt: skip
    stream = _med(res["stream"], "wall") if res.get("stream") else None
    for name, runs in res.items():
        wall, cpu = _med(runs, "wall"), _med(runs, "cpu")
        last = runs[-1]
        workers = ", ".join(f"{w:.0f}" for w in last["worker_mb"]) or "-"
        vs = f"x{wall / stream:4.2f} stream" if stream else ""
        print(f"  {name:8s} {wall:8.2f} s wall {cpu:8.2f} s CPU  {last['events'] / wall:10,.0f} "
              f"ev/s wall {last['events'] / cpu:10,.0f} ev/s CPU  {cpu / last['events'] * 1e6:5.1f} "
              f"CPU us/ev  x{wall / duck:5.1f} duckdb  {vs}  client {last['client_mb']:.0f} MB  "
              f"workers [{workers}] MB  origins {last['origins']:,}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,5M", help="comma-separated, e.g. 1M,5M,20M,50M")
    ap.add_argument("--days", type=int, default=10, help="day folders (Dask partitions)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--engines",
        default="stream,dask-1,dask-2",
        help="comma-separated subset of stream,dask-1,dask-2 (none: '')",
    )
    ap.add_argument(
        "--no-read-aggregate",
        action="store_true",
        help="skip the read + aggregate reference (attrib vs one-thread DuckDB)",
    )
    ap.add_argument("--no-partial", action="store_true", help="skip the partial-state size")
    args = ap.parse_args()
    py = str(Path(sys.executable))
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}", flush=True)
    engines = {k: _ENGINES[k] for k in args.engines.split(",") if k}
    for n in (parse_size(s) for s in args.sizes.split(",")):
        folder = ensure_input(n, args.days)
        base = [py, "-m", "attrib", "analyze", str(folder), "-c", str(folder / "org.toml"),
                "--direction", "inbound", "--json", "--no-progress"]  # fmt: skip
        res: dict[str, list[dict[str, Any]]] = {k: [] for k in engines}
        ref: list[float] = []
        ra: list[dict[str, dict[str, Any]]] = []
        for _ in range(args.repeat):
            ref.append(duckdb_ref(folder)[0])
            if not args.no_read_aggregate:
                ra.append(read_aggregate(folder))
            for name, extra in engines.items():
                out = WORK / f"scale-out-{name}"
                shutil.rmtree(out, ignore_errors=True)
                res[name].append(run_measured([*base, *extra, "-o", str(out)]))
        _report(n, args.days, ref, ra, res)
        if not args.no_partial:
            size, events = partial_bytes(folder)
            print(
                f"  partial state shipped per partition: {size / 2**20:.1f} MB for {events:,} "
                f"events = {size / events * 1e6 / 2**20:.1f} MB per 1M events",
                flush=True,
            )


if __name__ == "__main__":
    main()
