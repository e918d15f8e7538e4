"""Merging accumulators built on parts of the input equals one accumulator on the whole.

This guards the state that the Dask engine ships between processes: whatever the accumulator's
internals become, ``merge`` of split inputs (after pickling) must give every feature column of
the single-pass result, in the same row order.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.context import OrgContext
from attrib.features import OriginAccumulator
from attrib.features._merge import CODED, TOKEN_CODED
from attrib.features.accumulator import _tables
from attrib.features.direction import DirectedAccumulator
from attrib.features.tokens import _AGG, TokenAccumulator
from attrib.io import read
from attrib.pipeline._stream import StreamResult

DEMO = Path(__file__).resolve().parents[2] / "data" / "samples" / "demo"


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame, OrgContext]:
    """Demo connections, sign-ins and audit events (time-ordered per source), enrichment."""
    from attrib.enrich import default_enricher

    ev = read([DEMO / "zeek", DEMO / "entra", DEMO / "m365"])
    ips = pd.Series(pd.unique(ev["src_ip"].dropna()), dtype="string")
    return ev, default_enricher().lookup(ips), OrgContext.from_toml(DEMO / "org.toml")


def _split(ev: pd.DataFrame, cuts: list[int]) -> list[pd.DataFrame]:
    bounds = [0, *sorted(set(cuts)), len(ev)]
    return [ev.iloc[i:j] for i, j in zip(bounds, bounds[1:], strict=False) if j > i]


def _fold(ctx: OrgContext, part: pd.DataFrame, chunk: int = 4_000) -> OriginAccumulator:
    acc = OriginAccumulator(ctx, max_rows=5_000)  # small: merges inside each part too
    for i in range(0, len(part), chunk):
        acc.update(part.iloc[i : i + chunk])
    return pickle.loads(pickle.dumps(acc))  # what a worker ships


def _tree(accs: list[OriginAccumulator], shape: list[bool]) -> OriginAccumulator:
    """Combine neighbours pairwise, in an order ``shape`` picks (any tree keeps the order)."""
    accs = list(accs)
    k = 0
    while len(accs) > 1:
        i = (len(accs) - 2) if shape[k % len(shape)] else 0
        accs[i : i + 2] = [accs[i].merge(accs[i + 1])]
        k += 1
    return accs[0]


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns) and len(want.columns) > 50
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)


@pytest.fixture(scope="module")
def whole(demo: tuple[pd.DataFrame, pd.DataFrame, OrgContext]) -> pd.DataFrame:
    ev, enr, ctx = demo
    return _fold(ctx, ev).result(enr)


def test_merge_of_three_parts_equals_the_single_pass(demo, whole):
    ev, enr, ctx = demo
    n = len(ev)
    parts = [_fold(ctx, p) for p in _split(ev, [n // 3, 2 * n // 3])]
    snapshot = pickle.dumps(parts[1])
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert pickle.dumps(parts[1]) == snapshot  # the merged-in state is left as it was
    assert merged.events_seen == n
    _same(merged.result(enr), whole)
    assert whole["n_events"].sum() > 0 and (whole["n_accounts"] > 0).any()


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=22_000), min_size=1, max_size=4),
    shape=st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_any_split_and_tree_gives_the_single_pass(demo, whole, cuts, shape):
    ev, enr, ctx = demo
    parts = [_fold(ctx, p) for p in _split(ev, [c % len(ev) for c in cuts if c % len(ev)])]
    _same(_tree(parts, shape).result(enr), whole)


def test_merge_with_an_empty_part_changes_nothing(demo, whole):
    ev, enr, ctx = demo
    empty = OriginAccumulator(ctx)
    _same(empty.merge(_fold(ctx, ev)).merge(OriginAccumulator(ctx)).result(enr), whole)


class Seen(StreamResult):
    """A recorder of what a view saw that merges (only its count matters here)."""

    def merge(self, other: StreamResult) -> None:
        self.events += other.events


def test_directed_accumulators_merge_every_view(demo):
    ev, enr, ctx = demo

    def directed(part: pd.DataFrame) -> DirectedAccumulator:
        d = DirectedAccumulator(ctx, None, lambda: OriginAccumulator(ctx), Seen)
        return d.update(part)

    one = directed(ev)
    a, b = (pickle.loads(pickle.dumps(directed(p))) for p in _split(ev, [len(ev) // 2]))
    both = a.merge(b)
    assert both.counts.as_dict() == one.counts.as_dict()
    assert both.direction == one.direction
    for d in ("inbound", "outbound"):
        _same(both.views[d][0].result(enr), one.views[d][0].result(enr))
        assert both.views[d][1].events == one.views[d][1].events
    pd.testing.assert_frame_equal(both.peers.table(), one.peers.table())


def test_every_coded_column_is_declared():
    """A new partial table or state attribute must be taught to ``merge`` (see _merge.py)."""
    assert set(CODED) == set(_tables())
    assert set(TOKEN_CODED) == set(_AGG)
    for name, tab in _tables().items():
        assert set(CODED[name]) <= set(tab.keys)
    known = {"context", "max_rows", "_ip", "_user", "_trait", "_host", "_svc", "_eligible",
             "_t", "_hours", "_has_identity", "_has_conn", "_token", "events_seen",
             "_sk", "_vh"}  # fmt: skip
    # _sk is merged by DistinctSketches.merge; _vh is a cache of value hashes
    assert set(vars(OriginAccumulator())) == known
    assert set(vars(TokenAccumulator())) == {"_parts", "_rows", "_app", "_mbx", "_t0",
                                             "_sig_kinds"}  # fmt: skip
