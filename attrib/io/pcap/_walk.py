# numba kernels: numpy scalars (np.int64, np.uint64) stand for ints throughout
# mypy: disable-error-code="assignment, return-value, arg-type"
"""Compiled (numba) record walk and header decoding of classic-pcap blocks.

:func:`walk_decode` walks the records of a block and decodes each common packet while its
bytes are in cache (one pass); :func:`scan_pcap` only walks, :func:`decode_simple` only
decodes (the two-pass path of :mod:`._container` / :mod:`._decode`). All three give
what the numpy decoder (:mod:`attrib.io.pcap._decode`) gives; the packets they cannot handle
(other link types, fragments, IPv6 extension headers, tunnels, bad headers) are left to it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["NROWS", "ROWS", "decode_simple", "scan_pcap", "walk_decode"]

#: columns of :func:`walk_decode`'s int64 matrix (one row per packet: a packet's fields are
#: written, and read by the connection tracker, together): ``_decode.FAST_FIELDS``, then
ROWS = ("ipv", "l3", "ip_len", "ttl", "df", "ipid", "proto", "l4", "sport", "dport", "seq",
        "ack", "flags", "thl", "win", "plen", "pay", "offs", "caplen", "wirelen", "ts", "end",
        "frag", "lvl", "rec", "link")  # fmt: skip
NROWS = len(ROWS)
_OFFS, _CAP, _WIRE, _TS, _END, _FRAG, _LVL, _REC, _LINK = range(17, NROWS)
_KMIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _u32(a: np.ndarray, p: int, big: bool) -> int:
    b0, b1 = np.int64(a[p]), np.int64(a[p + 1])
    b2, b3 = np.int64(a[p + 2]), np.int64(a[p + 3])
    return (b0 << 24 | b1 << 16 | b2 << 8 | b3) if big else (b3 << 24 | b2 << 16 | b1 << 8 | b0)


@njit(cache=True, inline="always")
def _u16(a: np.ndarray, p: int) -> int:
    return (np.int64(a[p]) << 8) | np.int64(a[p + 1])


@njit(cache=True, inline="always")
def _mixk(h: np.uint64, v: int) -> np.uint64:
    """``_decode._mix`` for one value."""
    h = (h ^ np.uint64(v)) * _KMIX
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True)
def scan_pcap(a: np.ndarray, big: bool, limit: int, frac_mult: int, offs: np.ndarray,
              cap: np.ndarray, wire: np.ndarray,
              ts: np.ndarray) -> tuple[int, int, int]:  # fmt: skip
    """Walk classic-pcap records in ``a`` and read their headers.

    Fills packet data offsets, captured and wire lengths and timestamps (ns), at most
    ``len(offs)`` records; returns (records found, offset after the last one taken, 1 if a
    caplen exceeded ``limit`` at that offset else 0).
    """
    n = len(a)
    pos = 0
    k = 0
    while pos + 16 <= n and k < len(offs):
        incl = _u32(a, pos + 8, big)
        if incl > limit:
            return k, pos, 1
        if pos + 16 + incl > n:
            break
        offs[k] = pos + 16
        cap[k] = incl
        wire[k] = _u32(a, pos + 12, big)
        ts[k] = _u32(a, pos, big) * 1_000_000_000 + _u32(a, pos + 4, big) * frac_mult
        k += 1
        pos += 16 + incl
    return k, pos, 0


@njit(cache=True, nogil=True)
def walk_decode(a: np.ndarray, n: int, big: bool, limit: int, frac_mult: int, link: int,
                first_rec: int, icmp4: np.ndarray, icmp6: np.ndarray,
                tunnel_ports: np.ndarray, M: np.ndarray, ok: np.ndarray, reason: np.ndarray,
                key: np.ndarray, fwd: np.ndarray,
                slow: np.ndarray) -> tuple[int, int, int, int]:  # fmt: skip
    """:func:`scan_pcap` and :func:`decode_simple` in one pass over ``a[:n]``.

    Record ``k`` fills row ``k`` of ``M`` (columns :data:`ROWS`), ``ok``, ``reason``, ``key``
    and ``fwd``, at most ``len(ok)`` records. Returns (records, offset after the last one
    taken, 1 if a caplen exceeded ``limit`` there else 0, packets left to the general decoder
    in ``slow[:that]``).
    """
    pos = 0
    k = 0
    ns = 0
    while pos + 16 <= n and k < len(ok):
        incl = _u32(a, pos + 8, big)
        if incl > limit:
            return k, pos, 1, ns
        if pos + 16 + incl > n:
            break
        o = pos + 16
        M[k, _OFFS] = o
        M[k, _CAP] = incl
        M[k, _WIRE] = _u32(a, pos + 12, big)
        M[k, _TS] = _u32(a, pos, big) * 1_000_000_000 + _u32(a, pos + 4, big) * frac_mult
        M[k, _END] = o + incl
        M[k, _FRAG] = 0
        M[k, _LVL] = 0
        M[k, _REC] = first_rec + k
        M[k, _LINK] = link
        ok[k] = True
        reason[k] = 0
        if not _decode_one(a, o, o + incl, link, icmp4, icmp6, tunnel_ports, M, k, key, fwd):
            slow[ns] = k
            ns += 1
        k += 1
        pos = o + incl
    return k, pos, 0, ns


@njit(cache=True, nogil=True)
def decode_simple(a: np.ndarray, off: np.ndarray, end: np.ndarray, link: np.ndarray,
                  icmp4: np.ndarray, icmp6: np.ndarray, tunnel_ports: np.ndarray,
                  out: np.ndarray, key: np.ndarray, fwd: np.ndarray) -> np.ndarray:  # fmt: skip
    """Decode the common packets of a batch: what ``_decode.decode`` would give.

    Writes the fields in ``out`` (one row per packet, columns in the order of
    ``_decode.FAST_FIELDS``), the flow key and direction; returns the indices of the
    packets it left to the general decoder (see :func:`_decode_one`).
    """
    n = len(off)
    slow = np.empty(n, dtype=np.int64)
    ns = 0
    for i in range(n):
        if not _decode_one(a, off[i], end[i], link[i], icmp4, icmp6, tunnel_ports, out, i, key,
                           fwd):  # fmt: skip
            slow[ns] = i
            ns += 1
    return slow[:ns]


@njit(cache=True, inline="always")
def _l3(a: np.ndarray, o: int, e: int, lk: int) -> tuple[int, int]:
    """(ethertype, network header offset) of a packet; ethertype 0 = not handled here."""
    if lk == 1:
        if o + 14 > e:
            return 0, o
        et = _u16(a, o + 12)
        b = o + 14
        for _ in range(3):
            if (et == 0x8100 or et == 0x88A8 or et == 0x9100) and b + 4 <= e:
                et = _u16(a, b + 2)
                b += 4
            else:
                break
        return et, b
    if (lk == 101 or lk == 12 or lk == 14) and o < e:
        v = a[o] >> 4
        return (0x0800 if v == 4 else (0x86DD if v == 6 else 0)), o
    return 0, o


@njit(cache=True, inline="always")
def _teredo(a: np.ndarray, pay: int, e: int, plen: int) -> bool:
    """Whether a UDP payload may be Teredo (IPv6 in UDP, recognised on any port).

    A superset of ``_tunnel._teredo``'s test: after up to two authentication / origin
    indication headers, an IPv6 header whose payload length matches the datagram's, or a
    bubble (no next header, payload length 0). True also when the bytes needed lie past the
    captured data (the general decoder then decides).
    """
    off = pay
    for _ in range(2):
        if off + 4 > e:
            return True
        t = _u16(a, off)
        if t == 0x0001:
            off += 13 + np.int64(a[off + 2]) + np.int64(a[off + 3])
        elif t == 0x0000:
            off += 8
    if off + 7 > e:
        return True
    pl = _u16(a, off + 4)
    return (a[off] >> 4) == 6 and (pl + 40 == pay + plen - off or (pl == 0 and a[off + 6] == 59))


@njit(cache=True, inline="always")
def _decode_one(a: np.ndarray, o: int, e: int, lk: int, icmp4: np.ndarray, icmp6: np.ndarray,
                tunnel_ports: np.ndarray, out: np.ndarray, i: int, key: np.ndarray,
                fwd: np.ndarray) -> bool:  # fmt: skip
    """Decode the packet ``a[o:e]`` into row ``i`` of ``out``, ``key[i]`` and ``fwd[i]``.

    Handles Ethernet (with up to three VLAN tags) and raw-IP link types carrying unfragmented
    IPv4 (any header length) or IPv6 without extension headers, with a complete TCP, UDP or
    ICMP header, not a tunnel; False (nothing written) for anything else, including every bad
    packet.
    """
    et, b = _l3(a, o, e, lk)
    ipv = ip_len = ttl = df = ipid = l4 = pr = 0
    hs = hd = np.uint64(0)
    if et == 0x0800 and b + 20 <= e:
        vi = np.int64(a[b])
        ihl = (vi & 15) * 4
        tl = _u16(a, b + 2)
        ff = _u16(a, b + 6)
        pr = np.int64(a[b + 9])
        if not (
            (vi >> 4) == 4
            and ihl >= 20
            and tl >= ihl
            and (ff & 0x3FFF) == 0
            and (pr == 6 or pr == 17 or pr == 1)
        ):
            return False
        ipv = 4
        ip_len = tl
        ttl = np.int64(a[b + 8])
        df = (ff >> 14) & 1
        ipid = _u16(a, b + 4)
        l4 = b + ihl
        hs = _mixk(_mixk(np.uint64(0), 0xFFFF), _u32(a, b + 12, True))
        hd = _mixk(_mixk(np.uint64(0), 0xFFFF), _u32(a, b + 16, True))
    elif et == 0x86DD and b + 40 <= e:
        pr = np.int64(a[b + 6])
        if not ((a[b] >> 4) == 6 and (pr == 6 or pr == 17 or pr == 58)):
            return False
        ipv = 6
        ip_len = _u16(a, b + 4) + 40
        ttl = np.int64(a[b + 7])
        l4 = b + 40
        for w in range(4):
            hs = _mixk(hs, _u32(a, b + 8 + 4 * w, True))
            hd = _mixk(hd, _u32(a, b + 24 + 4 * w, True))
    else:
        return False
    ip_end = b + ip_len
    sq = ak = fl = thl = win = 0
    if pr == 6:
        if l4 + 20 > e:
            return False
        sport = _u16(a, l4)
        dport = _u16(a, l4 + 2)
        sq = _u32(a, l4 + 4, True)
        ak = _u32(a, l4 + 8, True)
        thl = (np.int64(a[l4 + 12]) >> 4) * 4
        fl = np.int64(a[l4 + 13])
        win = _u16(a, l4 + 14)
        pay = l4 + thl
        plen = ip_end - pay
        if thl < 20 or plen < 0:
            return False
    elif pr == 17:
        if l4 + 8 > e:
            return False
        sport = _u16(a, l4)
        dport = _u16(a, l4 + 2)
        ul = _u16(a, l4 + 4)
        pay = l4 + 8
        plen = ul - 8 if ul >= 8 else ip_end - l4 - 8
        if tunnel_ports[sport] or tunnel_ports[dport] or (pay < e and _teredo(a, pay, e, plen)):
            return False
    else:
        if l4 + 4 > e:
            return False
        t = np.int64(a[l4])
        cp = icmp4[t] if ipv == 4 else icmp6[t]
        sport = t
        dport = cp if cp >= 0 else np.int64(a[l4 + 1])
        plen = ip_end - l4 - 8
        pay = l4 + 8
    out[i, 0] = ipv
    out[i, 1] = b
    out[i, 2] = ip_len
    out[i, 3] = ttl
    out[i, 4] = df
    out[i, 5] = ipid
    out[i, 6] = pr
    out[i, 7] = l4
    out[i, 8] = sport
    out[i, 9] = dport
    out[i, 10] = sq
    out[i, 11] = ak
    out[i, 12] = fl
    out[i, 13] = thl
    out[i, 14] = win
    out[i, 15] = plen
    out[i, 16] = pay
    hs2 = _mixk(hs, sport)
    hd2 = _mixk(hd, dport)
    f = hs2 <= hd2
    lo, hi = (hs2, hd2) if f else (hd2, hs2)
    key[i] = _mixk(_mixk(_mixk(np.uint64(0), lo), hi), pr)
    fwd[i] = f
    return True
