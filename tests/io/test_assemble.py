"""EventsBuilder: one table from many chunks equals ``pandas.concat`` of them, value for value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import attrib
import attrib.io as aio
from attrib.io._assemble import EventsBuilder, expected_rows
from attrib.schema import EVENT_COLUMNS, conform_events, empty_events

DEMO = Path(__file__).resolve().parents[2] / "data" / "samples" / "demo"


def _chunk(n: int, start: int, *, ports: bool, proto: bool, ts_nat: bool) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    ts = pd.Series(pd.to_datetime(1_700_000_000 + start + np.arange(n), unit="s", utc=True))
    if ts_nat:
        ts.iloc[::3] = pd.NaT
    df = pd.DataFrame(
        {
            "ts": ts,
            "src_ip": [f"10.0.{i % 256}.{start % 256}" for i in range(n)],
            "bytes_out": pd.array(rng.integers(0, 10**9, n), dtype="Int64"),
            "duration": pd.array(
                np.where(rng.random(n) < 0.3, np.nan, rng.random(n)), dtype="Float64"
            ),  # fmt: skip
            "user": pd.array([None] * n, dtype="string[pyarrow]"),
        }
    )
    if ports:
        df["src_port"] = pd.array(rng.integers(0, 65536, n), dtype="UInt16")
    if proto:
        df["proto"] = pd.Categorical(rng.choice(["tcp", "udp", None], n))
    return conform_events(df)


def _chunks() -> list[pd.DataFrame]:
    # columns all-null in the leading chunks and set later (ports, proto), NaT timestamps,
    # uneven sizes, an empty chunk
    return [
        _chunk(5, 0, ports=False, proto=False, ts_nat=True),
        _chunk(0, 5, ports=False, proto=False, ts_nat=False),
        _chunk(70_000, 5, ports=True, proto=False, ts_nat=False),
        _chunk(3, 70_005, ports=False, proto=True, ts_nat=True),
        _chunk(100_000, 70_008, ports=True, proto=True, ts_nat=False),
    ]


@pytest.mark.parametrize("expected", [0, 10, 10**6])
def test_builder_equals_concat(expected: int) -> None:
    # expected=0/10: the buffers start small and must grow; 10**6: reserved up front
    b = EventsBuilder(expected)
    for c in _chunks():
        b.add(c)
    got = b.build()
    want = pd.concat(_chunks(), ignore_index=True)
    assert tuple(got.columns) == EVENT_COLUMNS
    assert isinstance(got.index, pd.RangeIndex) and len(got) == b.rows == len(want)
    pd.testing.assert_frame_equal(got, conform_events(want))


def test_builder_result_is_writable_and_independent() -> None:
    b = EventsBuilder()
    chunks = _chunks()
    for c in chunks:
        b.add(c)
    got = b.build()
    got.loc[0, "prov_asn"] = 64500  # an all-null column (shared read-only buffers)
    got.loc[1, "bytes_out"] = -1
    assert got.loc[0, "prov_asn"] == 64500 and pd.isna(got.loc[1, "prov_asn"])
    assert got.loc[1, "bytes_out"] == -1
    assert chunks[0].loc[1, "bytes_out"] != -1  # the inputs are not aliased


def test_builder_single_chunk_and_empty() -> None:
    c = _chunk(4, 0, ports=True, proto=True, ts_nat=False)
    b = EventsBuilder()
    b.add(c)
    assert b.build() is c  # nothing to join: no copy
    e = EventsBuilder()
    e.add(empty_events())
    pd.testing.assert_frame_equal(e.build(), empty_events())


def test_expected_rows_errs_high(tmp_path: Path) -> None:
    p = tmp_path / "conn.log"
    p.write_bytes(b"x" * 48_000)
    assert expected_rows([p]) == 1000
    assert expected_rows([tmp_path / "missing"]) == 0


def test_read_equals_concat_of_streamed_chunks() -> None:
    # the real readers (Zeek TSV, Entra, M365, pcap) in small chunks, through read()
    got = attrib.read(DEMO, chunksize=997)
    chunks = list(aio.iter_read(DEMO, chunksize=997))
    assert len(chunks) > 3
    want = aio.join_events(pd.concat(chunks, ignore_index=True))
    pd.testing.assert_frame_equal(got, want)


def test_single_file_read_is_writable() -> None:
    # one chunk comes back as the reader built it: its all-null numeric columns must be
    # ordinary writable arrays too
    ev = attrib.read(next((DEMO / "zeek").glob("conn*")))
    ev.loc[0, "prov_asn"] = 64500
    ev.loc[0, "rtt_syn_ms"] = 1.5
    assert ev.loc[0, "prov_asn"] == 64500 and pd.isna(ev.loc[1, "prov_asn"])
