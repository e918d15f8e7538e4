"""TCP/IP SYN fingerprints: traits, OS-family guess and MSS/MTU tunnel hints.

The rules are our own, written from well-known stack defaults (initial TTL, option order,
window); no third-party signature data is shipped.

``tcp_fp`` layout (colon-separated)::

    ipver : initial TTL guess : hop count : window : MSS : window scale : options : quirks

options are letters in wire order: ``M`` MSS, ``N`` NOP, ``W`` window scale, ``S`` SACK
permitted, ``T`` timestamps, ``E`` end of list, ``?k`` another kind ``k``; quirks are
``df`` (don't fragment), ``id0``/``id+``/``idr`` (IPv4 ID zero / incrementing / random
towards the next packet), ``ts0`` (timestamp value zero).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

__all__ = ["SynTraits", "guess_os", "initial_ttl", "parse_options", "syn_traits", "tunnel_hint"]

_LETTER = {2: "M", 1: "N", 3: "W", 4: "S", 8: "T", 0: "E"}


@dataclass(frozen=True)
class SynTraits:
    """Traits of an originator's SYN."""

    ipv: int
    ttl: int
    ittl: int
    hops: int
    window: int
    mss: int | None
    wscale: int | None
    options: str
    df: bool
    ipid: str
    ts_zero: bool

    @property
    def fp(self) -> str:
        """The compact ``tcp_fp`` text."""
        quirks = [
            q for q in ("df" if self.df else "", self.ipid, "ts0" if self.ts_zero else "") if q
        ]
        mss = "" if self.mss is None else str(self.mss)
        ws = "" if self.wscale is None else str(self.wscale)
        return (f"{self.ipv}:{self.ittl}:{self.hops}:{self.window}:{mss}:{ws}:"
                f"{self.options}:{','.join(quirks)}")  # fmt: skip


def initial_ttl(ttl: int) -> int:
    """Guess the initial TTL (32, 64, 128 or 255) from an observed one.

    Parameters
    ----------
    ttl
        Observed TTL / hop limit.

    Returns
    -------
    int
        The smallest common initial value not below ``ttl``.
    """
    for it in (32, 64, 128):
        if ttl <= it:
            return it
    return 255


def parse_options(opts: bytes) -> tuple[str, int | None, int | None, bool]:
    """Parse TCP options (cached: a few stacks send most SYNs).

    Parameters
    ----------
    opts
        Option bytes after the fixed 20-byte header (may be cut off by the snap length).

    Returns
    -------
    tuple
        (option letters, MSS, window scale, timestamp value is zero).
    """
    return _parse_options(opts)


@functools.lru_cache(maxsize=8192)
def _parse_options(opts: bytes) -> tuple[str, int | None, int | None, bool]:
    """Parse TCP options.

    Parameters
    ----------
    opts
        Option bytes after the fixed 20-byte header (may be cut off by the snap length).

    Returns
    -------
    tuple
        (option letters, MSS, window scale, timestamp value is zero).
    """
    letters: list[str] = []
    mss = ws = None
    ts0 = False
    p = 0
    while p < len(opts):
        k = opts[p]
        letters.append(_LETTER.get(k, f"?{k}"))
        if k == 0:
            break
        if k == 1:
            p += 1
            continue
        if p + 1 >= len(opts) or opts[p + 1] < 2 or p + opts[p + 1] > len(opts):
            letters.append("!")  # cut off or malformed
            break
        ln = opts[p + 1]
        if k == 2 and ln == 4:
            mss = int.from_bytes(opts[p + 2 : p + 4], "big")
        elif k == 3 and ln == 3:
            ws = opts[p + 2]
        elif k == 8 and ln == 10:
            ts0 = opts[p + 2 : p + 6] == b"\0\0\0\0"
        p += ln
    return ",".join(letters), mss, ws, ts0


def syn_traits(ipv: int, ttl: int, df: int, ipid: int, window: int, opts: bytes,
               next_ipid: int = -1) -> SynTraits:  # fmt: skip
    """Build the traits of a SYN.

    Parameters
    ----------
    ipv, ttl, df, ipid, window
        IP version, TTL, DF bit, IPv4 identification and TCP window of the SYN.
    opts
        TCP option bytes.
    next_ipid
        IPv4 identification of the originator's next packet (-1 when unknown).

    Returns
    -------
    SynTraits
        The traits.
    """
    letters, mss, ws, ts0 = parse_options(opts)
    it = initial_ttl(ttl)
    if ipv != 4:
        idb = ""
    elif ipid == 0:
        idb = "id0"
    elif next_ipid >= 0 and 0 < (next_ipid - ipid) % 65536 <= 1024:
        idb = "id+"
    elif next_ipid >= 0:
        idb = "idr"
    else:
        idb = ""
    return SynTraits(ipv=ipv, ttl=ttl, ittl=it, hops=it - ttl, window=window, mss=mss,
                     wscale=ws, options=letters, df=bool(df), ipid=idb, ts_zero=ts0)  # fmt: skip


def guess_os(t: SynTraits) -> str | None:
    """Guess the OS family that built a SYN (our own rules on stack defaults).

    Parameters
    ----------
    t
        SYN traits.

    Returns
    -------
    str or None
        ``windows``, ``linux``, ``macos``, ``freebsd``, ``network-device``, ``scanner`` or
        None when nothing fits.
    """
    o = t.options
    if t.ittl == 128 and o.startswith("M,N,W,N,N,S") and "T" not in o:
        return "windows"
    if t.ittl == 128 and o.startswith("M,N,W") and "S" in o:
        return "windows"
    if t.ittl == 64 and o.startswith("M,S,T,N,W"):
        return "linux"
    if t.ittl == 64 and o == "M,S,N,W" or (t.ittl == 64 and o == "M,N,N,S,N,W"):
        return "linux"
    if t.ittl == 64 and o.startswith("M,N,W,N,N,T,S,E"):
        return "macos"
    if t.ittl == 64 and o.startswith("M,N,W,S,T"):
        return "freebsd"
    if t.ittl == 255 and o in ("M", "M,N,W,N,N,S", "M,N,N,S", ""):
        return "network-device"
    if o in ("", "M") and t.window in (1024, 2048, 3072, 4096, 65535):
        return "scanner"
    return None


def tunnel_hint(mss: int | None, ipv: int) -> str | None:
    """Turn an MSS into a link/tunnel hint via the implied path MTU.

    Parameters
    ----------
    mss
        Announced MSS.
    ipv
        IP version (IPv6 headers take 20 bytes more).

    Returns
    -------
    str or None
        ``pppoe`` (MTU 1492), ``gre`` (1476), ``ipip`` (1480), ``vxlan`` (1450),
        ``wireguard`` (1420/1440), ``ipsec`` (1400-1438), ``vpn`` (1280-1399),
        ``tunnel`` (below 1280) with the MTU, or None for 1500 / jumbo / unknown.
    """
    if mss is None or mss == 0:
        return None
    mtu = mss + (40 if ipv == 4 else 60)
    if mtu >= 1500:
        return None
    if mtu == 1492:
        kind = "pppoe"
    elif mtu == 1480:
        kind = "ipip"
    elif mtu == 1476:
        kind = "gre"
    elif mtu == 1450:
        kind = "vxlan"
    elif mtu in (1420, 1440):
        kind = "wireguard"
    elif 1400 <= mtu < 1500:
        kind = "ipsec" if mtu < 1440 else "vpn"
    elif 1280 <= mtu < 1400:
        kind = "vpn"
    else:
        kind = "tunnel"
    return f"{kind}:mtu{mtu}"
