"""Zeek's TCP role rules in both trackers: who the originator is when the SYN is not first.

Expected rows follow Zeek's ``TCPAnalyzer::WantConnection`` (a connection starting without a
SYN, or with a SYN-ACK, is flipped by ``likely_server_ports``), ``TCPSessionAdapter::
UpdateInactiveState`` (the SYN/SYN-ACK reversal: a responder's SYN after the originator's
SYN-ACK calls ``Connection::FlipRoles``) and ``Connection::FlipRoles`` (endpoints swapped, a
``^`` appended to the history; letters already written keep their case).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from _pcap_build import eth, handshake, ip4, pcap, tcp

from attrib.io import read

COLS = ["src_ip", "src_port", "dst_ip", "dst_port", "pkts_out", "pkts_in", "bytes_out",
        "bytes_in", "ip_bytes_out", "ip_bytes_in", "conn_state", "history"]  # fmt: skip


def _rows(tmp_path: Path, frames: list[bytes],
          times: list[float] | None = None) -> list[tuple[object, ...]]:  # fmt: skip
    p = tmp_path / "c.pcap"
    p.write_bytes(pcap(frames, times=times))
    ref = read(p, options={"pcap_engine": "python"})
    fast = read(p)
    pd.testing.assert_frame_equal(ref.drop(columns="uid"), fast.drop(columns="uid"))
    return [tuple(r) for r in fast[COLS].itertuples(index=False)]


def test_syn_ack_seen_before_its_syn_is_flipped_when_the_syn_arrives(tmp_path: Path) -> None:
    """Neither port is a likely server port, so the SYN-ACK's sender starts as originator
    (history ``H``); the client's SYN then reverses the roles (``s``, then ``^``) and the
    connection is established both ways: ``Hs^ADdFf``, SF, the client as originator."""
    pkts = handshake(sp=40000, dp=7000)
    frames = [eth(p) for p in [pkts[1], pkts[0], *pkts[2:]]]
    assert _rows(tmp_path, frames) == [
        ("192.0.2.1", 40000, "198.51.100.5", 7000, 5, 3, 5, 6, 225, 126, "SF", "Hs^ADdFf")
    ]


def test_syn_ack_first_from_a_likely_server_port_is_flipped_at_once(tmp_path: Path) -> None:
    """``WantConnection``: SYN-ACK from port 80 (a likely server port) to a client port: the
    roles flip before the first letter (``^h``); the late SYN is then the originator's ``S``."""
    pkts = handshake(sp=40000, dp=80)
    frames = [eth(p) for p in [pkts[1], pkts[0], *pkts[2:]]]
    assert _rows(tmp_path, frames) == [
        ("192.0.2.1", 40000, "198.51.100.5", 80, 5, 3, 5, 6, 225, 126, "SF", "^hSADdFf")
    ]


def test_mid_stream_start_from_the_server_side(tmp_path: Path) -> None:
    """No SYN at all, first packet from the server (port 80): flipped, history starts ``^``;
    both endpoints only partial, so conn_state is OTH-family ``SF`` only if both closed."""
    pkts = handshake(sp=40000, dp=80)
    frames = [eth(p) for p in [pkts[4], pkts[3], *pkts[5:]]]
    rows = _rows(tmp_path, frames)
    assert [(r[0], r[1], r[2], r[3], r[-1]) for r in rows] == [
        ("192.0.2.1", 40000, "198.51.100.5", 80, "^dDFfA")
    ]


def _half_close(gap: float) -> tuple[list[bytes], list[float]]:
    """The server's FIN-ACK and the client's ACK, then ``gap`` s later the client's FIN-ACK
    and the server's ACK (as in Zeek's Teredo.pcap, connections 1576/1577 to port 80)."""
    cli, srv, c, s = "192.0.2.1", "198.51.100.5", 1000, 5000
    pkts = [
        ip4(srv, cli, 6, tcp(80, 40000, s, c, 0x11)),
        ip4(cli, srv, 6, tcp(40000, 80, c, s + 1, 0x10)),
        ip4(cli, srv, 6, tcp(40000, 80, c, s + 1, 0x11)),
        ip4(srv, cli, 6, tcp(80, 40000, s + 1, c + 1, 0x10)),
    ]
    return [eth(p) for p in pkts], [0.0, 0.0004, gap, gap + 0.08]


def test_a_close_while_the_peer_has_sent_nothing_ends_the_connection(tmp_path: Path) -> None:
    """``TCPSessionAdapter::ConnectionClosed``: the server's FIN comes while the client's
    endpoint is still inactive, so the close is complete (``close_complete``: the peer is
    INACTIVE) and the connection is deleted ``tcp_close_delay`` (5 s) later, although the
    client never closed. The client's FIN 7 s on starts a new connection: Zeek's baseline
    ``core.tunnels.teredo`` logs ``^fA`` SHR and then ``Fa`` SH for the same 5-tuple."""
    frames, times = _half_close(7.0)
    assert _rows(tmp_path, frames, times) == [
        ("192.0.2.1", 40000, "198.51.100.5", 80, 1, 1, 0, 0, 40, 40, "SHR", "^fA"),
        ("192.0.2.1", 40000, "198.51.100.5", 80, 1, 1, 0, 0, 40, 40, "SH", "Fa"),
    ]


def test_a_half_closed_connection_lives_through_the_close_delay(tmp_path: Path) -> None:
    """The same packets 3 s apart (inside the 5 s close delay) stay one connection."""
    frames, times = _half_close(3.0)
    assert _rows(tmp_path, frames, times) == [
        ("192.0.2.1", 40000, "198.51.100.5", 80, 2, 2, 0, 0, 80, 80, "SF", "^fAFa"),
    ]
