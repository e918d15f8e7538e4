"""Connection tracking with Zeek's semantics (``conn_state``, ``history``, sizes).

The TCP endpoint state machine follows Zeek's ``TCPSessionAdapter`` (endpoint states INACTIVE,
SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET; payload sizes from sequence numbers;
history letters once per direction except the repeatable S/H/F/R on new sequence numbers and the
logarithmically scaled T and W). Header fields come pre-decoded as arrays
(:mod:`attrib.io.pcap._decode`); this module runs the per-packet state updates over plain Python
lists, the only step that is inherently sequential.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np

from attrib.io.pcap._container import PacketBatch
from attrib.io.pcap._decode import Decoded
from attrib.io.pcap._udpflip import app_flip, udp_flip

__all__ = ["Conn", "Tracker", "conn_state", "flip_roles", "reassemble"]

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
#: Zeek's inactivity timeouts (seconds) by IP protocol; others use the udp value
TIMEOUT_S = {6: 300.0, 17: 60.0, 1: 60.0, 58: 60.0}
#: Zeek's tcp_attempt_delay: an unanswered SYN's connection is removed after this long
ATTEMPT_DELAY_S = 5.0
#: Zeek's dns_session_timeout replaces the inactivity timeout of DNS over UDP
DNS_TIMEOUT_S = 10.0
#: after both sides closed (or one reset) a connection is removed this long after its last packet
CLOSE_DELAY_S = 5.0
_BIG = 1048576
_M32 = 0xFFFFFFFF
#: ports Zeek treats as likely servers when a connection starts without a SYN
LIKELY_SERVER_PORTS = frozenset({
    20, 21, 22, 23, 25, 53, 67, 69, 80, 88, 102, 110, 111, 123, 135, 137, 138, 139, 143, 161,
    162, 179, 389, 443, 445, 465, 500, 502, 514, 520, 585, 587, 636, 989, 990, 992, 993,
    995, 1080, 1194, 1723, 1812, 1813, 2049, 2152, 2123, 3128, 3306, 3389, 3478, 4500, 4789,
    5060, 5061, 5222, 5353, 5355, 5432, 6081, 6379, 6666, 6667, 6668, 6669, 8080, 8443, 8888,
    3544, 1900, 27017, 3260, 853,
})  # fmt: skip


class Conn:
    """One connection's running state."""

    __slots__ = (
        "proto", "ipv", "orig", "resp", "ts0", "last", "last_pkt", "pkts", "ipb", "size",
        "st", "prev", "start", "lseq", "aseq", "fin", "hseen", "hist", "hl_syn", "hl_fin",
        "hl_rst", "rx", "rx_th", "zw", "zw_th", "did_close", "fwd_is_orig", "syn", "synack_ts",
        "syn_ts", "ack_ts", "opay", "opay_n", "rdata_ts", "app_ts", "ipid2", "udp_seen", "timeout",
        "alone", "nflip",
    )  # fmt: skip

    def __init__(self, proto: int, ipv: int, orig: tuple[str, int], resp: tuple[str, int],
                 ts: int, fwd_is_orig: bool) -> None:  # fmt: skip
        self.proto = proto
        self.ipv = ipv
        self.orig = orig
        self.resp = resp
        self.ts0 = ts
        self.last = ts
        self.last_pkt = ts
        self.pkts = [0, 0]
        self.ipb = [0, 0]
        self.size = [0, 0]  # udp/icmp payload bytes
        self.st = [INACTIVE, INACTIVE]
        self.prev = [INACTIVE, INACTIVE]
        self.start = [0, 0]
        self.lseq = [0, 0]
        self.aseq = [0, 0]
        self.fin = [0, 0]
        self.hseen: set[str] = set()
        self.hist: list[str] = []
        self.hl_syn = [-1, -1]
        self.hl_fin = [-1, -1]
        self.hl_rst = [-1, -1]
        self.rx = [0, 0]
        self.rx_th = [1, 1]
        self.zw = [0, 0]
        self.zw_th = [1, 1]
        self.did_close = [False, False]
        self.fwd_is_orig = fwd_is_orig
        self.syn: tuple[int, int, int, int, int, bytes] | None = None
        self.syn_ts = -1
        self.synack_ts = -1
        self.ack_ts = -1
        self.opay: list[tuple[int, bytes]] = []
        self.opay_n = 0
        self.rdata_ts = -1
        self.app_ts = -1
        self.ipid2 = -1
        self.udp_seen = [False, False]
        self.alone = False  # closed by one side while the other had sent nothing
        self.nflip = False  # an application analyser (NTP, DNS) already decided the roles
        self.timeout = TIMEOUT_S.get(proto, 60.0)
        if proto == 17 and 53 in (orig[1], resp[1]):
            self.timeout = DNS_TIMEOUT_S

    def once(self, code: str, e: int) -> bool:
        """Add a history letter the first time it occurs; True if it was seen before."""
        c = code if e == 0 else code.lower()
        if c in self.hseen:
            return True
        self.hseen.add(c)
        self.hist.append(c)
        return False

    def tcp_size(self, e: int) -> int:
        """Zeek's ``TCP_Endpoint::Size``: payload bytes from sequence numbers."""
        p = 1 - e
        if self.prev[e] == SYN_SENT and self.st[e] == RESET and self.st[p] == INACTIVE:
            return 0
        top = max(self.lseq[e], self.aseq[e])
        size = top - self.start[e]
        if size != 0:
            size -= 1
        if self.fin[e] > 0 and size != 0:
            size -= 1
        return max(size, 0)

    def done(self) -> bool:
        """Whether later packets (after the close delay) belong to a new connection.

        True when closed on both sides, reset, or closed by one side while the other had
        sent nothing (Zeek's ``close_complete``).
        """
        return (self.did_close[0] and self.did_close[1]) or RESET in self.st or self.alone


