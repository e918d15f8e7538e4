"""Read speed of the Zeek conn.log reader against zat and plain pandas, same run, same file.

Generates a Zeek ASCII conn.log (default 5M rows, cached in ``bench/_work/``) and times, each in
a fresh subprocess and interleaved so machine load hits all alike:

* ``attrib``  — ``attrib.read(path)``: the canonical, typed events table (UTC timestamps,
  UInt16 ports, categoricals, nullable integers, joins applied) as one DataFrame;
* ``stream``  — ``attrib.iter_read(path)``: the same typed canonical rows as bounded chunks
  (what the analysis pipeline consumes, ``attrib.pipeline._front``); its peak RSS is the streaming memory bound;
* ``pandas``  — ``pandas.read_csv(path, sep="\\t", comment="#", header=None)`` (untyped);
* ``zat``     — ``zat.log_to_dataframe.LogToDataFrame().create_dataframe(path)``.

It prints medians of ``--runs`` runs and the ratios, and the peak RSS of a subprocess that
streams the file with ``attrib.iter_read`` (bounded memory) and of one that runs ``attrib.read``.
zat is slow; ``--zat-rows N`` times it on the first N rows (and attrib/pandas on the same
prefix, so that ratio is like for like), ``--zat-runs`` sets how often.

Usage::

    .venv/bin/python bench/read_speed.py                 # 5M rows, 3 runs, zat on 1M prefix
    .venv/bin/python bench/read_speed.py --zat-rows 0    # zat on the whole file
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORK = Path(__file__).resolve().parent / "_work"

FIELDS = [
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
]  # fmt: skip
TYPES = [
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
    "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
    "set[string]",
]  # fmt: skip


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a realistic Zeek conn.log with ``rows`` rows (unset ``-`` values included)."""
    rng = np.random.default_rng(seed)
    head = "\n".join([
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
        "#path\tconn", "#open\t2024-03-01-00-00-00", "#fields\t" + "\t".join(FIELDS),
        "#types\t" + "\t".join(TYPES),
    ])  # fmt: skip
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as fh:
        fh.write(head + "\n")
        step = 250_000
        for start in range(0, rows, step):
            m = min(step, rows - start)
            fh.write(_block(rng, start, m))
        fh.write("#close\t2024-03-02-00-00-00\n")
    tmp.rename(path)


def _block(rng: np.random.Generator, start: int, m: int) -> str:
    ts = 1_709_251_200 + (start + np.arange(m)) * 86400 / 5e6 + rng.random(m) * 1e-3
    state = rng.choice(
        ["SF", "S0", "REJ", "RSTO", "SH", "OTH"], m, p=[0.6, 0.2, 0.1, 0.05, 0.03, 0.02]
    )
    unset = state == "S0"
    dur = np.where(unset, "-", np.char.mod("%.6f", rng.exponential(3, m)))
    ob = np.where(unset, "-", rng.integers(0, 200_000, m).astype(str))
    rb = np.where(unset, "-", rng.integers(0, 2_000_000, m).astype(str))
    o4 = rng.integers(1, 255, (m, 4))
    df = pd.DataFrame({
        "ts": np.char.mod("%.6f", ts),
        "uid": ["C" + format(int(x), "017x") for x in rng.integers(0, 2**62, m)],
        "oh": [f"10.{a}.{b}.{c}" for a, b, c in o4[:, :3]],
        "op": rng.integers(1024, 65535, m),
        "rh": [f"{a}.{b}.{c}.{d}" for a, b, c, d in o4[:, [3, 0, 1, 2]]],
        "rp": rng.choice([443, 80, 22, 53, 3389, 8443], m),
        "proto": rng.choice(["tcp", "udp", "icmp"], m, p=[.8, .18, .02]),
        "service": rng.choice(["ssl", "http", "-", "dns", "ssh"], m),
        "duration": dur, "ob": ob, "rb": rb, "state": state, "lo": "T", "lr": "F", "mb": 0,
        "history": rng.choice(["ShADadFf", "S", "ShR", "Dd", "ShADdaR"], m),
        "opk": rng.integers(1, 500, m), "oib": rng.integers(40, 250_000, m),
        "rpk": rng.integers(0, 500, m), "rib": rng.integers(0, 2_500_000, m), "tp": "-",
    })  # fmt: skip
    return str(df.to_csv(sep="\t", header=False, index=False, lineterminator="\n"))


def prefix(src: Path, rows: int) -> Path:
    """The first ``rows`` data rows of ``src`` as a log of their own (cached)."""
    dst = src.with_name(f"{src.stem.split('.head')[0]}.head{rows}.log")
    if dst.exists():
        return dst
    with open(src) as fi, open(dst.with_suffix(".part"), "w") as fo:
        n = 0
        for line in fi:
            if not line.startswith("#"):
                if n >= rows:
                    continue
                n += 1
            fo.write(line)
    dst.with_suffix(".part").rename(dst)
    return dst


