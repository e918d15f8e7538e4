"""The pcap/pcapng reader: containers, link types, connections, fingerprints, latency, errors."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pandas as pd
import pytest
from _pcap_build import eth, handshake, ip4, ip6, pcap, pcapng, tcp, udp

from attrib.errors import AttribError, UnknownFormatError
from attrib.io import ReadReport, detect_format, open_source, read
from attrib.io.pcap import rtt_distance_km, sniff
from attrib.schema import EVENT_COLUMNS

V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")


def _write(tmp_path: Path, data: bytes, name: str = "c.pcap") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _one(df: pd.DataFrame) -> pd.Series:
    assert len(df) == 1, df
    return df.iloc[0]


def _check_handshake(row: pd.Series) -> None:
    assert (row["src_ip"], row["src_port"], row["dst_ip"], row["dst_port"]) == (
        "192.0.2.1", 40000, "198.51.100.5", 80,
    )  # fmt: skip
    assert row["proto"] == "tcp"
    assert row["conn_state"] == "SF"
    assert row["history"] == "ShADdFf"  # the responder never sends a pure ACK
    assert (row["bytes_out"], row["bytes_in"]) == (5, 6)
    assert (row["pkts_out"], row["pkts_in"]) == (5, 3)
    assert row["ip_bytes_out"] == 5 * 40 + 20 + 5
    assert row["source"] == "pcap"


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_classic_pcap_both_byte_orders_and_resolutions(tmp_path: Path, order: str,
                                                       nano: bool) -> None:  # fmt: skip
    data = pcap([eth(p) for p in handshake()], order=order, nano=nano, t0=1_700_000_000.25)
    p = _write(tmp_path, data)
    assert detect_format(open_source(p)) == "pcap"
    df = read(p)
    assert list(df.columns) == list(EVENT_COLUMNS)
    row = _one(df)
    _check_handshake(row)
    assert row["ts"] == pd.Timestamp(1_700_000_000.25, unit="s", tz="UTC")
    assert row["duration"] == pytest.approx(
        0.06, abs=1e-6
    )  # last ACK after both FINs: Zeek stops the clock


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_with_own_link_types_and_resolutions(tmp_path: Path, order: str) -> None:
    hs = handshake()
    pkts = [(0, 100.0 + i * 0.001, eth(p)) for i, p in enumerate(hs)]
    other = ip4("10.0.0.1", "10.0.0.2", 17, udp(5000, 53, b"q" * 20))
    pkts.append((1, 100.5, other))  # raw IPv4 on interface 1 with nanosecond stamps
    data = pcapng(pkts, ifaces=[(1, 6), (101, 9)], order=order)
    df = read(_write(tmp_path, data, "c.pcapng"))
    assert len(df) == 2
    _check_handshake(df[df["proto"] == "tcp"].iloc[0])
    u = df[df["proto"] == "udp"].iloc[0]
    assert u["ts"] == pd.Timestamp(100.5, unit="s", tz="UTC")
    assert (u["conn_state"], u["history"], u["pkts_out"]) == ("S0", "D", 1)


def _sll(l3: bytes, etype: int = 0x0800) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, etype) + l3


def _sll2(l3: bytes, etype: int = 0x0800) -> bytes:
    return struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6, b"\0" * 8) + l3


LINKS = {
    "ethernet-qinq": (1, lambda p: eth(p, vlans=(100, 200))),
    "sll": (113, _sll),
    "sll2": (276, _sll2),
    "raw101": (101, lambda p: p),
    "raw12": (12, lambda p: p),
    "null-host-order": (0, lambda p: struct.pack("<I", 2) + p),
    "null-big-endian": (0, lambda p: struct.pack(">I", 2) + p),
    "openbsd-loop": (108, lambda p: struct.pack(">I", 2) + p),
    "pppoe": (
        1,
        lambda p: eth(
            b"\x11\x00\x00\x01" + struct.pack("!H", len(p) + 2) + b"\x00\x21" + p, etype=0x8864
        ),
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_types(tmp_path: Path, name: str) -> None:
    link, wrap = LINKS[name]
    df = read(_write(tmp_path, pcap([wrap(p) for p in handshake()], link=link)))
    _check_handshake(_one(df))


def test_ipv6_with_extension_headers_and_icmpv6(tmp_path: Path) -> None:
    hop = bytes([6, 0]) + b"\x01\x04\x00\x00\x00\x00"  # hop-by-hop -> TCP, 8 bytes
    syn = ip6(V6A, V6B, 0, hop + tcp(50000, 443, 1, 0, 0x02, opts=b"\x02\x04\x05\x8c"))
    synack = ip6(V6B, V6A, 6, tcp(443, 50000, 9, 2, 0x12))
    echo = ip6(V6A, V6B, 58, b"\x80\x00\x00\x00\x00\x01\x00\x01" + b"x" * 8)
    reply = ip6(V6B, V6A, 58, b"\x81\x00\x00\x00\x00\x01\x00\x01" + b"x" * 8)
    frames = [eth(f, etype=0x86DD) for f in (syn, synack, echo, reply)]
    df = read(_write(tmp_path, pcap(frames)))
    t = df[df["proto"] == "tcp"].iloc[0]
    assert (t["src_ip"], t["dst_port"], t["conn_state"], t["history"]) == (
        "2001:db8::1", 443, "S1", "Sh",
    )  # fmt: skip
    assert t["tcp_fp"].startswith("6:64:0:64240:1420::M:")
    assert t["tunnel_hint"] == "wireguard:mtu1480" or t["tunnel_hint"].endswith("mtu1480")
    i = df[df["proto"] == "icmp"].iloc[0]
    assert (i["src_port"], i["dst_port"], i["pkts_out"], i["pkts_in"]) == (128, 129, 1, 1)
    assert (i["bytes_out"], i["bytes_in"], i["conn_state"]) == (8, 8, "OTH")


def test_snaplen_truncated_packets_are_used_as_far_as_they_go(tmp_path: Path) -> None:
    frames = [eth(p) for p in handshake(data=b"x" * 1000, reply=b"y" * 2000)]
    caps = [min(len(f), 54) for f in frames]  # Ethernet + IPv4 + bare TCP header
    df = read(_write(tmp_path, pcap(frames, snaplen=54, caplens=caps)))
    row = _one(df)
    assert (row["bytes_out"], row["bytes_in"], row["conn_state"]) == (1000, 2000, "SF")
    assert pd.isna(row["tcp_fp"]) or "!" in row["tcp_fp"] or row["tcp_fp"].count(":") == 7


def test_fingerprint_latency_and_http_user_agent(tmp_path: Path) -> None:
    req = b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8.5.0\r\n\r\n"
    df = read(_write(tmp_path, pcap([eth(p) for p in handshake(data=req)], step=0.02)))
    row = _one(df)
    assert row["user_agent"] == "curl/8.5.0"
    assert row["service"] == "http"
    assert row["tcp_fp"] == "4:64:0:64240:1460:7:M,S,T,N,W:df,id+"
    assert row["tcp_os"] == "linux"
    assert pd.isna(row["tunnel_hint"])
    assert row["rtt_syn_ms"] == pytest.approx(20.0)
    assert row["rtt_ack_ms"] == pytest.approx(20.0)


def test_ssh_banner(tmp_path: Path) -> None:
    hs = handshake(dp=22, data=b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n", reply=b"SSH-2.0-x\r\n")
    row = _one(read(_write(tmp_path, pcap([eth(p) for p in hs]))))
    assert row["ssh_client"] == "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3"
    assert row["service"] == "ssh"


def test_rejected_and_unanswered_and_half_open(tmp_path: Path) -> None:
    a, b = "192.0.2.1", "198.51.100.5"
    frames = [
        ip4(a, b, 6, tcp(1111, 25, 7, 0, 0x02)),
        ip4(b, a, 6, tcp(25, 1111, 0, 8, 0x14)),  # RST-ACK: REJ
        ip4(a, b, 6, tcp(2222, 25, 7, 0, 0x02)),  # unanswered: S0
        ip4(a, b, 6, tcp(3333, 443, 50, 90, 0x18, data=b"abc")),  # midstream: OTH
    ]
    df = read(_write(tmp_path, pcap([eth(f) for f in frames])))
    got = {r.src_port: (r.conn_state, r.history) for r in df.itertuples()}
    assert got[1111] == ("REJ", "Sr")
    assert got[2222] == ("S0", "S")
    assert got[3333] == ("OTH", "D")


def test_inactivity_timeouts_split_connections(tmp_path: Path) -> None:
    q = ip4("10.0.0.1", "10.0.0.9", 17, udp(4000, 123, b"n" * 48))
    frames = [eth(q), eth(q)]
    df = read(_write(tmp_path, pcap(frames, step=61.0)))  # udp: 1 minute
    assert len(df) == 2
    df = read(_write(tmp_path, pcap(frames, step=59.0)))
    assert len(df) == 1 and _one(df)["pkts_out"] == 2


def test_ipv4_fragments_of_a_udp_datagram_count_as_one_packet(tmp_path: Path) -> None:
    """Reassembled (``attrib.io.pcap._frag``) or not, a datagram is one packet of its
    connection with the whole datagram's IP bytes, as Zeek counts it."""
    payload = udp(5353, 5353, b"z" * 100)
    first = ip4("10.0.0.1", "10.0.0.2", 17, payload[:64], flags_frag=0x2000, ident=77)
    later = ip4("10.0.0.1", "10.0.0.2", 17, payload[64:], flags_frag=8, ident=77)
    row = _one(read(_write(tmp_path, pcap([eth(first), eth(later)], step=0.0))))
    assert row["pkts_out"] == 1  # as Zeek: one (reassembled) datagram
    assert row["ip_bytes_out"] == 20 + len(payload)