_PAIRS = ("pkts", "ipb", "size", "st", "prev", "start", "lseq", "aseq", "fin", "hl_syn",
          "hl_fin", "hl_rst", "rx", "rx_th", "zw", "zw_th", "did_close", "udp_seen")  # fmt: skip


def flip_roles(c: Conn) -> None:
    """Zeek's ``Connection::FlipRoles``: swap originator and responder, append ``^``.

    The endpoints' counters and states change sides; the letters already in the history and
    the record of which were seen (Zeek's ``hist_seen``) stay as they are.
    """
    c.orig, c.resp = c.resp, c.orig
    c.fwd_is_orig = not c.fwd_is_orig
    for name in _PAIRS:
        v = getattr(c, name)
        v[0], v[1] = v[1], v[0]
    c.hist.append("^")


def _set(c: Conn, e: int, s: int) -> None:
    c.prev[e] = c.st[e]
    c.st[e] = s


def _scaled(c: Conn, code: str, e: int, cnt: list[int], th: list[int]) -> None:
    cnt[e] += 1
    if cnt[e] == th[e]:
        c.hist.append(code if e == 0 else code.lower())
        th[e] *= 10


def _unwrap(x: int, ref: int) -> int:
    return ref + (((x - ref) + 0x80000000) & _M32) - 0x80000000


