"""Tunnel decapsulation for the vectorised decoder: where each outer packet's inner one starts.

The rules follow Zeek's packet analysers (``src/packet_analysis/protocol/{gre,erspan,vxlan,
geneve,teredo,gtpv1,ayiya}`` and ``scripts/base/packet-protocols/*/main.zeek``): GRE versions 0
(IP, transparent Ethernet bridging, MPLS, ERSPAN types I/II/III) and 1 (enhanced GRE carrying
PPP, i.e. PPTP), also over UDP (RFC 8086, udp/4754); VXLAN, Geneve, Teredo, GTP-U and AYIYA
over UDP; IP in IP. Inner packets are described as (offset, link type) pairs, with the link
types of :mod:`attrib.io.pcap._decode` (101 raw IP, 1 Ethernet, :data:`LINK_MPLS`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["G", "LINK_MPLS", "UDP_TUNNELS", "gre", "isin", "udp_tunnels"]

#: internal link type: an MPLS label stack (GRE protocol 0x8847, PPP protocol 0x0281)
LINK_MPLS = 1 << 20
#: UDP ports of tunnels we decapsulate: VXLAN, Geneve, GRE-in-UDP, Teredo, GTP-U, AYIYA
#: (Teredo after the named ports: it is also recognised on any port, see :func:`udp_tunnels`)
UDP_TUNNELS = (4789, 6081, 4754, 3544, 2152, 5072)


class G:
    """Bounds-safe gathers over one buffer."""

    def __init__(self, buf: bytes) -> None:
        self.a = np.frombuffer(buf, dtype=np.uint8)
        self.last = len(self.a) - 1

    def u8(self, p: np.ndarray) -> np.ndarray:
        return np.take(self.a, p, mode="clip").astype(np.int64)

    def u16(self, p: np.ndarray) -> np.ndarray:
        return (self.u8(p) << 8) | self.u8(p + 1)

    def u32(self, p: np.ndarray) -> np.ndarray:
        return (self.u16(p) << 16) | self.u16(p + 2)


def isin(x: np.ndarray, values: tuple[int, ...]) -> np.ndarray:
    """``np.isin`` for a handful of values (much cheaper on small batches)."""
    out = x == values[0]
    for v in values[1:]:
        out |= x == v
    return out


def gre(g: G, b: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner packets of GRE headers at ``b`` (payload ending at ``stop``): (offsets, links).

    As Zeek's ``GREAnalyzer``: the header is 4 bytes plus 4 for each of the checksum, key,
    sequence and (version 1) acknowledgement flags; versions other than 0 and 1, the
    deprecated routing flag and the reserved flag bits drop the packet. Version 0 carries IP,
    MPLS, Ethernet (0x6558) or ERSPAN: 0x88be is type II when the sequence flag is set (an
    8-byte ERSPAN header) and type I (none) otherwise; 0x22eb is type III (12 bytes, 8 more
    when the last header byte's O bit is set). Version 1 (enhanced GRE, PPTP) must be 0x880b
    and carries a 4-byte PPP header whose protocol is IPv4 (0x0021) or IPv6 (0x0057). Link 0
    marks a packet with no inner packet.
    """
    fl = g.u16(b)
    pt = g.u16(b + 2)
    ver = fl & 7
    hl = 4 + 4 * (((fl >> 15) & 1) + ((fl >> 13) & 1) + ((fl >> 12) & 1) + ((fl >> 7) & 1))
    off = b + hl
    room = stop - off
    lk = np.zeros(len(b), dtype=np.int64)
    v0 = ver == 0
    lk[v0 & isin(pt, (0x0800, 0x86DD))] = 101
    lk[v0 & (pt == 0x8847)] = LINK_MPLS
    lk[v0 & (pt == 0x6558) & (room > 14)] = 1
    ers = v0 & (pt == 0x88BE) & (room > 14)
    ers2 = ers & (((fl >> 12) & 1) == 1)
    lk[ers] = 1
    off = np.where(ers2, off + 8, off)
    lk[ers2 & (room < 22)] = 0
    ers3 = v0 & (pt == 0x22EB) & (room > 26)
    opt = (g.u8(off + 11) & 1) == 1
    lk[ers3 & ~(opt & (room <= 34))] = 1
    off = np.where(ers3, off + 12 + np.where(opt, 8, 0), off)
    v1 = (ver == 1) & (pt == 0x880B)
    ppp = g.u16(off + 2)
    lk[v1 & isin(ppp, (0x0021, 0x0057)) & (room >= 4)] = 101
    off = np.where(v1, off + 4, off)
    lk[((fl & 0x4000) > 0) | ((fl & 0x0078) > 0)] = 0
    return off, lk


