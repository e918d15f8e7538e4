"""IPv4 reassembly of the tunnel carriers' datagrams (``attrib.io.pcap._frag``), as Zeek's
``FragReassembler``: a datagram is analysed once whole, at the fragment completing it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _pcap_build import eth, ip4, pcap, udp

from attrib.io import read


def _frame(data: bytes, off: int, more: bool, ident: int = 9) -> bytes:
    ff = (0x2000 if more else 0) | (off // 8)
    return eth(ip4("10.0.0.1", "10.0.0.2", 17, data, ident=ident, flags_frag=ff))


def _read(tmp_path: Path, frames: list[bytes]) -> pd.DataFrame:
    p = tmp_path / "f.pcap"
    p.write_bytes(pcap(frames))
    ref = read(p, options={"pcap_engine": "python"})
    fast = read(p)
    pd.testing.assert_frame_equal(ref.drop(columns="uid"), fast.drop(columns="uid"))
    return fast


def test_pieces_in_any_order_make_one_datagram(tmp_path: Path) -> None:
    """Three fragments, the last first and the middle one twice (the first copy is kept):
    one packet of the UDP connection with the whole datagram's IP bytes and UDP size."""
    dgram = udp(40000, 2152, b"q" * 300)
    a, b, c = dgram[:104], dgram[104:208], dgram[208:]
    frames = [_frame(c, 208, False), _frame(b, 104, True), _frame(a, 0, True), _frame(b, 104, True)]
    frames += [eth(ip4("10.0.0.1", "10.0.0.2", 17, dgram, ident=10))]  # a second, whole one
    df = _read(tmp_path, frames)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["pkts_out"], row["ip_bytes_out"], row["bytes_out"]) == (2, 2 * (20 + 308), 600)


def test_a_datagram_larger_than_ip_allows_is_dropped(tmp_path: Path) -> None:
    """A last fragment at offset 65,512 with 100 bytes would make a datagram longer than an
    IPv4 total length can say: dropped (Zeek: ``excessively_large_fragment``); with 3 bytes
    it is 65,535 bytes long and analysed."""
    data = udp(40000, 2152, b"q" * 65504)  # 65,512 bytes before the last piece
    frames = [_frame(data[o : o + 1480], o, True) for o in range(0, 65512, 1480)]
    frames.append(_frame(b"r" * 100, 65512, False))
    assert len(_read(tmp_path, frames)) == 0
    frames[-1] = _frame(b"r" * 3, 65512, False)
    assert len(_read(tmp_path, frames)) == 1


def test_an_incomplete_datagram_is_not_analysed(tmp_path: Path) -> None:
    """The middle fragment never comes: nothing of the datagram is logged."""
    dgram = udp(40000, 4789, b"q" * 300)
    frames = [_frame(dgram[:104], 0, True), _frame(dgram[208:], 208, False)]
    assert len(_read(tmp_path, frames)) == 0
