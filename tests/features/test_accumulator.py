"""Chunked aggregation gives exactly the single-pass result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from attrib.context import OrgContext
from attrib.features import FEATURE_COLUMNS, FEATURE_DESCRIPTIONS, OriginAccumulator, build_origins

from .conftest import make_events


def _random_events(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ips = [f"203.0.113.{i}" for i in range(1, 40)] + ["10.0.0.1"]
    ident = rng.random(n) < 0.5
    ts = pd.Timestamp("2026-11-02T00:00:00Z") + pd.to_timedelta(rng.integers(0, 5 * 86400, n), "s")
    df = pd.DataFrame({
        "ts": ts,
        "src_ip": rng.choice(ips, n),
        "dst_ip": np.where(ident, None, rng.choice(["192.0.2.1", "192.0.2.2"], n)),
        "dst_port": np.where(ident, None, rng.choice([22, 443], n)),
        "user": np.where(ident, rng.choice([f"u{i}@o" for i in range(15)], n), None),
        "outcome": np.where(ident, rng.choice(["success", "failure"], n), None),
        "error_code": np.where(ident, rng.choice(["50126", "50053", "0"], n), None),
        "source": np.where(ident, "entra", "zeek"),
        "user_agent": rng.choice(["ua1 Windows", "ua2 Android", None], n),
        "ja4": np.where(ident, None, rng.choice(["j1", "j2", "j3"], n)),
        "tcp_fp": np.where(ident, None, rng.choice(["f1", "f2"], n)),
        "tcp_os": np.where(ident, None, rng.choice(["linux", "windows"], n)),
        "rtt_ack_ms": np.where(ident, np.nan, rng.integers(5, 200, n)).astype(float),
        "rtt_app_ms": np.where(ident, np.nan, rng.integers(5, 400, n)).astype(float),
    })  # fmt: skip
    return make_events(df.to_dict("records"))


def test_chunked_equals_whole() -> None:
    ev = _random_events(3000, 1)
    ctx = OrgContext(timezone="Asia/Tokyo", accounts=50)
    whole = build_origins(ev, context=ctx)
    acc = OriginAccumulator(ctx, max_rows=200)  # force many intermediate merges
    for start in range(0, len(ev), 250):
        acc.update(ev.iloc[start : start + 250])
    chunked = acc.result()
    pdt.assert_frame_equal(whole, chunked)
    assert len(whole) == 39  # the private source is no origin
    assert acc.events_seen == 3000


def test_columns_and_descriptions_are_stable() -> None:
    assert len(FEATURE_COLUMNS) == len(set(FEATURE_COLUMNS))
    assert set(FEATURE_DESCRIPTIONS) == set(FEATURE_COLUMNS)
    assert all("{value}" in FEATURE_DESCRIPTIONS[c] for c in FEATURE_COLUMNS)
    o = build_origins(_random_events(200, 2))
    assert list(o.columns[:1]) == ["ip"]
    assert all(o[c].dtype == np.float64 for c in FEATURE_COLUMNS)


def test_empty_and_columnless_input() -> None:
    o = build_origins(make_events([]))
    assert len(o) == 0 and set(FEATURE_COLUMNS) <= set(o.columns)
    o = build_origins(pd.DataFrame({"src_ip": ["203.0.113.1"], "ts": ["2026-11-02T00:00:00Z"]}))
    assert len(o) == 1 and o.loc[0, "n_events"] == 1.0
