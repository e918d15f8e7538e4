"""Vectorised link, IP and transport header decoding of a whole packet batch.

Every field is gathered with numpy fancy indexing over the batch buffer; reads past a packet's
captured length are masked, never taken from the next record. Supported link types: Ethernet
(Cisco FabricPath, 802.1Q/802.1ad/QinQ, 802.1ah PBB, VN-Tag, PPPoE session, MPLS), PPP (9) and
PPP in HDLC framing (50), Linux SLL and SLL2, raw IPv4/IPv6 (101, 12, 14, 228, 229), BSD
null/loopback (0) and OpenBSD loop (108). Tunnels: :mod:`attrib.io.pcap._tunnel`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from attrib.io.pcap._container import PacketBatch
from attrib.io.pcap._jit import kernels
from attrib.io.pcap._tunnel import LINK_MPLS, UDP_TUNNELS, G, gre, isin, udp_tunnels

__all__ = [
    "FAST_FIELDS",
    "Decoded",
    "LINKTYPES",
    "ICMP4",
    "ICMP6",
    "TUNNEL_PORTS",
    "REASSEMBLED",
    "decode",
    "decode_rest",
    "merge",
    "reassembled",
]

#: link types this decoder understands
LINKTYPES = {0: "null", 1: "ethernet", 9: "ppp", 12: "raw", 14: "raw", 50: "ppp-hdlc",
             101: "raw", 108: "loop", 113: "sll", 228: "ipv4", 229: "ipv6",
             276: "sll2"}  # fmt: skip
_V4, _V6 = 0x0800, 0x86DD
_IPV6_EXT = (0, 43, 60, 135, 139, 140)
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass
class Decoded:
    """Per-packet header fields of one batch (arrays of equal length)."""

    ok: np.ndarray  # decoded an IP packet with its transport header
    reason: np.ndarray  # int8 code of why not ok (0 = ok)
    ipv: np.ndarray
    l3: np.ndarray
    ip_len: np.ndarray
    ttl: np.ndarray
    df: np.ndarray
    ipid: np.ndarray
    proto: np.ndarray
    frag: np.ndarray  # 0 none, 1 first fragment, 2 later fragment
    l4: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    seq: np.ndarray
    ack: np.ndarray
    flags: np.ndarray
    thl: np.ndarray
    win: np.ndarray
    plen: np.ndarray  # transport payload length per the headers
    pay: np.ndarray  # payload offset in the buffer
    end: np.ndarray  # end of the captured bytes of the packet in the buffer
    key: np.ndarray  # uint64 flow key (direction-independent)
    fwd: np.ndarray  # True when the sender is the key's "low" endpoint
    ts: np.ndarray  # int64 nanoseconds
    rec: np.ndarray  # 1-based record number of the (outer) packet
    lvl: np.ndarray  # tunnel nesting level (0 = outermost)


#: reasons a packet was not used (index = Decoded.reason)
REASONS = (
    "", "unsupported link type", "not IP", "truncated link header",
    "truncated or bad IP header", "truncated transport header", "bad transport header",
    "decapsulated tunnel", "other IP protocol", "IPv4 fragment (reassembled)",
)  # fmt: skip
_TUNNEL, _OTHER = 7, 8
#: reason of an IPv4 fragment held for reassembly (:mod:`attrib.io.pcap._frag`)
REASSEMBLED = 9
#: IP protocols whose IPv4 fragments are reassembled: the tunnel carriers (UDP, GRE, IP in IP)
REASSEMBLED_PROTOS = (17, 47, 4, 41)


def reassembled(d: Decoded) -> np.ndarray:
    """The packets of ``d`` that are IPv4 fragments to reassemble before decapsulation.

    As Zeek's IP analyser (``FragReassembler``) does for every fragment, here for the tunnel
    carriers only: outermost IPv4 fragments of UDP, GRE and IP in IP, captured whole (an
    incompletely captured fragment is not reassembled by Zeek either: the first one is
    analysed as it is, ``incompletely_captured_fragment``).

    Parameters
    ----------
    d
        Decoded packets.

    Returns
    -------
    numpy.ndarray
        Boolean mask.
    """
    return (
        (d.lvl == 0)
        & (d.ipv == 4)
        & (d.frag > 0)
        & isin(d.proto, REASSEMBLED_PROTOS)
        & ((d.reason == 0) | (d.reason == _OTHER))
        & (d.l3 + d.ip_len <= d.end)
    )


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = (h ^ v.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
    return h ^ (h >> np.uint64(29))


def _link(g: G, off: np.ndarray, end: np.ndarray, link: np.ndarray) -> tuple[np.ndarray, ...]:
    n = len(off)
    et = np.zeros(n, dtype=np.int64)
    l3 = off.copy()
    known = np.zeros(n, dtype=bool)
    eth = link == 1
    if eth.any():  # Cisco FabricPath (0x8903): a 16-byte header before the Ethernet one
        b = off[eth]
        b = np.where(g.u16(b + 12) == 0x8903, b + 16, b)
        et[eth] = g.u16(b + 12)
        l3[eth] = b + 14
    ppp = isin(link, (9, 50))
    if ppp.any():  # PPP (9: HDLC-like framing when it starts ff 03) and PPP in HDLC (50)
        b = off[ppp]
        hdlc = (link[ppp] == 50) | ((g.u8(b) == 0xFF) & (g.u8(b + 1) == 0x03))
        pp = np.where(hdlc, g.u16(b + 2), g.u16(b))
        et[ppp] = np.where(pp == 0x21, _V4, np.where(pp == 0x57, _V6,
                                                     np.where(pp == 0x281, 0x8847, 0)))  # fmt: skip
        l3[ppp] = b + np.where(hdlc, 4, 2)
    mpls = link == LINK_MPLS
    et[mpls] = 0x8847
    _ethertypes(g, et, l3, eth | ppp | mpls)
    known |= eth | ppp | mpls
    m = link == 113
    et[m] = g.u16(off[m] + 14)
    l3[m] = off[m] + 16
    known |= m
    m = link == 276
    et[m] = g.u16(off[m])
    l3[m] = off[m] + 20
    known |= m
    m = isin(link, (12, 14, 101))
    et[m] = -1
    known |= m
    et[link == 228] = _V4
    et[link == 229] = _V6
    known |= (link == 228) | (link == 229)
    for lt, shift in ((0, True), (108, False)):
        m = link == lt
        if m.any():
            b = off[m]
            af = (g.u8(b) << 24) | (g.u8(b + 1) << 16) | (g.u8(b + 2) << 8) | g.u8(b + 3)
            if shift:  # host byte order: pick the interpretation that is small
                sw = (g.u8(b + 3) << 24) | (g.u8(b + 2) << 16) | (g.u8(b + 1) << 8) | g.u8(b)
                af = np.where(af > 0xFFFF, sw, af)
            et[m] = np.where(af == 2, _V4, np.where(isin(af, (10, 24, 28, 30)), _V6, 0))
            l3[m] = b + 4
            known |= m
    byver = et == -1
    if byver.any():
        v = g.u8(l3[byver]) >> 4
        et[byver] = np.where(v == 4, _V4, np.where(v == 6, _V6, 0))
    return et, l3, known


_VLAN = (0x8100, 0x88A8, 0x9100)


def _ethertypes(g: G, et: np.ndarray, l3: np.ndarray, rows: np.ndarray) -> None:
    """Follow the Ethernet-family headers of ``rows`` to the network layer, in place.

    As Zeek's packet analysers dispatch on ethertypes: 802.1Q / 802.1ad / QinQ tags, 802.1ah
    PBB (0x88e7: a 4-byte I-tag and the customer addresses, then the customer ethertype),
    VN-Tag (0x8926: 6 bytes, followed by a VLAN tag only, as in Zeek's ``vntag/main.zeek``),
    PPPoE sessions (IPv4/IPv6 in PPP) and MPLS label stacks (to the bottom of the stack; the
    payload's version nibble decides). ``et`` becomes 0x0800, 0x86DD or something else.
    """
    m = rows.copy()
    for _ in range(6):
        m &= isin(et, _VLAN + (0x88E7, 0x8926))
        if not m.any():
            break
        b = l3[m]
        t = et[m]
        vl = isin(t, _VLAN)
        pbb = t == 0x88E7
        nxt = np.where(vl, g.u16(b + 2), np.where(pbb, g.u16(b + 16), g.u16(b + 4)))
        vn = t == 0x8926
        nxt[vn & ~isin(nxt, _VLAN)] = 0
        et[m] = nxt
        l3[m] = b + np.where(vl, 4, np.where(pbb, 18, 6))
    m = rows & (et == 0x8864)  # PPPoE session
    if m.any():
        ppp = g.u16(l3[m] + 6)
        et[m] = np.where(ppp == 0x21, _V4, np.where(ppp == 0x57, _V6, 0))
        l3[m] += 8
    m = rows & isin(et, (0x8847, 0x8848))  # MPLS: skip labels to bottom of stack
    for _ in range(4):
        if not m.any():
            break
        bos = (g.u8(l3[m] + 2) & 1) == 1
        l3[m] += 4
        idx = np.flatnonzero(m)
        et[idx[bos]] = -1  # decide by version nibble
        m[idx[bos]] = False


def decode(batch: PacketBatch, depth: int = 0, compiled: bool = True) -> Decoded:
    """Decode link, IP and transport headers of every packet in ``batch``.

    Tunnels (GRE incl. ERSPAN, IP-in-IP, VXLAN, Geneve, Teredo, GTP-U) are decapsulated: the
    inner packet follows its outer packet in the result (UDP outer connections stay, as in
    Zeek's conn.log).

    Parameters
    ----------
    batch
        Packets of one block.
    depth
        Tunnel nesting level (internal).
    compiled
        Decode the common packets with the compiled decoder when numba is available (the
        result is identical; False forces the numpy decoder, for tests).

    Returns
    -------
    Decoded
        Header fields in packet order; ``ok`` marks packets with a usable IP and transport
        header.
    """
    if compiled and depth == 0 and len(batch) and kernels() is not None:
        return _decode_fast(batch)
    return _decode_general(batch, depth)


#: Decoded fields the compiled decoder fills, in its output row order
FAST_FIELDS = ("ipv", "l3", "ip_len", "ttl", "df", "ipid", "proto", "l4", "sport", "dport",
               "seq", "ack", "flags", "thl", "win", "plen", "pay")  # fmt: skip
#: UDP ports of decapsulated tunnels, as a lookup table for the compiled decoder
TUNNEL_PORTS = np.zeros(65536, dtype=np.bool_)
TUNNEL_PORTS[list(UDP_TUNNELS)] = True


def _decode_fast(batch: PacketBatch) -> Decoded:
    """Compiled decoding of the common packets; the rest goes through the general decoder."""
    n = len(batch)
    # every row is written: by the compiled decoder, or below from the general one
    out = np.empty((n, len(FAST_FIELDS)), dtype=np.int64)  # a packet per row
    key = np.empty(n, dtype=np.uint64)
    fwd = np.empty(n, dtype=bool)
    end = batch.offs + batch.caplen
    a = np.frombuffer(batch.buf, dtype=np.uint8)
    slow = kernels().decode_simple(  # type: ignore[union-attr]
        a, batch.offs, end, batch.link, ICMP4, ICMP6, TUNNEL_PORTS, out, key, fwd
    )
    rec = batch.rec if batch.rec is not None else np.arange(n, dtype=np.int64) + batch.first_record
    cols: dict[str, np.ndarray] = dict(zip(FAST_FIELDS, out.T, strict=True))
    d = Decoded(
        ok=np.ones(n, dtype=bool), reason=np.zeros(n, dtype=np.int8),
        frag=np.zeros(n, dtype=np.int64), end=end, key=key, fwd=fwd, ts=batch.ts_ns, rec=rec,
        lvl=np.zeros(n, dtype=np.int64), **cols,
    )  # fmt: skip
    return decode_rest(batch, d, slow)


def decode_rest(batch: PacketBatch, d: Decoded, slow: np.ndarray) -> Decoded:
    """Complete the compiled decoder's result with the general decoder's for what it left.

    The arrays of ``d`` are filled in place unless tunnel payloads add packets.

    Parameters
    ----------
    batch
        The packets.
    d
        Their decoded fields, valid except at ``slow``; ``d.rec`` are the record numbers.
    slow
        Indices of the packets left to the general decoder.

    Returns
    -------
    Decoded
        ``d``, or a new result with the inner packets of tunnels interleaved.
    """
    if not len(slow):
        return d
    n = len(d.ok)
    rec = d.rec
    sub = PacketBatch(
        buf=batch.buf, offs=batch.offs[slow], caplen=batch.caplen[slow],
        wirelen=batch.wirelen[slow], ts_ns=batch.ts_ns[slow], link=batch.link[slow],
        first_record=0,
    )  # fmt: skip
    sub.rec = rec[slow]
    ds = _decode_general(sub, 0)
    if len(ds.ok) == len(slow):  # no tunnel payloads: fill in place
        for f in fields(Decoded):
            getattr(d, f.name)[slow] = getattr(ds, f.name)
        return d
    keep = np.ones(n, dtype=bool)
    keep[slow] = False
    df_ = Decoded(**{f.name: getattr(d, f.name)[keep] for f in fields(Decoded)})
    return merge(df_, ds)


def _decode_general(batch: PacketBatch, depth: int) -> Decoded:
    d = _decode_once(batch)
    if depth >= 3:
        return d
    g = G(batch.buf)
    which, inner, link = _tunnels(g, d, depth)
    if not len(which):
        return d
    sub = PacketBatch(
        buf=batch.buf, offs=inner, caplen=np.maximum(d.end[which] - inner, 0),
        wirelen=batch.wirelen[which], ts_ns=d.ts[which], link=link, first_record=0,
    )  # fmt: skip
    sub.rec = d.rec[which]
    di = _decode_general(sub, depth + 1)
    di.lvl += 1
    return merge(d, di)


def merge(d: Decoded, di: Decoded) -> Decoded:
    """Interleave the packets of ``di`` right after the packets of ``d`` with their records.

    Parameters
    ----------
    d, di
        Decoded packets over the same buffer (``di``: inner or reassembled packets).

    Returns
    -------
    Decoded
        Both, ordered by record number and tunnel level (``d``'s first on ties).
    """
    order = np.lexsort((np.concatenate([d.lvl, di.lvl]), np.concatenate([d.rec, di.rec])))
    out = {}
    for f in fields(Decoded):
        a, b = getattr(d, f.name), getattr(di, f.name)
        out[f.name] = np.concatenate([a, b])[order]
    return Decoded(**out)


def _tunnels(g: G, d: Decoded, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outer packets carrying a tunnel: (indices, inner offsets, inner link types).

    Outermost IPv4 fragments captured whole are left to :mod:`attrib.io.pcap._frag` (Zeek
    reassembles the datagram first, then decapsulates it). Other first fragments (inside a
    tunnel, IPv6, incompletely captured) are decapsulated as far as the inner headers were
    captured in them: the inner packet's sizes come from its own headers.
    """
    n = len(d.ok)
    inner = np.full(n, -1, dtype=np.int64)
    link = np.zeros(n, dtype=np.int64)
    # fragments to reassemble are decapsulated once whole (attrib.io.pcap._frag); others, as
    # far as their first fragment was captured
    held = reassembled(d) if depth == 0 else np.zeros(n, dtype=bool)
    ipok = ((d.reason == 0) | (d.reason == _OTHER)) & (d.frag < 2) & ~held
    l4 = d.l4
    m = ipok & isin(d.proto, (4, 41))  # IP in IP
    inner[m], link[m] = l4[m], 101
    m = ipok & (d.proto == 47)  # GRE
    if m.any():
        inner[m], link[m] = gre(g, l4[m], d.l3[m] + d.ip_len[m])
    u = (d.reason == 0) & (d.proto == 17) & (d.frag < 2) & ~held
    udp_tunnels(g, u, d.sport, d.dport, d.pay, d.plen, inner, link, d.end)
    which = np.flatnonzero((inner >= 0) & (link > 0) & (inner < d.end))
    # IP-level tunnels (GRE, IP in IP) have no session of their own in Zeek's conn.log
    ipt = which[isin(d.proto[which], (4, 41, 47))]
    d.ok[ipt] = False
    d.reason[ipt] = _TUNNEL
    return which, inner[which], link[which]


def _decode_once(batch: PacketBatch) -> Decoded:
    g = G(batch.buf)
    off, end = batch.offs, batch.offs + batch.caplen
    n = len(off)
    et, l3, known = _link(g, off, end, batch.link)
    reason = np.zeros(n, dtype=np.int8)
    reason[~known] = 1
    reason[(reason == 0) & (et != _V4) & (et != _V6)] = 2
    reason[(reason == 0) & (l3 > end)] = 3
    z = np.zeros(n, dtype=np.int64)
    ipv, ip_len, ttl, df, ipid, proto, frag, l4 = (z.copy() for _ in range(8))
    h_src = np.zeros(n, dtype=np.uint64)
    h_dst = np.zeros(n, dtype=np.uint64)
    v4 = (reason == 0) & (et == _V4)
    if v4.any():
        b = l3[v4]
        vi = g.u8(b)
        ihl = (vi & 15) * 4
        tl = g.u16(b + 2)
        ff = g.u16(b + 6)
        bad = ((vi >> 4) != 4) | (ihl < 20) | (b + 20 > end[v4]) | (tl < ihl)
        ipv[v4] = 4
        ip_len[v4] = tl
        ipid[v4] = g.u16(b + 4)
        df[v4] = (ff >> 14) & 1
        fo = ff & 0x1FFF
        frag[v4] = np.where(fo > 0, 2, np.where(ff & 0x2000, 1, 0))
        ttl[v4] = g.u8(b + 8)
        proto[v4] = g.u8(b + 9)
        l4[v4] = b + ihl
        s, d = g.u32(b + 12), g.u32(b + 16)
        hs = _mix(_mix(np.zeros(len(b), np.uint64), np.full(len(b), 0xFFFF)), s)
        hd = _mix(_mix(np.zeros(len(b), np.uint64), np.full(len(b), 0xFFFF)), d)
        h_src[v4], h_dst[v4] = hs, hd
        idx = np.flatnonzero(v4)
        reason[idx[bad]] = 4
    v6 = (reason == 0) & (et == _V6)
    if v6.any():
        b = l3[v6]
        bad = ((g.u8(b) >> 4) != 6) | (b + 40 > end[v6])
        ipv[v6] = 6
        ip_len[v6] = g.u16(b + 4) + 40
        ttl[v6] = g.u8(b + 7)
        hs = np.zeros(len(b), np.uint64)
        hd = np.zeros(len(b), np.uint64)
        for w in range(4):
            hs = _mix(hs, g.u32(b + 8 + 4 * w))
            hd = _mix(hd, g.u32(b + 24 + 4 * w))
        h_src[v6], h_dst[v6] = hs, hd
        nh = g.u8(b + 6)
        p = b + 40
        fr = np.zeros(len(b), dtype=np.int64)
        for _ in range(8):
            ext = isin(nh, _IPV6_EXT)
            fm = nh == 44
            ah = nh == 51
            if not (ext.any() or fm.any() or ah.any()):
                break
            hl = g.u8(p + 1)
            fw = g.u16(p + 2)
            fr = np.where(fm, np.where((fw >> 3) > 0, 2, np.where(fw & 1, 1, 0)), fr)
            nh2 = np.where(ext | fm | ah, g.u8(p), nh)
            p = np.where(
                ext, p + (hl + 1) * 8, np.where(fm, p + 8, np.where(ah, p + (hl + 2) * 4, p))
            )
            nh = nh2
        proto[v6] = nh
        l4[v6] = p
        frag[v6] = fr
        idx = np.flatnonzero(v6)
        reason[idx[bad]] = 4
    ip = reason == 0
    ip_end = l3 + ip_len
    sport, dport, seq, ack, flags, thl, win, plen, pay = (z.copy() for _ in range(9))
    later = ip & (frag == 2)
    tcp = ip & (proto == 6) & ~later
    if tcp.any():
        b = l4[tcp]
        sport[tcp], dport[tcp] = g.u16(b), g.u16(b + 2)
        seq[tcp], ack[tcp] = g.u32(b + 4), g.u32(b + 8)
        h = (g.u8(b + 12) >> 4) * 4
        thl[tcp] = h
        flags[tcp] = g.u8(b + 13)
        win[tcp] = g.u16(b + 14)
        pay[tcp] = b + h
        plen[tcp] = ip_end[tcp] - (b + h)
        idx = np.flatnonzero(tcp)
        reason[idx[b + 20 > end[tcp]]] = 5
        reason[idx[(reason[idx] == 0) & ((h < 20) | (plen[tcp] < 0))]] = 6
    udp = ip & (proto == 17) & ~later
    if udp.any():
        b = l4[udp]
        sport[udp], dport[udp] = g.u16(b), g.u16(b + 2)
        ul = g.u16(b + 4)
        pay[udp] = b + 8
        plen[udp] = np.where(ul >= 8, ul - 8, ip_end[udp] - b - 8)
        idx = np.flatnonzero(udp)
        reason[idx[b + 8 > end[udp]]] = 5
    icmp = ip & (((proto == 1) & (ipv == 4)) | ((proto == 58) & (ipv == 6))) & ~later
    if icmp.any():
        b = l4[icmp]
        t, c = g.u8(b), g.u8(b + 1)
        sport[icmp] = t
        dport[icmp] = _icmp_counterpart(t, c, ipv[icmp])
        plen[icmp] = ip_end[icmp] - b - 8
        pay[icmp] = b + 8
        idx = np.flatnonzero(icmp)
        reason[idx[b + 4 > end[icmp]]] = 5
    # Zeek's IP analyser hands every other protocol but the tunnels (IP in IP, GRE) to its
    # UNKNOWN_IP_TRANSPORT analyser: a connection per address pair and protocol, ports 0, no
    # payload sizes, no history, conn_state OTH (the sizes stay 0 here; ports are 0 above).
    # IPv6's "no next header" (59, e.g. Teredo bubbles) carries nothing: no connection, as in
    # Zeek's baseline core.tunnels.teredo (logged with ip_proto, no such row)
    other = ip & ~tcp & ~udp & ~icmp & ~later
    tun = other & isin(proto, (4, 41, 47, 59))
    plen[tun] = ip_end[tun] - l4[tun]
    pay[other] = l4[other]
    reason[tun] = _OTHER
    ok = reason == 0
    first = batch.first_record
    hs = _mix(h_src, sport)
    hd = _mix(h_dst, dport)
    fwd = hs <= hd
    lo = np.where(fwd, hs, hd)
    hi = np.where(fwd, hd, hs)
    key = _mix(_mix(_mix(np.zeros(n, np.uint64), lo), hi), proto)
    return Decoded(
        ok=ok, reason=reason, ipv=ipv, l3=l3, ip_len=ip_len, ttl=ttl, df=df, ipid=ipid,
        proto=proto, frag=frag, l4=l4, sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
        thl=thl, win=win, plen=plen, pay=pay, end=end, key=key, fwd=fwd, ts=batch.ts_ns,
        rec=batch.rec if batch.rec is not None else np.arange(n, dtype=np.int64) + first,
        lvl=np.zeros(n, dtype=np.int64),
    )  # fmt: skip


_ICMP4_PAIR = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP6_PAIR = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
               139: 140, 140: 139}  # fmt: skip


#: ICMP type -> counterpart type (-1 none), IPv4 and IPv6
ICMP4 = np.full(256, -1, dtype=np.int64)
ICMP6 = np.full(256, -1, dtype=np.int64)
for _k, _v in _ICMP4_PAIR.items():
    ICMP4[_k] = _v
for _k, _v in _ICMP6_PAIR.items():
    ICMP6[_k] = _v


def _icmp_counterpart(t: np.ndarray, c: np.ndarray, ipv: np.ndarray) -> np.ndarray:
    """Zeek's ``resp_p`` for ICMP: the counterpart type of paired messages, else the code."""
    cp = np.where(ipv == 4, ICMP4[t], ICMP6[t])
    return np.where(cp >= 0, cp, c)
