"""Link layers, tunnels and unknown IP protocols the pcap reader decodes as Zeek does.

Every capture is built from bytes and read by both engines (the Python reference tracker and
the compiled one), which must give the same table; the expected rows are what Zeek logs for the
same packets, per the Zeek packet analyser named in each test
(``src/packet_analysis/protocol/...`` and ``scripts/base/packet-protocols/...`` of zeek/zeek).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
from _pcap_build import eth, handshake, ip4, ip6, pcap, tcp, udp

from attrib.io import read

V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")
MACS = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb"
COLS = ["src_ip", "src_port", "dst_ip", "dst_port", "proto", "pkts_out", "pkts_in",
        "bytes_out", "bytes_in", "ip_bytes_out", "ip_bytes_in", "conn_state", "history"]  # fmt: skip


def _read(tmp_path: Path, frames: list[bytes], link: int = 1) -> pd.DataFrame:
    """Both engines' tables of a capture (asserted equal), sorted by time and ports."""
    p = tmp_path / "c.pcap"
    p.write_bytes(pcap(frames, link=link))
    ref = read(p, options={"pcap_engine": "python"})
    fast = read(p)
    pd.testing.assert_frame_equal(ref.drop(columns="uid"), fast.drop(columns="uid"))
    return fast.sort_values(["ts", "src_port"]).reset_index(drop=True)


def _rows(df: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(None if pd.isna(v) else v for v in r) for r in df[COLS].itertuples(index=False)]


#: Zeek's conn.log row of :func:`handshake` (as tests/io/test_pcap.py checks it over Ethernet)
HANDSHAKE = ("192.0.2.1", 40000, "198.51.100.5", 80, "tcp", 5, 3, 5, 6, 225, 126, "SF",
             "ShADdFf")  # fmt: skip


def _handshake_over(tmp_path: Path, wrap: object, link: int = 1) -> None:
    frames = [wrap(p) for p in handshake()]  # type: ignore[operator]
    assert _rows(_read(tmp_path, frames, link)) == [HANDSHAKE]


# --- link layers -----------------------------------------------------------------------------


def test_ppp_link_type_9_with_and_without_hdlc_framing(tmp_path: Path) -> None:
    """Zeek ``ppp/PPP.cc``: ff 03 starts HDLC-like framing (protocol after it), else the
    protocol is the first two bytes; 0x0021 is IPv4 (``ppp/main.zeek``)."""
    _handshake_over(tmp_path, lambda p: b"\xff\x03\x00\x21" + p, link=9)
    _handshake_over(tmp_path, lambda p: b"\x00\x21" + p, link=9)


def test_ppp_in_hdlc_link_type_50(tmp_path: Path) -> None:
    """Zeek ``ppp_serial/PPPSerial.cc``: a 4-byte header, the protocol in bytes 2-3."""
    _handshake_over(tmp_path, lambda p: b"\x0f\x00\x00\x21" + p, link=50)


def test_ppp_carrying_ipv6(tmp_path: Path) -> None:
    """PPP protocol 0x0057 is IPv6 (Zeek ``ppp/main.zeek``)."""
    pkts = [
        ip6(V6A, V6B, 17, udp(5000, 53, b"q" * 10)),
        ip6(V6B, V6A, 17, udp(53, 5000, b"a" * 30)),
    ]
    df = _read(tmp_path, [b"\xff\x03\x00\x57" + p for p in pkts], link=9)
    assert _rows(df) == [("2001:db8::1", 5000, "2001:db8::2", 53, "udp", 1, 1, 10, 30, 58, 78,
                          "SF", "Dd")]  # fmt: skip


def test_cisco_fabricpath(tmp_path: Path) -> None:
    """Zeek ``ethernet/Ethernet.cc``: ethertype 0x8903 at bytes 12-13 means a 16-byte
    FabricPath header, then the Ethernet frame (baseline ``core.cisco-fabric-path``)."""
    fp = MACS + b"\x89\x03\x00\x00"  # outer addresses, ethertype, FTAG/TTL
    _handshake_over(tmp_path, lambda p: fp + eth(p))


