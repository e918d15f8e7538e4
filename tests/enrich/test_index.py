"""Range index: segments built from ranges answer exactly what a brute-force scan answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.enrich._index import RangeIndex, ints_to_v6_keys, segments_v4, segments_v6
from attrib.enrich.tags import build_tag_index


def _disjoint(draw: st.DrawFn, bits: int) -> list[tuple[int, int, int]]:
    top = (1 << bits) - 1
    cuts = sorted(set(draw(st.lists(st.integers(0, top), min_size=0, max_size=16))))
    out = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        out.append((a, b, draw(st.integers(0, 3))))
    if draw(st.booleans()) and cuts:  # sometimes a range touching the top of the space
        out = [r for r in out if r[1] < top]
        s = max([r[1] for r in out], default=-1) + 1
        out.append((s, top, 1))
    return out


@st.composite
def ranges4(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    return _disjoint(draw, 32)


@st.composite
def ranges6(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    return _disjoint(draw, 128)


def _brute(ranges: list[tuple[int, int, int]], x: int) -> int:
    for s, e, v in ranges:
        if s <= x <= e:
            return v
    return -1


def _probes(ranges: list[tuple[int, int, int]], top: int, extra: list[int]) -> list[int]:
    pts = {0, top, *extra}
    for s, e, _ in ranges:
        pts.update(x for x in (s - 1, s, e, e + 1) if 0 <= x <= top)
    return sorted(pts)


@settings(max_examples=200, deadline=None)
@given(ranges4(), st.lists(st.integers(0, (1 << 32) - 1), max_size=10))
def test_segments_v4_match_brute_force(
    ranges: list[tuple[int, int, int]], extra: list[int]
) -> None:
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ranges))  # input order must not matter
    rs = [ranges[i] for i in order]
    s, v = segments_v4([r[0] for r in rs], [r[1] for r in rs], [r[2] for r in rs])
    assert s[0] == 0 and (np.diff(s.astype(np.int64)) > 0).all()
    assert (v[1:] != v[:-1]).all()  # neighbours merged
    idx = RangeIndex(s, v, np.array([b""], dtype="S16"), np.array([-1], dtype=np.int32))
    q = _probes(ranges, (1 << 32) - 1, extra)
    got = idx.lookup(
        np.ones(len(q), bool), np.array(q, dtype=np.uint32), np.zeros(len(q), dtype="S16")
    )
    assert got.tolist() == [_brute(ranges, x) for x in q]


@settings(max_examples=200, deadline=None)
@given(ranges6(), st.lists(st.integers(0, (1 << 128) - 1), max_size=10))
def test_segments_v6_match_brute_force(
    ranges: list[tuple[int, int, int]], extra: list[int]
) -> None:
    m = (1 << 64) - 1
    s, v = segments_v6(
        np.array([r[0] >> 64 for r in ranges], dtype=np.uint64),
        np.array([r[0] & m for r in ranges], dtype=np.uint64),
        np.array([r[1] >> 64 for r in ranges], dtype=np.uint64),
        np.array([r[1] & m for r in ranges], dtype=np.uint64),
        np.array([r[2] for r in ranges], dtype=np.int64),
    )
    idx = RangeIndex(np.zeros(1, np.uint32), np.full(1, -1, np.int32), s, v)
    q = _probes(ranges, (1 << 128) - 1, extra)
    got = idx.lookup(np.zeros(len(q), bool), np.zeros(len(q), np.uint32), ints_to_v6_keys(q))
    assert got.tolist() == [_brute(ranges, x) for x in q]


def test_overlapping_tags_combine() -> None:
    idx, sets = build_tag_index(
        [
            ("10.0.0.0/8", "a"),
            ("10.1.0.0/16", "b"),
            ("10.1.2.3", "c"),
            ("2001:db8::/32", "a"),
            ("2001:db8::/48", "cloud:x"),
        ]
    )

    def tag(ip: str) -> str | None:
        import ipaddress

        a = ipaddress.ip_address(ip)
        if a.version == 4:
            i = idx.lookup(np.array([True]), np.array([int(a)], np.uint32), np.zeros(1, "S16"))[0]
        else:
            i = idx.lookup(np.array([False]), np.zeros(1, np.uint32), ints_to_v6_keys([int(a)]))[0]
        return None if i < 0 else sets[i]

    assert tag("10.0.0.1") == "a"
    assert tag("10.1.0.0") == "a,b"
    assert tag("10.1.2.3") == "a,b,c"
    assert tag("10.1.2.4") == "a,b"
    assert tag("10.2.0.0") == "a"
    assert tag("11.0.0.0") is None
    assert tag("2001:db8::1") == "a,cloud,cloud:x"
    assert tag("2001:db8:1::") == "a"
    assert tag("2001:db9::") is None