#: kind -> (setup, timed statement); imports and a warm-up read of a 100-row file (W: lazy
#: reader imports, Arrow kernel registration) are not timed, for every contender alike
_PD = "pd.read_csv({}, sep='\\t', comment='#', header=None)"
_CHILD = {
    "attrib": ("import attrib; attrib.read(@W@)", "df = attrib.read(@P@)"),
    "pandas": ("import pandas as pd; " + _PD.format("@W@"), "df = " + _PD.format("@P@")),
    "zat": (
        "from zat.log_to_dataframe import LogToDataFrame; LogToDataFrame().create_dataframe(@W@)",
        "df = LogToDataFrame().create_dataframe(@P@)",
    ),
    "stream": (
        "import attrib.io as aio; sum(len(c) for c in aio.iter_read(@W@))",
        "n = sum(len(c) for c in aio.iter_read(@P@)); df = [0] * n",
    ),
}


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (``VmHWM``; reset by exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print JSON: seconds, rows, peak RSS."""
    warm = prefix(Path(path), 100)
    setup, timed = (
        c.replace("@P@", repr(path)).replace("@W@", repr(str(warm))) for c in _CHILD[kind]
    )
    env: dict[str, object] = {}
    exec(setup, env)  # noqa: S102 - fixed snippets above
    t0 = time.perf_counter()
    exec(timed, env)  # noqa: S102
    secs = time.perf_counter() - t0
    rows = len(env["df"])  # type: ignore[arg-type]
    print(json.dumps({"kind": kind, "seconds": secs, "rows": rows, "peak_rss_mb": _peak_rss_mb()}))


def run(kind: str, path: Path) -> dict[str, float]:
    """One measurement in a subprocess."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def median_of(kinds: list[str], path: Path, runs: int) -> dict[str, dict[str, float]]:
    """Interleaved runs; median seconds and max peak RSS per kind."""
    got: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for i in range(runs):
        for k in kinds:
            r = run(k, path)
            got[k].append(r)
            print(f"  run {i + 1}/{runs} {k:7s} {r['seconds']:7.2f} s  rows={int(r['rows'])}"
                  f"  peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    return {
        k: {
            "median_s": statistics.median(x["seconds"] for x in v),
            "peak_rss_mb": max(x["peak_rss_mb"] for x in v),
            "rows": v[0]["rows"],
        }
        for k, v in got.items()
    }


def main() -> None:
    """Generate (or reuse) the log, time the readers, print medians, ratios and peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--zat-rows", type=int, default=1_000_000, help="0: whole file")
    ap.add_argument("--zat-runs", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / f"conn_{a.rows}.log"
    if not log.exists():
        t = time.perf_counter()
        generate(log, a.rows)
        print(
            f"generated {log} ({log.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s"
        )
    print(f"file: {log} ({a.rows} rows, {log.stat().st_size / 1e6:.0f} MB); cpus: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.1f}")  # fmt: skip
    full = median_of(["attrib", "stream", "pandas"], log, a.runs)
    stream = full["stream"]
    zpath = log if a.zat_rows <= 0 or a.zat_rows >= a.rows else prefix(log, a.zat_rows)
    same = {} if zpath == log else median_of(["attrib"], zpath, a.zat_runs)
    zat = median_of(["zat"], zpath, a.zat_runs)
    att_z = full["attrib"] if zpath == log else same["attrib"]
    print("\nresults (median wall seconds):")
    print(
        f"  {a.rows} rows: attrib.read {full['attrib']['median_s']:.2f} s, "
        f"pandas.read_csv {full['pandas']['median_s']:.2f} s "
        f"-> attrib is {full['pandas']['median_s'] / full['attrib']['median_s']:.2f}x pandas"
    )
    zrows = int(zat["zat"]["rows"])
    print(
        f"  {zrows} rows: attrib.read {att_z['median_s']:.2f} s, zat {zat['zat']['median_s']:.2f} s"
        f" -> attrib is {zat['zat']['median_s'] / att_z['median_s']:.2f}x zat"
    )
    if zpath != log:
        per_row = zat["zat"]["median_s"] / zrows * a.rows
        print(
            f"  zat scaled linearly to {a.rows} rows: ~{per_row:.0f} s "
            f"(~{per_row / full['attrib']['median_s']:.1f}x attrib on the full file)"
        )
    pd_s = full["pandas"]["median_s"]
    print(f"  {a.rows} rows: attrib.iter_read (canonical typed chunks, streamed) "
          f"{stream['median_s']:.2f} s -> {pd_s / stream['median_s']:.2f}x pandas")  # fmt: skip
    print(f"  peak RSS: attrib.iter_read streaming {stream['peak_rss_mb']:.0f} MB; attrib.read (whole table) {full['attrib']['peak_rss_mb']:.0f} MB; "
          f"pandas {full['pandas']['peak_rss_mb']:.0f} MB; zat {zat['zat']['peak_rss_mb']:.0f} MB")  # fmt: skip
    ok_stream = stream["peak_rss_mb"] < 1024
    print(f"  streaming peak RSS < 1 GB: {'yes' if ok_stream else 'NO'}")


if __name__ == "__main__":
    main()