def test_802_1ah_pbb(tmp_path: Path) -> None:
    """Zeek ``pbb/PBB.cc``: after ethertype 0x88e7 a 4-byte I-tag, then the customer
    addresses and ethertype (backbone VLAN tag in front, as in provider networks)."""
    itag = b"\x00\x01\x00\x01"
    _handshake_over(tmp_path, lambda p: eth(itag + eth(p), etype=0x88E7, vlans=(100,)))


def test_vn_tag_then_vlan(tmp_path: Path) -> None:
    """Zeek ``vntag/VNTag.cc``: 6 bytes after 0x8926, the next ethertype in the last two; Zeek
    dispatches only VLAN tags from there (``vntag/main.zeek``), so IP straight after it is not
    decoded."""
    vn = b"\x80\x01\x00\x02"
    _handshake_over(tmp_path, lambda p: eth(vn + b"\x81\x00\x00\x0a\x08\x00" + p, etype=0x8926))
    frames = [eth(vn + b"\x08\x00" + p, etype=0x8926) for p in handshake()]
    assert _read(tmp_path, frames).empty


# --- tunnels ---------------------------------------------------------------------------------


def _gre(proto: int, payload: bytes, flags: int = 0, extra: bytes = b"") -> bytes:
    return struct.pack("!HH", flags, proto) + extra + payload


def _outer(inner: bytes, proto: int = 47) -> bytes:
    return eth(ip4("10.0.0.1", "10.0.0.2", proto, inner))


def test_erspan_type_i_ii_and_iii(tmp_path: Path) -> None:
    """Zeek ``gre/GRE.cc``: 0x88be without the sequence flag is ERSPAN type I (the Ethernet
    frame right after GRE), with it type II (8-byte ERSPAN header); 0x22eb is type III (12
    bytes, 8 more when the O bit of byte 11 is set). GRE outer packets make no connection."""
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x88BE, eth(p))))
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x88BE, b"\x10" + b"\0" * 7 + eth(p),
                                                    0x1000, b"\0\0\0\1")))  # fmt: skip
    h3 = b"\x20" + b"\0" * 10
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x22EB, h3 + b"\x00" + eth(p), 0x1000,
                                                    b"\0\0\0\1")))  # fmt: skip
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x22EB, h3 + b"\x01" + b"\0" * 8 + eth(p),
                                                    0x1000, b"\0\0\0\1")))  # fmt: skip


def test_mpls_inside_gre_and_ppp(tmp_path: Path) -> None:
    """MPLS label stacks (bottom-of-stack bit ends them; the payload's version nibble decides)
    inside GRE protocol 0x8847 (Zeek ``gre/main.zeek``) and PPP protocol 0x0281 (Zeek
    ``ppp/main.zeek``)."""
    labels = b"\x00\x01\x00\x40" + b"\x00\x02\x01\x40"  # two labels, the second one bottom
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x8847, labels + p)))
    _handshake_over(tmp_path, lambda p: b"\xff\x03\x02\x81" + labels + p, link=9)


def test_pptp_enhanced_gre(tmp_path: Path) -> None:
    """Zeek ``gre/GRE.cc``: GRE version 1 must carry protocol 0x880b (PPTP); key always, the
    sequence and acknowledgement fields when flagged; then a 4-byte PPP header whose protocol
    0x0021/0x0057 is IPv4/IPv6."""
    key = b"\x00\x20\x00\x07"  # payload length, call id
    _handshake_over(tmp_path, lambda p: _outer(_gre(0x880B, b"\xff\x03\x00\x21" + p,
                                                    0x3081, key + b"\0\0\0\5" + b"\0\0\0\4")))  # fmt: skip
    # PPP control protocol (LCP 0xc021) and GRE routing: not IP, nothing logged
    assert _read(tmp_path, [_outer(_gre(0x880B, b"\xff\x03\xc0\x21" + p, 0x2001, key))
                            for p in handshake()]).empty  # fmt: skip
    assert _read(tmp_path, [_outer(_gre(0x0800, p, 0x4000)) for p in handshake()]).empty