def test_vxlan_payload_is_decapsulated(tmp_path: Path) -> None:
    inner = [eth(p) for p in handshake()]
    outer = [eth(ip4("172.16.0.1", "172.16.0.2", 17, udp(33333, 4789, b"\x08\0\0\0\0\0\x01\0" + f)))
             for f in inner]  # fmt: skip
    df = read(_write(tmp_path, pcap(outer)))
    assert len(df) == 2
    _check_handshake(df[df["proto"] == "tcp"].iloc[0])
    assert _one(df[df["proto"] == "udp"])["dst_port"] == 4789


@pytest.mark.parametrize("idlen", [4, 8])  # 16 and 256 identity bytes (Zeek's large-identity case)
def test_ayiya_payload_is_decapsulated(tmp_path: Path, idlen: int) -> None:
    v6 = ip6(b"\xfd" + b"\0" * 14 + b"\x01", b"\xfd" + b"\0" * 14 + b"\x02", 17,
             udp(40000, 40001, b"zeek"))  # fmt: skip
    head = bytes([(idlen << 4) | 1, 0x52, 0x11, 41]) + b"\0" * 4 + b"\0" * (1 << idlen) + b"\0" * 20
    relay = bytes([(idlen << 4) | 1, 0x52, 0x10, 41]) + b"\0" * (4 + (1 << idlen) + 20)  # opcode 0
    frames = [eth(ip4("10.0.0.1", "10.0.0.2", 17, udp(12345, 5072, head + v6))),
              eth(ip4("10.0.0.3", "10.0.0.4", 17, udp(12346, 5072, relay + v6)))]  # fmt: skip
    df = read(_write(tmp_path, pcap(frames)))
    assert sorted(df["src_ip"]) == ["10.0.0.1", "10.0.0.3", "fd00::1"]
    inner = _one(df[df["src_ip"] == "fd00::1"])
    assert (inner["proto"], inner["dst_port"], inner["ip_bytes_out"]) == ("udp", 40001, 52)
    assert _one(df[df["src_ip"] == "10.0.0.1"])["ip_bytes_out"] == 20 + 8 + len(head) + len(v6)


