"""The JSON nesting-depth guard agrees with a byte-by-byte reference, however the bytes are cut."""

from __future__ import annotations

import io

import ijson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.io._jsondepth import DepthGuard, JsonTooDeepError, _Scan, depth_cut


def _reference(data: bytes, max_depth: int) -> int | None:
    depth, in_str, esc = 0, False, False
    for i, c in enumerate(data):
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in b"[{":
            depth += 1
            if depth > max_depth:
                return i
        elif c in b"]}":
            depth -= 1
    return None


def _backslash_only_in_strings(data: bytes) -> bool:
    in_str, esc = False, False
    for c in data:
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c == 0x5C:
            return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(list(b'[]{}"\\a')), max_size=80).map(bytes),
    st.integers(1, 6),
    st.lists(st.integers(0, 80), max_size=5),
)
def test_scan_matches_reference_across_any_chunking(
    data: bytes, max_depth: int, cuts: list[int]
) -> None:
    if not _backslash_only_in_strings(data):  # a backslash outside strings is a syntax error
        return
    scan, prev, got = _Scan(max_depth), 0, None
    for cut in [*sorted({c for c in cuts if c < len(data)}), len(data)]:
        hit = scan.feed(data[prev:cut])
        if hit is not None:
            got = prev + hit
            break
        prev = cut
    assert got == _reference(data, max_depth)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count() -> None:
    assert depth_cut(b'["[[[[", "\\"[[[[[", "\\\\"]', 1) is None
    assert depth_cut(b'[["\\\\"[', 2) == 6


def test_guard_hands_out_the_bytes_before_the_limit_then_raises() -> None:
    doc = b'[{"a":1},{"b":' + b"[" * 300 + b"]" * 300 + b"}]"
    got = []
    with pytest.raises(JsonTooDeepError):
        for item in ijson.items(DepthGuard(io.BytesIO(doc)), "item", use_float=True):
            got.append(item)
    assert got == [{"a": 1}]