def test_gre_in_udp(tmp_path: Path) -> None:
    """RFC 8086 GRE over udp/4754 (Zeek ``gre/main.zeek``: ``gre_ports``): the inner
    connection is decoded and the outer UDP one stays in conn.log, as for VXLAN."""
    frames = [eth(ip4("10.0.0.1", "10.0.0.2", 17, udp(50000, 4754, _gre(0x0800, p))))
              for p in handshake()]  # fmt: skip
    df = _read(tmp_path, frames)
    rows = _rows(df)
    assert HANDSHAKE in rows
    outer = [r for r in rows if r[4] == "udp"]
    assert [(r[:5], r[5], r[6], r[11]) for r in outer] == [
        (("10.0.0.1", 50000, "10.0.0.2", 4754, "udp"), 8, 0, "S0")
    ]


def _gtp_fragmented(data: bytes, last_first: bool = False, drop: int = -1) -> list[bytes]:
    """:func:`handshake` in GTP-U over IPv4, each datagram longer than 504 bytes sent as two
    fragments (the later one first when ``last_first``; packet ``drop``'s second dropped)."""
    frames = []
    for i, p in enumerate(handshake(data=data)):
        gtp = struct.pack("!BBHI", 0x30, 0xFF, len(p), 1) + p
        dgram = udp(2152, 2152, gtp)
        first, rest = dgram[:504], dgram[504:]
        if not rest:
            frames.append(eth(ip4("10.0.0.1", "10.0.0.2", 17, dgram, ident=100 + i)))
            continue
        tl = 20 + len(dgram)
        pieces = [
            eth(ip4("10.0.0.1", "10.0.0.2", 17, first, ident=100 + i, flags_frag=0x2000,
                    total=20 + len(first))),
            eth(ip4("10.0.0.1", "10.0.0.2", 17, rest, ident=100 + i, flags_frag=504 // 8,
                    total=tl - len(first))),
        ]  # fmt: skip
        if i == drop:
            pieces.pop()
        frames += pieces[::-1] if last_first else pieces
    return frames


def test_gtp_u_in_fragmented_outer_ipv4(tmp_path: Path) -> None:
    """Zeek reassembles outer IPv4 fragments before the GTP-U analyser
    (``gtpv1/GTPv1.cc``) sees the datagram: the inner packet's sizes come from its own headers;
    the outer UDP connection gets one packet with the whole datagram's bytes per datagram."""
    frames = _gtp_fragmented(b"x" * 600)
    rows = _rows(_read(tmp_path, frames))
    inner = [r for r in rows if r[4] == "tcp"]
    assert inner == [HANDSHAKE[:7] + (600, 6, 5 * 40 + 620, 126, "SF", "ShADdFf")]
    outer = [r for r in rows if r[4] == "udp"]
    assert len(outer) == 1 and outer[0][5] == 8


def test_gtp_u_inner_packet_must_fill_the_payload(tmp_path: Path) -> None:
    """``GTPv1_Analyzer::AnalyzePacket``: ``IP::ParsePacket`` must return Ok, i.e. the inner
    packet's total length equals the rest of the payload; trailing bytes are a violation
    ("GTPv1 payload length") and the packet is not decapsulated."""
    for junk, protos in ((b"", ["tcp", "udp"]), (b"\0\0\0\0", ["udp"])):
        frames = []
        for p in handshake():
            gtp = struct.pack("!BBHI", 0x30, 0xFF, len(p) + len(junk), 1) + p + junk
            frames.append(eth(ip4("10.0.0.1", "10.0.0.2", 17, udp(2152, 2152, gtp))))
        assert sorted(r[4] for r in _rows(_read(tmp_path, frames))) == protos


HTTP_PAST_THE_FIRST_FRAGMENT = (
    b"GET / HTTP/1.1\r\nHost: example.org\r\nX-Pad: " + b"a" * 600
    + b"\r\nUser-Agent: frag-test/1.0\r\n\r\n"
)  # fmt: skip


