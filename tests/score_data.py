"""Synthetic origins tables for the scorer tests (no simulator needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2026-03-02", tz="UTC")


def synthetic_origins(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Origins with two informative features, one noise feature with gaps, and clusters."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.04
    life_h = np.where(y, rng.exponential(30, n), rng.exponential(400, n))
    df = pd.DataFrame(
        {
            "ip": [f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(n)],
            "attempts_per_account_day": np.where(y, rng.poisson(3, n), rng.poisson(0.4, n)).astype(
                float
            ),
            "failure_ratio": np.clip(
                np.where(y, rng.normal(0.8, 0.1, n), rng.normal(0.1, 0.1, n)), 0, 1
            ),
            "noise": rng.normal(size=n),
            "net_type": pd.Categorical(
                np.where(y | (rng.random(n) < 0.3), "residential", "business")
            ),
            "cluster": pd.array(
                np.where(y, "C" + (np.arange(n) % 3).astype(str), None), dtype="string"
            ),
            "first_seen": T0,
        }
    )
    df["last_seen"] = df["first_seen"] + pd.to_timedelta(life_h, unit="h")
    df.loc[rng.random(n) < 0.05, "noise"] = np.nan
    return df, y.astype(int)
