"""Peak memory of chunked feature aggregation: N origins from M events via OriginAccumulator.

Synthetic canonical event chunks are generated directly (no files): each origin is active on a
few consecutive days; half the events are Entra sign-ins (accounts, outcomes, error codes,
User-Agents), half are connections (destinations, ports, JA4, TCP fingerprints, RTTs). The
events are never materialised as one table: each chunk is folded and dropped. A child process
per size measures its own peak RSS (``ru_maxrss``), so the sizes do not contaminate each other.

Usage::

    .venv/bin/python bench/features_memory.py                       # 1M origins / 20M events
    .venv/bin/python bench/features_memory.py --sizes 100000:2000000,1000000:20000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from attrib.context import OrgContext
from attrib.features import OriginAccumulator

T0 = pd.Timestamp("2026-03-01T00:00:00Z").value


def _ips(n: int) -> np.ndarray:
    k = np.arange(n, dtype=np.int64) + (11 << 24)  # 11.0.0.0 upwards: public unicast
    return np.array([f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in k])


def _take(values: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pd.Series:
    """Strings by index, built in Arrow (C speed); ``mask`` True = null."""
    taken = values.take(pa.array(idx, mask=mask))
    return pd.Series(pd.arrays.ArrowStringArray(taken.cast(pa.large_string())))


def chunks(n_origins: int, n_events: int, chunk: int, seed: int = 0, progress: bool = False):
    """Yield canonical event chunks (only the columns the feature stage reads)."""
    rng = np.random.default_rng(seed)
    ips = pa.array(_ips(n_origins))
    start_day = rng.integers(0, 28, n_origins)
    life = rng.integers(1, 4, n_origins)
    users = pa.array([f"user{i}@example.com" for i in range(50_000)])
    uas = pa.array([f"Mozilla/5.0 (Windows NT 10.0) Chrome/{100 + i}" for i in range(60)])
    ja4 = pa.array([f"t13d{i:04d}h2_abc_def" for i in range(120)])
    fps = pa.array([f"4:64:{i}:29200:1460:7:M,S,T,N,W:df" for i in range(40)])
    codes = pa.array(["0", "50126", "50053", "50076", "50034"])
    dst = pa.array(["192.0.2.10"])
    done = 0
    while done < n_events:
        n = min(chunk, n_events - done)
        o = rng.integers(0, n_origins, n)
        day = start_day[o] + rng.integers(0, life[o])
        ts = T0 + day * 86_400 * 10**9 + rng.integers(0, 86_400 * 10**9, n)
        ident = rng.random(n) < 0.5
        fail = rng.random(n) < 0.6
        yield pd.DataFrame({
            "ts": pd.to_datetime(ts, utc=True),
            "src_ip": _take(ips, o),
            "dst_ip": _take(dst, np.zeros(n, np.int64), ident),
            "dst_port": pd.array(np.where(ident, 0, 443), dtype="UInt16"),
            "user": _take(users, rng.integers(0, 50_000, n), ~ident),
            "outcome": pd.Categorical(np.where(ident, np.where(fail, "failure", "success"), None),
                                      categories=["success", "failure", "other"]),
            "error_code": _take(codes, rng.integers(1, 5, n), ~(ident & fail)),
            "user_agent": _take(uas, o % 60),
            "ja4": _take(ja4, o % 120, ident),
            "tcp_fp": _take(fps, o % 40, ident),
            "rtt_ack_ms": pd.array(np.where(ident, np.nan, rng.gamma(4, 10, n)), dtype="Float64"),
            "source": pd.Categorical(np.where(ident, "entra", "zeek")),
        })  # fmt: skip
        if progress:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  {done + n} events folded so far; peak RSS {rss:.0f} MiB", file=sys.stderr,
                  flush=True)  # fmt: skip
        done += n


def run_one(n_origins: int, n_events: int, chunk: int) -> dict[str, float]:
    """Fold every chunk, build the origins table; return timings and the peak RSS."""
    t0 = time.perf_counter()
    acc = OriginAccumulator(OrgContext(timezone="Europe/Berlin", accounts=50_000))
    for c in chunks(n_origins, n_events, chunk, progress=True):
        acc.update(c)
    t_fold = time.perf_counter() - t0
    origins = acc.result()
    t_all = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"origins": len(origins), "events": acc.events_seen, "fold_s": round(t_fold, 1),
            "total_s": round(t_all, 1), "peak_rss_mib": round(peak)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run each size in a child process and print its peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000:20000000", help="origins:events,...")
    ap.add_argument("--chunk", type=int, default=500_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        o, e = (int(x) for x in a.child.split(":"))
        print(json.dumps(run_one(o, e, a.chunk)))
        return 0
    base = None
    for size in a.sizes.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", size, "--chunk", str(a.chunk)],
                             check=True, stdout=subprocess.PIPE, text=True).stdout  # fmt: skip
        r = json.loads(out.strip().splitlines()[-1])
        base = base or r
        print(
            f"origins={r['origins']:>9} events={r['events']:>10} chunk={a.chunk} "
            f"fold={r['fold_s']}s total={r['total_s']}s peak RSS={r['peak_rss_mib']} MiB "
            f"(x{r['peak_rss_mib'] / base['peak_rss_mib']:.2f} of the first size)",
            flush=True,
        )
    # what the events alone would take if materialised (canonical dtypes), for comparison
    sample = next(chunks(1000, 100_000, 100_000))
    per_row = sample.memory_usage(deep=True).sum() / len(sample)
    print(
        f"reference: a materialised events table of these columns takes ~{per_row:.0f} B/row "
        f"-> {per_row * 20e6 / 2**20:.0f} MiB for 20M events (machine shared and loaded)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