def test_gtp_u_datagrams_are_reassembled_before_decapsulation(tmp_path: Path) -> None:
    """The whole datagram is decapsulated (Zeek's ``FragReassembler``, then GTP): an HTTP
    request whose ``User-Agent`` lies in the second outer fragment is seen, also when that
    fragment arrives first."""
    data = HTTP_PAST_THE_FIRST_FRAGMENT
    for last_first in (False, True):
        df = _read(tmp_path, _gtp_fragmented(data, last_first=last_first))
        tcp_rows = df[df["proto"] == "tcp"]
        assert len(tcp_rows) == 1, last_first
        row = tcp_rows.iloc[0]
        assert (row["user_agent"], row["service"]) == ("frag-test/1.0", "http"), last_first
        assert (row["pkts_out"], row["bytes_out"]) == (5, len(data))


def test_a_datagram_missing_a_fragment_is_not_analysed(tmp_path: Path) -> None:
    """Zeek analyses a fragmented datagram only once whole: without the second fragment of
    the data packet, the inner connection lacks that packet (no ``D``, 4 packets) and the
    outer one has a packet fewer."""
    rows = _rows(_read(tmp_path, _gtp_fragmented(HTTP_PAST_THE_FIRST_FRAGMENT, drop=3)))
    inner = [r for r in rows if r[4] == "tcp"]
    assert [(r[5], r[12]) for r in inner] == [(4, "ShAdFf")]
    outer = [r for r in rows if r[4] == "udp"]
    assert [r[5] for r in outer] == [7]


def test_teredo_origin_indication_and_authentication(tmp_path: Path) -> None:
    """Zeek ``teredo/Teredo.cc``: an authentication header (0x0001, lengths of client id and
    auth value, 8-byte nonce, confirmation byte) and an origin indication (0x0000, 8 bytes)
    before the IPv6 packet; the outer UDP connection stays (one packet: no duration, so no
    sizes, as Zeek's conn.log leaves them unset)."""
    auth = b"\x00\x01\x02\x03" + b"id" + b"abc" + b"\0" * 8 + b"\0"
    orig = b"\x00\x00\xaa\xbb" + b"\0" * 4
    inner = ip6(V6A, V6B, 17, udp(7000, 8000, b"z" * 12))
    frames = [eth(ip4("10.0.0.1", "10.0.0.2", 17, udp(3544, 40000, auth + orig + inner)))]
    rows = _rows(_read(tmp_path, frames))
    assert ("2001:db8::1", 7000, "2001:db8::2", 8000, "udp", 1, 0, None, None, 60, 0, "S0",
            "D") in rows  # fmt: skip


TEREDO_A = bytes.fromhex("2001000041379e508000f12ab9c82815")  # 2001:0:4137:9e50:...


def _udp_rows(tmp_path: Path, sp: int, dp: int, payloads: list[bytes]) -> list[tuple[object, ...]]:
    frames = [eth(ip4("10.0.0.1", "10.0.0.2", 17, udp(sp, dp, p))) for p in payloads]
    return _rows(_read(tmp_path, frames))


def test_teredo_needs_an_inner_packet_that_fills_the_payload(tmp_path: Path) -> None:
    """Zeek ``TeredoAnalyzer::AnalyzePacket``: ``IP::ParsePacket`` over the rest of the
    payload; trailing bytes after a packet that is not a bubble are a violation (no inner
    packet), so on udp/3544 only the outer connection is logged."""
    inner = ip6(V6A, V6B, 17, udp(7000, 8000, b"z" * 12))
    rows = _udp_rows(tmp_path, 40000, 3544, [inner + b"junk"] * 2)
    assert [r[4] for r in rows] == ["udp"] and rows[0][1] == 40000
    rows = _udp_rows(tmp_path, 40000, 3544, [inner] * 2)
    assert sorted(r[0] for r in rows) == ["10.0.0.1", "2001:db8::1"]