def tcp_packet(c: Conn, e: int, ts: int, fl: int, seq: int, ack: int, plen: int, win: int) -> None:
    """Apply one TCP segment from endpoint ``e`` (0 originator, 1 responder) to ``c``."""
    syn, fin, rst, ack_f = fl & 2, fl & 1, fl & 4, fl & 16
    p = 1 - e
    st = c.st
    seg = plen + (1 if syn else 0) + (1 if fin else 0) - (plen if rst else 0)
    s = st[e]
    if s == INACTIVE:
        if syn:
            c.start[e] = c.aseq[e] = seq
            c.lseq[e] = seq + seg
        else:
            c.start[e] = c.aseq[e] = seq - 1
            c.lseq[e] = seq
    elif syn and (
        (s in (SYN_SENT, SYN_ACK_SENT) and seq != (c.start[e] & _M32))
        or s in (ESTABLISHED, PARTIAL)
        or (s == RESET and c.prev[e] == INACTIVE)
    ):
        c.start[e] = c.aseq[e] = _unwrap(seq, c.lseq[e])
        c.lseq[e] = c.start[e] + seg
    cur = _unwrap(seq, c.lseq[e])
    rel = cur - c.start[e]
    # history (Zeek's update_history)
    bits = (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0)
    if bits > 1:
        c.once("I" if fin and rst else "Q", e)
    elif bits == 1:
        if syn:
            code = "H" if ack_f else "S"
            if c.once("S" if not ack_f else "H", e) and rel != c.hl_syn[e]:
                c.hist.append(code if e == 0 else code.lower())
            c.hl_syn[e] = rel
        elif fin:
            if c.once("F", e) and rel + plen != c.hl_fin[e]:
                c.hist.append("F" if e == 0 else "f")
            c.hl_fin[e] = rel + plen
        else:
            if c.once("R", e) and rel != c.hl_rst[e]:
                c.hist.append("R" if e == 0 else "r")
            c.hl_rst[e] = rel
    elif plen:
        c.once("D", e)
    elif ack_f:
        c.once("A", e)
    if win == 0 and not rst and st[p] != CLOSED and st[e] != RESET:
        _scaled(c, "W", e, c.zw, c.zw_th)
    if not (c.did_close[0] and c.did_close[1]):
        c.last = ts
    if fin:
        c.fin[e] += 1
    if ack_f:
        if st[p] == INACTIVE:
            c.start[p] = c.aseq[p] = c.lseq[p] = ack - 1
        else:
            a = _unwrap(ack, c.aseq[p])
            if a - c.start[p] >= 0 and not rst:
                d = a - c.aseq[p]
                if d > 0 and not (ack == 0 and d > _BIG):
                    c.aseq[p] = a
    one_past = cur + seg
    dl = one_past - c.lseq[e]
    if (syn or rst) and (dl > _BIG or dl < -_BIG):
        pass
    elif fin and c.lseq[e] == c.start[e] + 1:
        c.lseq[e] = one_past
    elif st[e] == RESET:
        pass
    elif dl > 0:
        c.lseq[e] = one_past
    elif plen > 0:
        _scaled(c, "T", e, c.rx, c.rx_th)
    _state_machine(c, e, p, syn, fin, rst, ack_f, seq, plen)


def _state_machine(c: Conn, e: int, p: int, syn: int, fin: int, rst: int, ack_f: int,
                   seq: int, plen: int) -> None:  # fmt: skip
    orig = c.orig
    closed_before = c.did_close[e]
    _transition(c, e, p, syn, fin, rst, ack_f, seq, plen)
    if c.orig != orig:  # the SYN/SYN-ACK reversal swapped the endpoints
        e, p = p, e
    # Zeek's TCPSessionAdapter::ConnectionClosed: a close while the peer has sent nothing
    # completes the connection (close_complete); it is removed after tcp_close_delay
    if (fin or rst) and not closed_before and c.did_close[e] and c.st[p] == INACTIVE:
        c.alone = True


