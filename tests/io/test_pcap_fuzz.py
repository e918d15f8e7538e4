"""Property-based fuzzing of the capture parsers with mutated real captures.

Every mutation of a real capture must parse to connections or fail with an ``AttribError``
(a clear one-line message) — never a crash, hang or traceback. The parsing layers (container,
decoding, both connection trackers, TLS/SSH/HTTP and TCP option parsing) run for 10,000 cases,
with the compiled decoder, stream reassembly, ClientHello and SYN-option parsing checked against
the Python/numpy ones on every case; a smaller run goes through the whole public
``attrib.io.read``.
"""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from _pcap_data import JA4_DIR, REPO, ZEEK_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.errors import AttribError
from attrib.io import read
from attrib.io._base import FileStats, ReadContext
from attrib.io.pcap import _row
from attrib.io.pcap._conn import Tracker
from attrib.io.pcap._container import iter_batches
from attrib.io.pcap._decode import Decoded, decode
from attrib.io.pcap._read import iter_decoded, release
from attrib.io.pcap._table import FastTracker

_SEEDS = [
    REPO / "tests" / "data" / "pcap" / "warmup.pcap",
    ZEEK_DIR / "Traces" / "pppoe.pcap",
    ZEEK_DIR / "Traces" / "tcp-http-with-padding.pcap",
    ZEEK_DIR / "Traces" / "tunnels" / "gre-sample.pcap",
    JA4_DIR / "pcap" / "tls-alpn-h2.pcap",
    JA4_DIR / "pcap" / "tls-non-ascii-alpn.pcapng",
    JA4_DIR / "pcap" / "dhcp.pcapng",
    JA4_DIR / "pcap" / "gre-erspan-vxlan.pcap",
]
CORPUS = [p.read_bytes() for p in _SEEDS if p.exists()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(0, 12))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):  # overwrite a 4-byte field (lengths, magics) with an extreme value
        pos = draw(st.integers(0, max(0, len(data) - 4)))
        data[pos : pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\0\0\0\0",
                                                    b"\x00\x00\x01\x00", b"\x7f\xff\xff\xff"]))  # fmt: skip
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:  # splice in random bytes
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def _parse(data: bytes, reference: bool = True) -> int:
    ctx = ReadContext(stats=FileStats(path="fuzz.pcap"), max_bad_rows=10**9)
    fast = FastTracker(cap=64, verify=True)
    done: list[object] = []
    ref = Tracker(done.append)
    rows = 0
    try:
        for batch in iter_batches(io.BytesIO(data), ctx):
            d = decode(batch)
            _same_decoding(d, decode(batch, compiled=False))
            rows += _extras(fast.feed(batch, d))
            if reference:
                ref.feed(batch, d)
        rows += _extras(fast.flush())
        ref.flush()
        _same_walked(data)
    except AttribError:
        return -1
    for c in done:
        _row(c, "fuzz")  # type: ignore[arg-type]
    return rows


def _same_walked(data: bytes) -> None:
    """The one-pass compiled walk gives the numpy decoder's fields for the same records."""
    ctx = ReadContext(stats=FileStats(path="fuzz.pcap"), max_bad_rows=10**9)
    for batch, d in iter_decoded(io.BytesIO(data), ctx, reassemble=False):
        _same_decoding(d, decode(batch, compiled=False))
        release(batch)


def _same_decoding(a: Decoded, b: Decoded) -> None:
    """The compiled decoder of common packets gives exactly the numpy decoder's fields."""
    for f in fields(Decoded):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f.name


def _extras(out: dict[str, object] | None) -> int:
    """Rows of one output of the compiled tracker (its TCP text was verified as it was made)."""
    return 0 if out is None else len(out["S"])  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(len(CORPUS) < 3, reason="reference captures missing")
@settings(max_examples=10_000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(mutated(), st.integers(0, 3))
def test_parsers_survive_mutated_captures(data: bytes, pick: int) -> None:
    # both trackers; the (slower) reference one on a quarter of the cases
    assert _parse(data, reference=pick == 0) >= -1


@pytest.mark.slow
@pytest.mark.skipif(len(CORPUS) < 3, reason="reference captures missing")
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=mutated())
def test_public_read_survives_mutated_captures(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    p = Path(tmp_path_factory.mktemp("fuzz")) / "x.pcap"
    p.write_bytes(data)
    try:
        df = read(p)
    except AttribError as exc:
        assert "\n" not in str(exc)
    else:
        assert df["pkts_out"].notna().all()
