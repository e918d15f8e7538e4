"""Container framing after damage: pcapng blocks and classic pcap records resynchronise.

Each case corrupts a copy of a real capture (``tests/data/ref``) in one place — an
impossible block length, garbage bytes between blocks, a block cut short, a garbage record
header — and checks that exactly the damaged block or record is lost (counted), every other
packet is read, and the skipped bytes are reported. Every case runs with the normal read
size and with a tiny one, so that damage and resynchronisation straddle read buffers.
"""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from _pcap_build import eth, handshake, pcapng
from _pcap_data import JA4_DIR, ZEEK_DIR, need

from attrib.io import ReadReport, read
from attrib.io._base import FileStats, ReadContext
from attrib.io.pcap import _container
from attrib.io.pcap._container import iter_batches
from attrib.io.pcap._read import iter_decoded, release

CORRUPT = "corrupt pcapng block (skipped to the next valid one)"
TRUNCATED = "truncated pcapng block past end of file"
SKIPPED = "bytes skipped resynchronising"
BAD_HEADER = "corrupt record header (skipped to the next plausible one)"


@pytest.fixture(params=[None, 4096], ids=["block-8M", "block-4k"])
def read_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param:
        monkeypatch.setattr(_container, "BLOCK_BYTES", request.param)


def _blocks(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, type, length) of every block of an intact little- or big-endian pcapng."""
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    out, pos = [], 0
    while pos < len(data):
        btype, blen = struct.unpack_from(order + "II", data, pos)
        out.append((pos, btype, blen))
        pos += blen
    assert pos == len(data)
    return out


def _packets(data: bytes) -> tuple[list[int], FileStats]:
    """Timestamps of the packets read from ``data``, and the statistics of the read."""
    stats = FileStats(path="x.pcapng", format="pcap")
    ctx = ReadContext(stats=stats, chunksize=1000, max_bad_rows=10**6)
    ts = [t for b in iter_batches(io.BytesIO(data), ctx) for t in b.ts_ns.tolist()]
    return ts, stats


def _real(name: str) -> bytes:
    return need(JA4_DIR / "pcap" / name).read_bytes()


def _epb(data: bytes, k: int) -> tuple[int, int, int]:
    """Offset, length and packet index of the ``k``-th enhanced packet block."""
    epbs = [(o, n) for o, t, n in _blocks(data) if t == 6]
    return epbs[k][0], epbs[k][1], k


@pytest.mark.usefixtures("read_size")
@pytest.mark.parametrize("name", ["tls-handshake.pcapng", "ssh.pcapng", "dhcp.pcapng"])
@pytest.mark.parametrize("length", [0xFFFFFFF0, 7, 0, 1 << 20, None])
def test_a_block_with_a_bad_length_costs_that_block(name: str, length: int | None) -> None:
    data = _real(name)
    whole, _ = _packets(data)
    off, blen, k = _epb(data, len([1 for _, t, _ in _blocks(data) if t == 6]) // 2)
    bad = bytearray(data)
    # None: a plausible length (4 more) that disagrees with the trailing copy
    struct.pack_into("<I", bad, off + 4, blen + 4 if length is None else length)
    ts, st = _packets(bytes(bad))  # was: "pcapng block length ... is invalid", file refused
    assert ts == whole[:k] + whole[k + 1 :]
    assert dict(st.skipped) == {CORRUPT: 1}
    assert st.first_bad_line[CORRUPT] == k + 1
    assert st.nulled[SKIPPED] == blen


@pytest.mark.usefixtures("read_size")
@pytest.mark.parametrize("nbytes", [1, 3, 37, 5000])
def test_garbage_between_blocks_is_skipped(nbytes: int) -> None:
    data = _real("tls-handshake.pcapng")
    whole, _ = _packets(data)
    off, _, _ = _epb(data, 5)
    junk = random.Random(nbytes).randbytes(nbytes)
    ts, st = _packets(data[:off] + junk + data[off:])
    assert ts == whole
    assert dict(st.skipped) == {CORRUPT: 1}
    assert st.nulled[SKIPPED] == nbytes


@pytest.mark.usefixtures("read_size")
@pytest.mark.parametrize("cut", [4, 13, 100])
def test_a_block_cut_short_costs_that_block(cut: int) -> None:
    data = _real("tls-handshake.pcapng")
    whole, _ = _packets(data)
    off, blen, k = _epb(data, 3)
    ts, st = _packets(data[: off + blen - cut] + data[off + blen :])
    assert ts == whole[:k] + whole[k + 1 :]
    assert dict(st.skipped) == {CORRUPT: 1}
    assert st.nulled[SKIPPED] == blen - cut


@pytest.mark.usefixtures("read_size")
def test_a_block_cut_by_the_end_of_the_file_is_a_truncated_record() -> None:
    data = _real("ssh.pcapng")
    whole, _ = _packets(data)
    off, blen, _ = _epb(data, -1)
    for end in (off + 5, off + 40, off + blen - 1):
        ts, st = _packets(data[:end])
        assert ts == whole[:-1]
        assert dict(st.skipped) == {TRUNCATED: 1} and not st.nulled


@pytest.mark.usefixtures("read_size")
def test_a_zero_filled_tail_is_reported() -> None:
    data = _real("dhcp.pcapng")
    whole, _ = _packets(data)
    ts, st = _packets(data + bytes(100_000))
    assert ts == whole
    assert dict(st.skipped) == {CORRUPT: 1} and st.nulled[SKIPPED] == 100_000


@pytest.mark.usefixtures("read_size")
@pytest.mark.parametrize("order", ["<", ">"])
def test_big_endian_sections_and_a_second_section_resynchronise(order: str) -> None:
    frames = [eth(p) for p in handshake()]
    one = pcapng([(0, 1.0 + i, f) for i, f in enumerate(frames)], [(1, 6)], order=order)
    two = pcapng([(0, 100.0 + i, f) for i, f in enumerate(frames)], [(1, 6)], order=">")
    whole, _ = _packets(one + two)
    assert len(whole) == 2 * len(frames)
    # garbage that starts like a section header (no byte-order magic) before the second,
    # big-endian section: the walk finds that section's header and takes its byte order
    ts, st = _packets(one + b"\x0a\x0d\x0d\x0aJUNK" + two)
    assert ts == whole
    assert dict(st.skipped) == {CORRUPT: 1} and st.nulled[SKIPPED] == 8


def test_damage_in_a_file_read_by_attrib_read_is_a_counted_skip(tmp_path: Path) -> None:
    data = _real("tls-handshake.pcapng")
    off, blen, _ = _epb(data, 2)
    bad = bytearray(data)
    struct.pack_into("<I", bad, off + 4, 0x7FFFFFFC)
    (tmp_path / "a.pcapng").write_bytes(bytes(bad))
    rep = ReadReport()
    df = read(tmp_path, report=rep)
    assert not rep.failed and len(df) == len(read(need(JA4_DIR / "pcap" / "tls-handshake.pcapng")))
    assert rep.files[0].skipped[CORRUPT] == 1 and rep.files[0].nulled[SKIPPED] == blen


def test_random_damage_never_loses_more_than_the_damaged_blocks() -> None:
    """200 copies with a few bytes overwritten: every packet whose block is intact is read."""
    data = _real("tls-handshake.pcapng")
    blocks = _blocks(data)
    whole, _ = _packets(data)
    rng = random.Random(18)
    for _ in range(200):
        bad = bytearray(data)
        hit = set()
        for _ in range(rng.randint(1, 3)):
            off, _, blen = blocks[rng.randrange(2, len(blocks))]  # past the SHB and IDB
            at = off + rng.choice([0, 4, 5, blen - 4, blen - 1])
            bad[at] ^= 1 << rng.randrange(8)
            hit.add(off)
        ts, st = _packets(bytes(bad))
        epbs = [o for o, t, _ in blocks if t == 6]
        intact = [t for o, t in zip(epbs, whole, strict=True) if o not in hit]
        assert set(intact) <= set(ts), st
        assert st.skipped_total <= len(hit) + 1


# classic pcap: a garbage record header, through the compiled walk and the numpy one


def _classic() -> bytes:
    return need(ZEEK_DIR / "Traces" / "tcp-http-with-padding.pcap").read_bytes()


def _records(data: bytes) -> list[tuple[int, int]]:
    out, pos = [], 24
    while pos < len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        out.append((pos, 16 + incl))
        pos += 16 + incl
    return out


def _classic_ts(data: bytes, compiled: bool) -> tuple[list[int], FileStats]:
    stats = FileStats(path="x.pcap", format="pcap")
    ctx = ReadContext(stats=stats, chunksize=1000, max_bad_rows=10**6,
                      options={"pcap_compiled": compiled})  # fmt: skip
    ts: list[int] = []
    if compiled:
        for batch, _ in iter_decoded(io.BytesIO(data), ctx):
            ts += batch.ts_ns.tolist()
            release(batch)
    else:
        ts = [t for b in iter_batches(io.BytesIO(data), ctx) for t in b.ts_ns.tolist()]
    return ts, stats


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("damage", ["header", "garbage-between"])
def test_classic_pcap_garbage_record_header_resynchronises(compiled: bool, damage: str) -> None:
    data = _classic()
    assert data[:4] == b"\xd4\xc3\xb2\xa1"
    recs = _records(data)
    whole, _ = _classic_ts(data, compiled)
    k = len(recs) // 2
    off, rlen = recs[k]
    if damage == "header":
        junk = np.frombuffer(random.Random(5).randbytes(16), np.uint8).copy()
        junk[8:12] = [0xFF, 0xFF, 0xFF, 0x7F]  # caplen absurd: the walk must stop here
        bad = data[:off] + junk.tobytes() + data[off + 16 :]
        expect, lost = whole[:k] + whole[k + 1 :], rlen
    else:
        bad = data[:off] + b"\xff" * 23 + data[off:]
        expect, lost = whole, 23
    ts, st = _classic_ts(bad, compiled)
    assert ts == expect
    assert dict(st.skipped) == {BAD_HEADER: 1}
    assert st.nulled[SKIPPED] == lost