def _transition(c: Conn, e: int, p: int, syn: int, fin: int, rst: int, ack_f: int,
                seq: int, plen: int) -> None:  # fmt: skip
    st = c.st
    s = st[e]
    if s == INACTIVE:
        if syn:
            if e == 0:
                _set(c, e, SYN_ACK_SENT if ack_f else SYN_SENT)
            else:
                if not ack_f and st[p] == SYN_ACK_SENT:
                    # Zeek's SYN/SYN-ACK reversal (UpdateInactiveState): the SYN-ACK was seen
                    # first; FlipRoles swaps the endpoints, then the peer is established
                    flip_roles(c)
                    e, p = p, e
                    _set(c, p, ESTABLISHED)
                if st[p] == SYN_SENT:
                    _set(c, p, ESTABLISHED)
                _set(c, e, ESTABLISHED)
        if fin:
            _set(c, e, CLOSED)
            c.did_close[e] = True
        if rst:
            _set(c, e, RESET)
            c.did_close[e] = True
        if st[e] == INACTIVE:
            if e == 1 and plen == 0 and st[0] == SYN_SENT:
                pass
            elif ack_f and st[p] == ESTABLISHED:
                _set(c, e, ESTABLISHED)
            else:
                _set(c, e, PARTIAL)
    elif s in (SYN_SENT, SYN_ACK_SENT):
        if fin:
            _set(c, e, CLOSED)
            c.did_close[e] = True
        if rst:
            _set(c, e, RESET)
            c.did_close[e] = True
    elif s in (ESTABLISHED, PARTIAL):
        if syn and s == PARTIAL and st[p] == INACTIVE and not ack_f:
            _set(c, e, SYN_SENT)
        if fin and not rst:
            _set(c, e, CLOSED)
            c.did_close[e] = True
            if st[p] == RESET and c.prev[p] == CLOSED:
                _set(c, p, CLOSED)
        if rst:
            _set(c, e, RESET)
            c.did_close[e] = True
    elif s == CLOSED:
        if rst and st[p] != CLOSED:
            _set(c, e, RESET)


_HIST_RSTOS0 = frozenset("HAFGIQ")


def conn_state(c: Conn) -> str:
    """Zeek's ``conn_state`` for a finished connection.

    Parameters
    ----------
    c
        The connection.

    Returns
    -------
    str
        One of S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH.
    """
    if c.proto == 17:
        o, r = c.udp_seen
        if o:
            return "SF" if r else "S0"
        return "SHR" if r else "OTH"
    if c.proto != 6:
        return "OTH"
    os_, rs = c.st
    o_in = os_ in (INACTIVE, PARTIAL)
    r_in = rs in (INACTIVE, PARTIAL)
    if rs == RESET:
        if os_ in (SYN_SENT, SYN_ACK_SENT) or (
            os_ == RESET and c.tcp_size(0) == 0 and c.tcp_size(1) == 0
        ):
            return "REJ"
        return "RSTRH" if o_in else "RSTR"
    if os_ == RESET:
        if r_in:
            h = "".join(c.hist).lstrip("^")
            if h.startswith("S"):
                tail = h[1:]
                k = tail.find("R")
                if k >= 0 and not (_HIST_RSTOS0 & set(tail[:k])):
                    return "RSTOS0"
            return "OTH"
        return "RSTO"
    if rs == CLOSED and os_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_in else "S2"
    if rs == CLOSED:
        return "SHR" if o_in else "S3"
    if os_ == SYN_SENT and rs == INACTIVE:
        return "S0"
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return "S1"
    return "OTH"


def _attempt_over(c: Conn, now: int) -> bool:
    """Zeek's attempt timer: an unanswered SYN is given up ``tcp_attempt_delay`` after it."""
    return (
        c.st[1] == INACTIVE
        and c.st[0] in (SYN_SENT, SYN_ACK_SENT)
        and (now - (c.syn_ts if c.syn_ts >= 0 else c.ts0)) / 1e9 > ATTEMPT_DELAY_S
    )


def _frag_id(buf: bytes, l3: int) -> bytes:
    """IPv4 fragment identity: identification, protocol and addresses."""
    return bytes(buf[l3 + 4 : l3 + 6] + buf[l3 + 9 : l3 + 10] + buf[l3 + 12 : l3 + 20])


def _addr(buf: bytes, l3: int, ipv: int, src: bool) -> str:
    if ipv == 4:
        o = l3 + (12 if src else 16)
        return socket.inet_ntop(socket.AF_INET, buf[o : o + 4])
    o = l3 + (8 if src else 24)
    return socket.inet_ntop(socket.AF_INET6, buf[o : o + 16])