def test_teredo_off_its_port_is_detected_as_zeek_detects_it(tmp_path: Path) -> None:
    """``TeredoAnalyzer::DetectProtocol`` (off udp/3544): an IPv6 packet filling the payload
    is Teredo only with a Teredo address (2001:0::/32) as source or destination (its
    pattern), or behind an origin indication; an authentication header after an origin
    indication is not Teredo at all (``DoParse``)."""
    plain = ip6(V6A, V6B, 17, udp(7000, 8000, b"z" * 12))
    assert [r[4] for r in _udp_rows(tmp_path, 40000, 32900, [plain] * 2)] == ["udp"]
    teredo = ip6(TEREDO_A, V6B, 17, udp(7000, 8000, b"z" * 12))
    rows = _udp_rows(tmp_path, 40000, 32900, [teredo] * 2)
    assert sorted(r[0] for r in rows) == ["10.0.0.1", "2001:0:4137:9e50:8000:f12a:b9c8:2815"]
    origin = b"\x00\x00\xaa\xbb" + b"\0" * 4
    rows = _udp_rows(tmp_path, 40000, 32900, [origin + plain] * 2)
    assert sorted(r[0] for r in rows) == ["10.0.0.1", "2001:db8::1"]
    auth = b"\x00\x01\x00\x00" + b"\0" * 9
    rows = _udp_rows(tmp_path, 40000, 3544, [origin + auth + plain] * 2)
    assert [r[4] for r in rows] == ["udp"]


# --- unknown IP protocols ----------------------------------------------------------------------


def test_unknown_ip_protocols_and_sctp_are_unknown_transport(tmp_path: Path) -> None:
    """Zeek's IP analyser hands protocols other than TCP/UDP/ICMP and the tunnels to
    ``UNKNOWN_IP_TRANSPORT`` (``ip/main.zeek``, ``unknown_ip_transport/``): one connection
    per address pair and protocol, logged with ports 0, proto ``unknown_transport``, sizes 0,
    no history and conn_state OTH (e.g. an IGMP row: ``0 224.0.0.22 0 unknown_transport -
    0.835910 0 0 OTH ... - 4 160 0 0``). IPv6 "no next header" (59, a Teredo bubble) makes
    none: Zeek's ``core.tunnels.teredo`` baseline (with ``ip_proto``) has no such row."""
    igmp = b"\x22\x00\xfa\x01" + b"\0" * 4
    sctp = struct.pack("!HHII", 5000, 38412, 0, 0) + b"\x01\x00\x00\x14" + b"\0" * 16
    frames = [eth(ip4("192.0.2.7", "224.0.0.22", 2, igmp, ttl=1)) for _ in range(4)]
    frames += [eth(ip4("192.0.2.1", "192.0.2.2", 132, sctp)),
               eth(ip4("192.0.2.2", "192.0.2.1", 132, sctp)),
               eth(ip6(V6A, V6B, 132, b"\0" * 24), etype=0x86DD),
               eth(ip6(V6B, V6A, 59, b""), etype=0x86DD)]  # fmt: skip
    df = _read(tmp_path, frames)
    assert _rows(df) == [
        ("192.0.2.7", 0, "224.0.0.22", 0, "unknown_transport", 4, 0, 0, 0, 112, 0, "OTH", None),
        ("192.0.2.1", 0, "192.0.2.2", 0, "unknown_transport", 1, 1, 0, 0, 52, 52, "OTH", None),
        ("2001:db8::1", 0, "2001:db8::2", 0, "unknown_transport", 1, 0, None, None, 64, 0,
         "OTH", None),
    ]  # fmt: skip


def test_tcp_over_ipv4_with_a_wrong_version_is_still_skipped(tmp_path: Path) -> None:
    """Not every odd packet becomes a connection: a bad IP header stays a counted skip."""
    bad = bytearray(ip4("192.0.2.1", "192.0.2.2", 6, tcp(1, 2, 0, 0, 2)))
    bad[0] = 0x55
    assert _read(tmp_path, [eth(bytes(bad))]).empty