# ---- bad input -------------------------------------------------------------------------------


def test_wrong_magic_and_empty_file(tmp_path: Path) -> None:
    assert sniff(b"\x00\x01\x02\x03" * 8) is None
    with pytest.raises(UnknownFormatError):
        read(_write(tmp_path, b"\x00\x01\x02\x03" * 8))
    with pytest.raises(UnknownFormatError, match="empty"):
        read(_write(tmp_path, b""))
    with pytest.raises(UnknownFormatError, match="not pcap"):
        read(_write(tmp_path, b"GARBAGE!" * 10), format="pcap")


def test_record_past_end_of_file_is_a_counted_skip(tmp_path: Path) -> None:
    data = pcap([eth(p) for p in handshake()])
    rep = ReadReport()
    df = read(_write(tmp_path, data[:-10]), report=rep)
    assert len(df) == 1
    assert rep.files[0].skipped["truncated record data past end of file"] == 1
    assert _one(df)["pkts_out"] == 4  # the last ACK was cut


def test_absurd_caplen_resynchronises_on_the_next_record(tmp_path: Path) -> None:
    pkts = [eth(p) for p in handshake()]
    data = bytearray(pcap(pkts))
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFFF)  # the first record's header is corrupt
    rep = ReadReport()
    df = read(_write(tmp_path, bytes(data)), report=rep)  # was: the whole capture refused
    st = rep.files[0]
    assert st.skipped == {"corrupt record header (skipped to the next plausible one)": 1}
    assert st.nulled["bytes skipped resynchronising"] == 16 + len(pkts[0])
    assert _one(df)["pkts_out"] + _one(df)["pkts_in"] == len(pkts) - 1


