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
from _pcap_build import eth, handshake, ip4, pcap, tcp, udp

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


def _ntp(mode: int) -> bytes:
    return bytes([0x20 | mode]) + bytes(47)  # version 4, a 48-byte standard record


def _dns(response: bool) -> bytes:
    return b"\x12\x34" + (b"\x81\x80" if response else b"\x01\x00") + bytes(8)


def _udp(src: str, dst: str, sp: int, dp: int, data: bytes) -> bytes:
    return eth(ip4(src, dst, 17, udp(sp, dp, data)))


def test_ntp_server_mode_from_the_originator_flips_the_roles(tmp_path: Path) -> None:
    """Zeek's baseline ``scripts.base.protocols.ntp.misordered-ntp``: the server's reply
    (mode 4) comes first, both ports 123, so its sender starts as originator; the NTP
    analyser's ``proc_ntp_message`` flips the roles. ``UDPAnalyzer::DeliverPacket`` has already
    recorded ``D`` and the payload size on the sender's old side, and ConnSize counts the
    packet after the flip on that side too: ``D^``, S0, 2 packets and 96 bytes, 0 back."""
    frames = [
        _udp("17.253.4.253", "192.168.1.95", 123, 123, _ntp(4)),
        _udp("192.168.1.95", "17.253.4.253", 123, 123, _ntp(3)),
    ]
    assert _rows(tmp_path, frames) == [
        ("192.168.1.95", 123, "17.253.4.253", 123, 2, 0, 96, 0, 152, 0, "S0", "D^")
    ]


def test_ntp_client_mode_from_the_responder_flips_the_roles_once(tmp_path: Path) -> None:
    """A client-mode message from the responder flips at the second packet: the packet
    counters swap with the endpoints, then that packet is counted on its sender's old side
    (now the responder's); the UDP sizes and states stay where they were recorded."""
    frames = [
        _udp("192.0.2.1", "198.51.100.5", 50000, 123, _ntp(3)),
        _udp("198.51.100.5", "192.0.2.1", 123, 50000, _ntp(3)),
        _udp("198.51.100.5", "192.0.2.1", 123, 50000, _ntp(3)),
    ]
    rows = _rows(tmp_path, frames)
    assert rows == [("198.51.100.5", 123, "192.0.2.1", 50000, 1, 2, 96, 48, 76, 152, "SF", "Dd^")]


def test_a_dns_response_first_from_the_originator_flips_the_roles(tmp_path: Path) -> None:
    """``DNS_Interpreter::ParseMessage``: the first message is a response from the
    originator (both ports 53, so no port flip): the roles flip (``D^``); the sender's second
    response is then the responder's (``d``), the first stays counted on the originator's side."""
    frames = [_udp("192.0.2.53", "198.51.100.53", 53, 53, _dns(True))] * 2
    assert _rows(tmp_path, frames) == [
        ("198.51.100.53", 53, "192.0.2.53", 53, 1, 1, 12, 12, 40, 40, "SF", "D^d")
    ]


def test_dns_flips_only_on_its_first_message_and_never_to_a_multicast_peer(
    tmp_path: Path,
) -> None:
    """A query first, then a response from the same side: no flip (only the first message
    counts); an mDNS response to the multicast group: no flip either."""
    frames = [
        _udp("192.0.2.53", "198.51.100.53", 53, 53, _dns(False)),
        _udp("192.0.2.53", "198.51.100.53", 53, 53, _dns(True)),
        _udp("192.0.2.7", "224.0.0.251", 5353, 5353, _dns(True)),
        _udp("192.0.2.7", "224.0.0.251", 5353, 5353, _dns(True)),
    ]
    assert _rows(tmp_path, frames) == [
        ("192.0.2.53", 53, "198.51.100.53", 53, 2, 0, 24, 0, 80, 0, "S0", "D"),
        ("192.0.2.7", 5353, "224.0.0.251", 5353, 2, 0, 24, 0, 80, 0, "S0", "D"),
    ]
