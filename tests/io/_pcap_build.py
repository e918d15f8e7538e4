"""Build small captures byte by byte (classic pcap in both byte orders and resolutions, pcapng
with several interfaces, many link types) for the pcap reader tests."""

from __future__ import annotations

import struct

ETH_HDR = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb"
LINUX_SYN_OPTS = bytes.fromhex("020405b40402080a00000001000000000103030700")[:20]


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64, ident: int = 1,
        flags_frag: int = 0x4000, total: int | None = None) -> bytes:  # fmt: skip
    a = bytes(int(x) for x in src.split("."))
    b = bytes(int(x) for x in dst.split("."))
    tl = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, ident, flags_frag, ttl, proto, 0, a, b)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ip6(src: bytes, dst: bytes, nh: int, payload: bytes, hlim: int = 64) -> bytes:
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, hlim) + src + dst + payload


def tcp(sp: int, dp: int, seq: int, ack: int, flags: int, win: int = 64240, opts: bytes = b"",
        data: bytes = b"") -> bytes:  # fmt: skip
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, off << 4, flags, win, 0, 0) + opts + data


def udp(sp: int, dp: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data


def eth(l3: bytes, etype: int = 0x0800, vlans: tuple[int, ...] = ()) -> bytes:
    out = ETH_HDR
    for v in vlans:
        out += struct.pack("!HH", 0x8100, v)
    return out + struct.pack("!H", etype) + l3


def handshake(cli: str = "192.0.2.1", srv: str = "198.51.100.5", sp: int = 40000,
              dp: int = 80, data: bytes = b"hello", reply: bytes = b"world!") -> list[bytes]:  # fmt: skip
    """A complete TCP connection as IPv4 packets: SYN, SYN-ACK, ACK, data both ways, FINs."""
    c, s = 1000, 5000
    return [
        ip4(cli, srv, 6, tcp(sp, dp, c, 0, 0x02, opts=LINUX_SYN_OPTS)),
        ip4(srv, cli, 6, tcp(dp, sp, s, c + 1, 0x12), ttl=57),
        ip4(cli, srv, 6, tcp(sp, dp, c + 1, s + 1, 0x10), ident=2),
        ip4(cli, srv, 6, tcp(sp, dp, c + 1, s + 1, 0x18, data=data), ident=3),
        ip4(srv, cli, 6, tcp(dp, sp, s + 1, c + 1 + len(data), 0x18, data=reply), ttl=57),
        ip4(cli, srv, 6, tcp(sp, dp, c + 1 + len(data), s + 1 + len(reply), 0x11), ident=4),
        ip4(srv, cli, 6, tcp(dp, sp, s + 1 + len(reply), c + 2 + len(data), 0x11), ttl=57),
        ip4(cli, srv, 6, tcp(sp, dp, c + 2 + len(data), s + 2 + len(reply), 0x10), ident=5),
    ]


def pcap(frames: list[bytes], link: int = 1, order: str = "<", nano: bool = False,
         t0: float = 1_700_000_000.0, step: float = 0.01, snaplen: int = 65535,
         caplens: list[int] | None = None, times: list[float] | None = None) -> bytes:  # fmt: skip
    """A classic pcap of ``frames``, ``step`` seconds apart (or at ``t0`` + ``times``)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)]
    for i, f in enumerate(frames):
        t = t0 + (i * step if times is None else times[i])
        sec = int(t)
        frac = round((t - sec) * (1e9 if nano else 1e6))
        cap = len(f) if caplens is None else caplens[i]
        out.append(struct.pack(order + "IIII", sec, frac, cap, len(f)) + f[:cap])
    return b"".join(out)


def _block(btype: int, body: bytes, order: str = "<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def pcapng(packets: list[tuple[int, float, bytes]], ifaces: list[tuple[int, int]],
           order: str = "<", extra_blocks: bool = True) -> bytes:  # fmt: skip
    """packets: (interface, time, frame); ifaces: (link type, tsresol exponent)."""
    shb = struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    out = [_block(0x0A0D0D0A, shb, order)]
    for link, res in ifaces:
        opt = struct.pack(order + "HH", 9, 1) + bytes([res]) + b"\0\0\0" + b"\0\0\0\0"
        out.append(_block(1, struct.pack(order + "HHI", link, 0, 65535) + opt, order))
    if extra_blocks:
        out.append(_block(0x00000BAD, b"custom block", order))  # unknown: skipped
    for iface, t, frame in packets:
        res = ifaces[iface][1]
        units = int(round(t * 10**res))
        body = struct.pack(order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(frame),
                           len(frame)) + frame  # fmt: skip
        out.append(_block(6, body, order))
    return b"".join(out)