def test_junk_tail_is_reported(tmp_path: Path) -> None:
    data = pcap([eth(p) for p in handshake()])
    rep = ReadReport()
    df = read(_write(tmp_path, data + bytes(3 << 20)), report=rep)  # zero-filled tail
    _check_handshake(_one(df))
    st = rep.files[0]
    assert st.skipped_total == 1 and st.nulled["bytes skipped resynchronising"] == 3 << 20


def test_corrupt_capture_in_a_folder_is_skipped_and_named(tmp_path: Path) -> None:
    good = pcap([eth(p) for p in handshake()])
    (tmp_path / "a.pcap").write_bytes(good)
    (tmp_path / "b.pcap").write_bytes(good[:10])  # truncated file header: a FormatError
    rep = ReadReport()
    df = read(tmp_path, report=rep)
    assert len(df) == 1 and [p.rsplit("/", 1)[-1] for p, _ in rep.failed] == ["b.pcap"]


def test_garbage_link_and_ip_headers_are_counted(tmp_path: Path) -> None:
    good = [eth(p) for p in handshake()]
    bad_ip = eth(b"\x45\x00\x00\x10" + b"\xff" * 16)  # IHL 20 but total length 16
    short = eth(b"\x45")  # IPv4 header cut off
    arp = eth(b"\x00\x01" * 14, etype=0x0806)  # not IP: ignored, not an error
    rep = ReadReport()
    df = read(_write(tmp_path, pcap([*good, bad_ip, short, arp])), report=rep)
    _check_handshake(_one(df))
    assert rep.files[0].skipped["packet: truncated or bad IP header"] == 2


def test_unsupported_link_type_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="unsupported link type 127"):
        read(_write(tmp_path, pcap([b"\x00" * 40], link=127)))


def test_unsupported_link_type_in_a_folder_is_skipped_by_name(tmp_path: Path) -> None:
    """One capture of a link type not decoded (802.11) must not stop the others."""
    _write(tmp_path, pcap([b"\x00" * 40], link=105), "wlan.pcap")
    _write(tmp_path, pcap([eth(p) for p in handshake()]), "good.pcap")
    rep = ReadReport()
    df = read(tmp_path, report=rep)
    _check_handshake(_one(df))
    assert [Path(f.path).name for f in rep.files] == ["good.pcap"]
    assert [(Path(p).name, "unsupported link type 105" in e) for p, e in rep.failed] == [
        ("wlan.pcap", True)
    ]


def test_cut_off_tcp_options(tmp_path: Path) -> None:
    syn = ip4("192.0.2.1", "198.51.100.5", 6, tcp(1, 80, 1, 0, 0x02, opts=b"\x02\x04\x05\xb4\x03\x03"
                                                   + b"\x08\x0a"))  # fmt: skip
    row = _one(read(_write(tmp_path, pcap([eth(syn)]))))
    assert row["tcp_fp"].split(":")[6].endswith("!")


def test_errors_never_escape_as_tracebacks(tmp_path: Path) -> None:
    data = pcap([eth(p) for p in handshake()])
    for cut in range(0, len(data), 7):
        try:
            read(_write(tmp_path, data[:cut] or b"\x00"))
        except AttribError:
            pass


def test_rtt_distance_bound() -> None:
    assert rtt_distance_km(10.0, inflation=1.0) == 1000.0
    assert rtt_distance_km(10.0) == 500.0
    assert math.isnan(rtt_distance_km(float("nan")))
    assert math.isnan(rtt_distance_km(-1.0))


def test_reference_and_compiled_engines_agree(tmp_path: Path) -> None:
    frames = [eth(p) for p in handshake()] + [eth(p) for p in handshake(sp=40001, dp=443)]
    p = _write(tmp_path, pcap(frames))
    a = read(p, options={"pcap_engine": "python"})
    b = read(p, options={"pcap_engine": "numba"})
    pd.testing.assert_frame_equal(a.drop(columns="uid"), b.drop(columns="uid"))


