"""Distinct hosts/services per origin: exact up to the bound, a sketch within its error past it."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from attrib.features import OriginAccumulator, _distinct
from attrib.features._distinct import REL_ERROR, DistinctSketches
from attrib.schema import conform_events

SCANNER, QUIET = "81.2.69.7", "203.0.113.9"


def _events(n_hosts: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hosts = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(n_hosts)]
    scan = pd.DataFrame({"src_ip": SCANNER, "dst_ip": rng.permutation(hosts),
                         "dst_port": rng.integers(1, 60000, n_hosts)})  # fmt: skip
    quiet = pd.DataFrame({"src_ip": QUIET, "dst_ip": ["10.0.0.1", "10.0.0.2"] * 50,
                          "dst_port": [443, 22] * 50})  # fmt: skip
    df = pd.concat([scan, quiet], ignore_index=True).sample(frac=1.0, random_state=seed)
    df["ts"] = pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(np.arange(len(df)), "s")
    df["source"], df["event_type"] = "zeek", "conn"
    return conform_events(df.reset_index(drop=True))


def _counts(acc: OriginAccumulator) -> pd.DataFrame:
    o = acc.result(enrichment=pd.DataFrame({"ip": [SCANNER, QUIET]}))
    return o.set_index("ip")[["n_hosts", "n_services"]]


def _fold(ev: pd.DataFrame, size: int, max_rows: int = 2_000_000) -> OriginAccumulator:
    acc = OriginAccumulator(max_rows=max_rows)
    for i in range(0, len(ev), size):
        acc.update(ev.iloc[i : i + size])
    return acc


def test_past_the_bound_counts_are_sketched_within_the_error(monkeypatch) -> None:
    monkeypatch.setattr(_distinct, "BOUND", 200)
    ev = _events(20_000)
    acc = _fold(ev, 1_000, max_rows=3_000)
    got = _counts(acc)
    assert got.loc[QUIET].tolist() == [2.0, 2.0]  # below the bound: exact
    assert abs(got.loc[SCANNER, "n_hosts"] / 20_000 - 1) < 4 * REL_ERROR
    true_ports = ev.loc[ev["src_ip"] == SCANNER, "dst_port"].nunique()
    assert abs(got.loc[SCANNER, "n_services"] / true_ports - 1) < 4 * REL_ERROR
    held = acc._t["host"].merged()
    assert len(held) <= 2 and len(acc._sk["host"]) == 1  # the scanner's hosts left the table


def test_sketches_merge_like_one_pass(monkeypatch) -> None:
    monkeypatch.setattr(_distinct, "BOUND", 200)
    ev = _events(5_000, seed=1)
    whole = _counts(_fold(ev, 500, max_rows=1_000))
    a, b = _fold(ev.iloc[:2_600], 500, 1_000), _fold(ev.iloc[2_600:], 500, 1_000)
    merged = pickle.loads(pickle.dumps(a)).merge(pickle.loads(pickle.dumps(b)))
    pd.testing.assert_frame_equal(_counts(merged), whole)


def test_below_the_bound_nothing_is_sketched() -> None:
    ev = _events(3_000)
    acc = _fold(ev, 700)
    assert not len(acc._sk["host"]) and _counts(acc).loc[SCANNER, "n_hosts"] == 3_000


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_estimate_error(n: int) -> None:
    sk = DistinctSketches()
    h = pd.util.hash_array(np.asarray([f"v{i}" for i in range(n)], dtype=object))
    sk.add(np.zeros(n, dtype=np.int64), h.astype(np.uint64))
    assert abs(sk.estimates().iloc[0] / n - 1) < 4 * REL_ERROR