def udp_tunnels(g: G, u: np.ndarray, sport: np.ndarray, dport: np.ndarray, pay: np.ndarray,
                plen: np.ndarray, inner: np.ndarray, link: np.ndarray,
                end: np.ndarray | None = None) -> None:  # fmt: skip
    """Fill ``inner``/``link`` for the UDP datagrams ``u`` (mask) that carry a tunnel.

    ``end`` (the end of each packet's captured bytes) bounds what a Teredo inner packet may
    use, as Zeek parses it from the captured payload only.
    """
    for port in UDP_TUNNELS:
        m = u & ((dport == port) | (sport == port))
        if port == 3544:  # relays answer from other ports: recognise IPv6 in UDP by its length
            m = u & (inner < 0)
        if not m.any():
            continue
        b = pay[m]
        stop = b + plen[m]
        if port == 4789:
            off, lk = b + 8, np.ones(len(b), dtype=np.int64)
        elif port == 6081:
            off = b + 8 + (g.u8(b) & 0x3F) * 4
            pt = g.u16(b + 2)
            lk = np.where(pt == 0x6558, 1, np.where(isin(pt, (0x0800, 0x86DD)), 101, 0))
        elif port == 4754:  # GRE-in-UDP (RFC 8086): a GRE header right after the UDP one
            off, lk = gre(g, b, stop)
        elif port == 3544:
            named = (dport[m] == port) | (sport[m] == port)
            cap = stop if end is None else np.minimum(stop, end[m])
            off, lk = _teredo(g, b, cap, named)
        elif port == 5072:  # AYIYA: 8-byte header, identity, signature, then the IP packet
            # as Zeek's AYIYA analyser: identity 1 << (byte0 >> 4) bytes, signature
            # (byte1 >> 4) * 4 bytes; only opcode 1 (forward) with next header 4 or 41 carries one
            idl = np.left_shift(1, g.u8(b) >> 4)
            off = b + 8 + idl + (g.u8(b + 1) >> 4) * 4
            fwd = (g.u8(b + 2) & 0x0F) == 1
            ipv = g.u8(np.minimum(off, stop)) >> 4
            nh = g.u8(b + 3)
            carried = ((nh == 4) & (ipv == 4)) | ((nh == 41) & (ipv == 6))
            lk = np.where(fwd & carried & (off < stop), 101, 0)
        else:  # GTP-U version 1, T-PDU
            off, lk = _gtp(g, b, stop if end is None else np.minimum(stop, end[m]))
        inner[m] = np.where(lk > 0, off, -1)
        link[m] = lk


#: the Teredo prefix 2001:0000::/32, as Zeek's detection pattern looks for it
_TEREDO_PREFIX = 0x20010000


def _teredo(g: G, b: np.ndarray, cap: np.ndarray,
            named: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Teredo payloads at ``b`` (captured up to ``cap``): (inner offsets, links).

    As Zeek's ``TeredoAnalyzer``: an optional authentication header (0x0001: 4 bytes, client
    id and authentication value, 8-byte nonce, confirmation byte), then an optional origin
    indication (0x0000, 8 bytes), then IPv6 (``TeredoEncapsulation::DoParse``: an
    authentication header after an origin indication, or either twice, is no Teredo). The
    inner packet must fill the payload exactly (``IP::ParsePacket``: shorter or longer is a
    violation), except that a bubble (no next header, payload length 0) may carry trailing
    bytes. Off the named port (udp/3544) a payload is Teredo only as ``DetectProtocol`` finds
    it: an IPv6 header with a Teredo address (2001:0::/32) as source or destination, or an
    origin indication (after an optional authentication header) followed by IPv6.
    """
    auth = g.u16(b) == 0x0001
    off = np.where(auth, b + 13 + g.u8(b + 2) + g.u8(b + 3), b)
    origin = g.u16(off) == 0x0000
    off = np.where(origin, off + 8, off)
    room = cap - off
    v6 = ((g.u8(off) >> 4) == 6) & (room >= 40)
    pl = g.u16(off + 4)
    bubble = (g.u8(off + 6) == 59) & (pl == 0)
    parsed = v6 & ((pl + 40 == room) | bubble)
    bare = ((g.u8(b) >> 4) == 6) & (cap - b >= 40)
    prefixed = bare & ((g.u32(b + 8) == _TEREDO_PREFIX) | (g.u32(b + 24) == _TEREDO_PREFIX))
    detected = prefixed | (origin & v6)
    return off, np.where(parsed & (named | detected), 101, 0)


def _gtp(g: G, b: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GTP-U version 1 T-PDUs (with extension headers) carrying IPv4 or IPv6.

    As Zeek's ``GTPv1_Analyzer``: the inner packet must fill the rest of the captured payload
    exactly (``IP::ParsePacket``: a shorter or longer one is a violation, not decapsulated);
    fragmented outer datagrams are whole by then (:mod:`attrib.io.pcap._frag`).
    """
    f = g.u8(b)
    off = b + 8 + np.where(f & 0x07, 4, 0)
    ext = (f & 0x04) > 0
    nxt = np.where(ext, g.u8(off - 1), 0)
    for _ in range(4):
        more = nxt > 0
        if not more.any():
            break
        ln = g.u8(off) * 4
        off = np.where(more, off + ln, off)
        nxt = np.where(more & (ln > 0), g.u8(off - 1), 0)
    ok_t = ((f >> 5) == 1) & (g.u8(b + 1) == 0xFF)
    ver = g.u8(off) >> 4
    total = np.where(ver == 4, g.u16(off + 2), g.u16(off + 4) + 40)
    lk = np.where(ok_t & isin(ver, (4, 6)) & (total == cap - off), 101, 0)
    return off, lk