class Tracker:
    """Feed decoded batches; collect finished connections.

    Parameters
    ----------
    on_finish
        Called with each finished :class:`Conn`.
    """

    def __init__(self, on_finish: Callable[[Conn], None]) -> None:
        self.live: dict[int, Conn] = {}
        self.on_finish = on_finish
        self.now = 0
        self.frags: dict[bytes, Conn] = {}

    def _new(self, b: bytes, i: int, d: Decoded, ts: int, fl: int) -> Conn:
        ipv, l3 = int(d.ipv[i]), int(d.l3[i])
        src = (_addr(b, l3, ipv, True), int(d.sport[i]))
        dst = (_addr(b, l3, ipv, False), int(d.dport[i]))
        proto = int(d.proto[i])
        flip = False
        if proto == 6:  # Zeek's TCPAnalyzer::WantConnection: started without a SYN, or by a SYN-ACK
            if not (fl & 2) or fl & 16:
                if src[1] in LIKELY_SERVER_PORTS:
                    if dst[1] in LIKELY_SERVER_PORTS:
                        flip = not (fl & 2) and src[1] < dst[1]
                    else:
                        flip = True
        elif proto == 17:
            flip = src[1] in LIKELY_SERVER_PORTS and dst[1] not in LIKELY_SERVER_PORTS
        fwd = bool(d.fwd[i])
        if flip:
            c = Conn(proto, ipv, dst, src, ts, not fwd)
            c.hist.append("^")
        else:
            c = Conn(proto, ipv, src, dst, ts, fwd)
        return c

    def feed(self, batch: PacketBatch, d: Decoded) -> None:
        """Process one batch of packets in order.

        Parameters
        ----------
        batch
            The raw packets.
        d
            Their decoded headers.
        """
        idx = np.flatnonzero(d.ok)
        if not len(idx):
            return
        buf = batch.buf
        keys = d.key[idx]
        uk, inv = np.unique(keys, return_inverse=True)
        live = self.live
        ukl = uk.tolist()
        cols = zip(
            idx.tolist(), inv.tolist(), d.ts[idx].tolist(), d.proto[idx].tolist(),
            d.fwd[idx].tolist(), d.flags[idx].tolist(), d.seq[idx].tolist(), d.ack[idx].tolist(),
            d.plen[idx].tolist(), d.win[idx].tolist(), d.ip_len[idx].tolist(),
            d.frag[idx].tolist(), strict=True,
        )  # fmt: skip
        for i, k, ts, proto, fwd, fl, seq, ack, plen, win, iplen, frag in cols:
            key = ukl[k]
            c = live.get(key)
            if frag == 2:
                self._later_fragment(buf, i, d, iplen)
                continue
            if c is not None and self._expired(c, ts, proto, fl, seq, fwd):
                self._finish(key, c)
                c = None
            if c is None:
                c = self._new(buf, i, d, ts, fl)
                live[key] = c
            e = 0 if fwd == c.fwd_is_orig else 1
            c.pkts[e] += 1
            c.ipb[e] += iplen
            c.last_pkt = ts
            if frag == 1 and c.ipv == 4:
                self.frags[_frag_id(buf, int(d.l3[i]))] = c
            if proto == 6:
                self._tcp_extras(c, e, ts, fl, plen, buf, i, d)
                tcp_packet(c, e, ts, fl, seq, ack, plen, win)
            else:
                c.last = ts
                c.size[e] += max(plen, 0)
                if proto == 17:
                    c.udp_seen[e] = True
                    c.once("D", e)
                    if not c.nflip and app_flip(c, e, buf, int(d.pay[i]), int(d.end[i]), plen):
                        udp_flip(c, e, iplen)
        self.now = int(d.ts[idx[-1]])

    def _later_fragment(self, buf: bytes, i: int, d: Decoded, iplen: int) -> None:
        """Credit a non-first IPv4 fragment's bytes to the first fragment's connection."""
        if int(d.ipv[i]) != 4:
            return
        l3 = int(d.l3[i])
        c = self.frags.get(_frag_id(buf, l3))
        if c is not None:
            src = _addr(buf, l3, 4, True)
            e = 0 if src == c.orig[0] else 1
            c.ipb[e] += iplen - (buf[l3] & 15) * 4

    def _tcp_extras(self, c: Conn, e: int, ts: int, fl: int, plen: int, buf: bytes, i: int,
                    d: Decoded) -> None:  # fmt: skip
        """Fingerprint, latency and application-payload capture (cheap after the handshake)."""
        if fl & 2:
            if e == 0 and not fl & 16 and c.syn is None:
                l4, thl = int(d.l4[i]), int(d.thl[i])
                opts = bytes(buf[l4 + 20 : min(l4 + thl, int(d.end[i]))])
                c.syn = (int(d.ipv[i]), int(d.ttl[i]), int(d.df[i]), int(d.ipid[i]),
                         int(d.win[i]), opts)  # fmt: skip
                c.syn_ts = ts
            elif e == 1 and fl & 16 and c.synack_ts < 0:
                c.synack_ts = ts
            return
        if e == 0:
            if c.ipid2 < 0 and c.ipv == 4:
                c.ipid2 = int(d.ipid[i])
            if c.ack_ts < 0 and c.synack_ts >= 0 and fl & 16:
                c.ack_ts = ts
            if plen > 0:
                if c.rdata_ts >= 0 and c.app_ts < 0:
                    c.app_ts = ts
                if c.opay_n < 4:
                    c.opay_n += 1
                    o = int(d.pay[i])
                    c.opay.append((int(d.seq[i]), bytes(buf[o : min(o + plen, int(d.end[i]))])))
        elif plen > 0 and c.rdata_ts < 0:
            c.rdata_ts = ts

    def _expired(self, c: Conn, ts: int, proto: int, fl: int, seq: int, fwd: bool) -> bool:
        idle = (ts - c.last_pkt) / 1e9
        if idle > c.timeout:
            return True
        if proto != 6:
            return False
        if c.done() and idle > CLOSE_DELAY_S:
            return True
        if _attempt_over(c, ts):
            return True
        # Zeek's IsReuse: a fresh SYN on a closed/reset connection with a new sequence number
        if fl & 2 and not fl & 16:
            e = 0 if fwd == c.fwd_is_orig else 1
            if (c.st[0] in (CLOSED, RESET) or c.st[1] in (CLOSED, RESET)) and seq != (
                c.start[e] & _M32
            ):
                return True
        return False

    def _finish(self, key: int, c: Conn) -> None:
        del self.live[key]
        self.on_finish(c)

    def expire(self) -> None:
        """Finish connections idle past their timeout, or closed and past the close delay."""
        now = self.now
        old = [
            (k, c) for k, c in self.live.items()
            if (now - c.last_pkt) / 1e9 > c.timeout
            or (c.proto == 6 and (_attempt_over(c, now)
                                  or (c.done() and (now - c.last_pkt) / 1e9 > CLOSE_DELAY_S)))
        ]  # fmt: skip
        for k, c in sorted(old, key=lambda kc: kc[1].ts0):
            self._finish(k, c)
        if len(self.frags) > 10000:
            self.frags.clear()

    def flush(self) -> None:
        """Finish every live connection (end of capture)."""
        for k, c in sorted(self.live.items(), key=lambda kc: kc[1].ts0):
            self._finish(k, c)


def reassemble(c: Conn) -> bytes:
    """Reassemble the originator's first captured segments in sequence order."""
    if not c.opay:
        return b""
    segs = sorted(c.opay, key=lambda s: (s[0] - c.opay[0][0]) & 0xFFFFFFFF)
    base = segs[0][0]
    out = bytearray()
    for seq, data in segs:
        rel = (seq - base) & 0xFFFFFFFF
        if rel > len(out):
            break
        out += data[len(out) - rel :]
    return bytes(out)