def test_pcapng_simple_packet_blocks_and_ts_offset(tmp_path: Path) -> None:
    frames = [eth(p) for p in handshake()]
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    opts = struct.pack("<HHq", 14, 8, 1000) + b"\0\0\0\0"  # if_tsoffset = 1000 s
    blocks = [(0x0A0D0D0A, shb), (1, struct.pack("<HHI", 1, 0, 65535) + opts)]
    blocks.append((6, struct.pack("<IIIII", 0, 0, 5_000_000, len(frames[0]), len(frames[0]))
                   + frames[0]))  # fmt: skip
    blocks += [(3, struct.pack("<I", len(f)) + f) for f in frames[1:]]  # no time: previous one
    out = b""
    for bt, body in blocks:
        body += b"\0" * (-len(body) % 4)
        out += struct.pack("<II", bt, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    df = read(_write(tmp_path, out, "spb.pcapng"))
    t = _one(df)
    assert t["ts"] == pd.Timestamp(1005, unit="s", tz="UTC")
    assert (t["pkts_out"], t["pkts_in"], t["conn_state"]) == (5, 3, "SF")


def test_closed_connections_leave_the_table_as_the_capture_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory follows the live connections: closed ones are emitted 5 s after their last
    packet (Zeek's close delay) and their rows reused, not kept until the end."""
    import io

    from attrib.io._base import FileStats, ReadContext
    from attrib.io.pcap import _container
    from attrib.io.pcap._container import iter_batches
    from attrib.io.pcap._decode import decode
    from attrib.io.pcap._table import COLLECT_AT, FastTracker

    n = 3 * COLLECT_AT
    frames = [eth(p) for i in range(n) for p in handshake(sp=1024 + i % 60000, dp=80 + i // 60000)]
    data = pcap(frames, step=0.01)  # one connection every 0.08 s
    monkeypatch.setattr(_container, "BLOCK_BYTES", 1 << 16)  # many small batches
    ctx = ReadContext(stats=FileStats(path="x.pcap"))
    tr = FastTracker(cap=64)
    emitted = 0
    for batch in iter_batches(io.BytesIO(data), ctx):
        out = tr.feed(batch, decode(batch))
        emitted += 0 if out is None else len(out["S"])
    assert emitted >= n - 2 * COLLECT_AT  # most left before the end of the capture
    assert int(tr.meta[0]) < 2 * COLLECT_AT < n  # rows were reused
    out = tr.flush()
    assert emitted + (0 if out is None else len(out["S"])) == n


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_plain_and_compressed_reading_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            block: int) -> None:  # fmt: skip
    """A plain and a gzipped file give the same table, also when records straddle (or exceed)
    the block size."""
    import gzip

    from attrib.io.pcap import _container, _read

    monkeypatch.setattr(_container, "BLOCK_BYTES", block)
    monkeypatch.setattr(_read, "BLOCK_BYTES", block)
    frames = [eth(p) for i in range(40) for p in handshake(sp=40000 + i, data=b"x" * (i * 37))]
    data = pcap(frames)
    plain = _write(tmp_path, data)
    packed = _write(tmp_path, gzip.compress(data), "c.pcap.gz")
    a, b = read(plain), read(packed)
    assert len(a) == 40
    pd.testing.assert_frame_equal(a.drop(columns="sensor"), b.drop(columns="sensor"))
    cut = _write(tmp_path, data[:-7], "cut.pcap")
    report = ReadReport()
    assert len(read(cut, report=report)) == 40
    assert report.files[0].skipped["truncated record data past end of file"] == 1


def test_a_capture_truncated_while_it_is_read_ends_early_without_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process cutting the file short mid-read (a capture being rotated) is an early
    end of file: the whole records before the cut are read and the cut one reported. (A
    memory-mapped file would kill the process with SIGBUS; captures are read into buffers.)"""
    import os

    from attrib.io.pcap import _read

    monkeypatch.setattr(_read, "BLOCK_BYTES", 1 << 14)
    frames = [eth(p) for i in range(200) for p in handshake(sp=20000 + i, data=b"y" * 300)]
    data = pcap(frames)
    path = _write(tmp_path, data)
    fill = _read._fill
    calls = []

    def cut_then_fill(fh: object, buf: bytearray, start: int) -> int:
        calls.append(start)
        if len(calls) == 3:
            os.truncate(path, len(data) // 2 + 5)
        return fill(fh, buf, start)  # type: ignore[arg-type]

    monkeypatch.setattr(_read, "_fill", cut_then_fill)
    report = ReadReport()
    df = read(path, report=report)
    assert len(calls) > 3 and 0 < len(df) < 200
    skipped = report.files[0].skipped
    assert sum(v for k, v in skipped.items() if k.startswith("truncated record")) == 1
