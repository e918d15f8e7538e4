"""Scoring throughput: OriginScorer.score_origins on a synthetic 1M-origin feature frame.

Prints the median wall time of ``score_origins`` (scores, ranks, reasons, reasons_json) over
``--repeat`` runs, of ``predict_proba`` alone, and of a reference measured in the same run
(scikit-learn ``LogisticRegression.predict_proba`` on the same raw matrix), the ratios, and
peak RSS. The frame has every column of ``attrib.features.FEATURE_COLUMNS`` (counts, shares,
flags, distances; 3% missing), a cluster column (10% of origins in clusters), tooling columns
(top User-Agent and TLS fingerprint) and the core columns the cluster context needs.

    .venv/bin/python bench/score_1m.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from attrib.features import FEATURE_COLUMNS
from attrib.score import OriginScorer

T0 = pd.Timestamp("2026-03-02", tz="UTC")


def frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.01
    cols: dict[str, np.ndarray] = {}
    for i, f in enumerate(FEATURE_COLUMNS):
        if f.startswith(("is_", "tag_")) or f in ("same_country", "os_mismatch", "seen_before"):
            v = (rng.random(n) < np.where(y, 0.6, 0.2)).astype(float)
        elif f.endswith(("_share", "_ratio")) or f == "duty_cycle":
            v = np.clip(rng.beta(2, 5, n) + 0.3 * y * (i % 2), 0, 1)
        else:
            v = rng.gamma(1.5, 10.0, n) * np.where(y & (i % 3 == 0), 3.0, 1.0)
        v[rng.random(n) < 0.03] = np.nan
        cols[f] = v
    df = pd.DataFrame(cols)
    df.insert(
        0,
        "ip",
        pd.array(
            [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)], dtype="string"
        ),
    )
    clustered = rng.random(n) < 0.1
    df["cluster"] = pd.array(
        np.where(clustered, "C" + (rng.integers(0, 5000, n)).astype(str), None), dtype="string"
    )
    df["net_type"] = pd.Categorical(rng.choice(["residential", "mobile", "hosting", "business"], n))
    # tooling (campaign context groups by it): a few hundred User-Agents and TLS fingerprints
    df["top_user_agent"] = pd.array(
        np.char.add("Mozilla/5.0 tool ", rng.zipf(1.5, n).clip(0, 400).astype(str)), dtype="string"
    )
    df["top_ja4"] = pd.array(
        np.char.add("t13d_", rng.zipf(1.7, n).clip(0, 200).astype(str)), dtype="string"
    )
    df["first_seen"] = T0 + pd.to_timedelta(rng.integers(0, 14 * 24, n), unit="h")
    df["last_seen"] = df["first_seen"] + pd.to_timedelta(rng.exponential(100, n), unit="h")
    return df, y.astype(int)


CPU: dict[str, float] = {}


def timed(fn, repeat: int, name: str = "") -> tuple[float, object]:
    """Median wall seconds; the median CPU seconds of this process go to CPU[name]."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    CPU[name] = statistics.median(cpus)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    df, y = frame(a.rows)
    sample = np.random.default_rng(1).choice(a.rows, 50_000, replace=False)
    model = OriginScorer().fit(df.iloc[sample].reset_index(drop=True), y[sample])
    raw = np.nan_to_num(df[list(FEATURE_COLUMNS)].to_numpy(np.float64))
    ref = LogisticRegression(max_iter=200).fit(raw[sample], y[sample])
    t_ref, _ = timed(lambda: ref.predict_proba(raw), a.repeat, "ref")
    t_proba, _ = timed(lambda: model.predict_proba(df), a.repeat, "proba")
    t_score, out = timed(lambda: model.score_origins(df), a.repeat, "score")
    assert out is not None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_feat = len(model.features_)
    print(f"rows={a.rows} model_features={n_feat} repeat={a.repeat} (median wall seconds)")
    print(f"reference LogisticRegression.predict_proba(raw matrix): {t_ref:.2f}s")
    print(
        f"OriginScorer.predict_proba (context + bins + calibration): {t_proba:.2f}s  ratio {t_proba / t_ref:.1f}x"
    )
    print(
        f"OriginScorer.score_origins (+ ranks, reasons, reasons_json): {t_score:.2f}s  ratio {t_score / t_ref:.1f}x"
    )
    print(
        f"CPU seconds (median; robust to a loaded machine): reference {CPU['ref']:.2f}, "
        f"predict_proba {CPU['proba']:.2f}, score_origins {CPU['score']:.2f}"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
