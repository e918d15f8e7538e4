"""Relay-chain reconstruction on the simulator's two-sided preset: precision and recall.

The ``two_sided`` preset writes ``relay/conn.log``, a Zeek capture at one compromised router
that sees both legs of every relayed session plus the household's own browsing (chaff).
``truth_chains.parquet`` lists the true edges (``in_uid`` -> ``out_uid`` at that router). We run
:func:`attrib.cluster.chains.link_chains` on the relay capture (relays found automatically) and score
edge-level precision and recall.

Usage::

    .venv/bin/python bench/chains_eval.py two_sided:2 two_sided:3 two_sided:7
    .venv/bin/python bench/chains_eval.py --attempts 12 two_sided:4 two_sided:5   # busier relay
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import pandas as pd

import attrib
from attrib.cluster.chains import link_chains
from attrib.simulate import simulate


def main(argv: list[str] | None = None) -> int:
    """Print precision/recall per scenario and overall."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenarios", nargs="+", help="preset:seed (a two-sided preset)")
    ap.add_argument("--workdir", default="/tmp/attrib-cluster-eval")
    ap.add_argument("--min-confidence", type=float, default=0.3)
    ap.add_argument(
        "--attempts",
        type=float,
        default=None,
        help="override campaign.attempts_per_exit_day (more relayed sessions)",
    )
    a = ap.parse_args(argv)
    tp_all = got_all = true_all = 0
    for spec in a.scenarios:
        preset, seed = spec.split(":")
        over = {} if a.attempts is None else {"campaign.attempts_per_exit_day": a.attempts}
        tag = "" if a.attempts is None else f"_a{a.attempts:g}"
        folder = Path(a.workdir) / f"{preset}_{seed}{tag}"
        if not (folder / "truth_chains.parquet").exists():
            simulate(preset, int(seed), folder, **over)
        events = attrib.read(str(folder / "relay"))
        t0 = time.perf_counter()
        edges = link_chains(events, min_confidence=a.min_confidence)
        dt = time.perf_counter() - t0
        truth = pd.read_parquet(folder / "truth_chains.parquet").dropna(subset=["in_uid"])
        want = set(zip(truth["in_uid"].astype(str), truth["out_uid"].astype(str), strict=True))
        got = set(zip(edges["in_uid"].astype(str), edges["out_uid"].astype(str), strict=True))
        tp = len(want & got)
        p = tp / max(len(got), 1)
        r = tp / max(len(want), 1)
        tp_all, got_all, true_all = tp_all + tp, got_all + len(got), true_all + len(want)
        print(f"{spec:14s} relay-rows={len(events)} true-edges={len(want)} found={len(got)} "
              f"precision={p:.4f} recall={r:.4f} time={dt:.2f}s", flush=True)  # fmt: skip
    print(
        f"overall precision={tp_all / max(got_all, 1):.4f} recall={tp_all / max(true_all, 1):.4f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB (shared, loaded machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
