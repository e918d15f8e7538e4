# numba kernels: numpy scalars (np.int64, np.uint64) stand for ints throughout
# mypy: disable-error-code="assignment, return-value, arg-type"
"""Compiled (numba) connection tracking: the same Zeek state machine as :mod:`._conn`.

All per-connection numeric state lives in one int64 matrix (one row per connection, columns
below), history letters in a uint8 matrix; one compiled loop applies every packet of a batch.
:mod:`attrib.io.pcap._conn` is the readable reference implementation of the same rules; tests
assert both give identical connections. Used when numba (part of the ``pcap`` extra) imports.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "COLS",
    "HMAX",
    "OMAX",
    "PMAX",
    "compact_arena",
    "extras",
    "hello_records",
    "finalize_all",
    "lookup",
    "format_ipv4",
    "new_table",
    "rebuild_index",
    "track",
]

_NAMES = (
    "PROTO IPV FWD TS0 LAST LASTPKT PK0 PK1 IB0 IB1 SZ0 SZ1 ST0 ST1 PV0 PV1 START0 START1 "
    "LSEQ0 LSEQ1 ASEQ0 ASEQ1 FIN0 FIN1 HSEEN HLEN HLS0 HLS1 HLF0 HLF1 HLR0 HLR1 RX0 RX1 RXT0 "
    "RXT1 ZW0 ZW1 ZWT0 ZWT1 DC0 DC1 SYNTS SYNACKTS ACKTS RDATATS APPTS IPID2 US0 US1 TIMEOUT "
    "FINISHED FIRSTPKT FLIP SYNPKT SYN_TTL SYN_DF SYN_IPID SYN_WIN OPN PN OPORT RPORT CSTATE "
    "ATTEMPT0 SYNOLEN ALONE NFLIP"
).split()
#: column name -> index in the state matrix
COLS = {n: i for i, n in enumerate(_NAMES)}
NCOLS = len(_NAMES)
HMAX = 40
PMAX = 4
#: TCP option bytes kept from the SYN (the most a TCP header can carry)
OMAX = 40
(PROTO, IPV, FWD, TS0, LAST, LASTPKT, PK0, PK1, IB0, IB1, SZ0, SZ1, ST0, ST1, PV0, PV1, START0,
 START1, LSEQ0, LSEQ1, ASEQ0, ASEQ1, FIN0, FIN1, HSEEN, HLEN, HLS0, HLS1, HLF0, HLF1, HLR0, HLR1,
 RX0, RX1, RXT0, RXT1, ZW0, ZW1, ZWT0, ZWT1, DC0, DC1, SYNTS, SYNACKTS, ACKTS, RDATATS, APPTS,
 IPID2, US0, US1, TIMEOUT, FINISHED, FIRSTPKT, FLIP, SYNPKT, SYN_TTL, SYN_DF, SYN_IPID, SYN_WIN,
 OPN, PN, OPORT, RPORT, CSTATE, ATTEMPT0, SYNOLEN, ALONE, NFLIP) = range(NCOLS)  # fmt: skip

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
_M32 = 0xFFFFFFFF
_BIG = 1048576
_S = 1_000_000_000


def new_table(cap: int) -> tuple[np.ndarray, ...]:
    """Allocate (state, history, payload segments, SYN options, addresses, keys) for ``cap`` rows.

    Payload segments are ``(arena offset, length, sequence number)`` of the originator's first
    :data:`PMAX` payload packets; addresses are the originator's then the responder's (16
    bytes each, IPv4 in the first 4).
    """
    return (
        np.zeros((cap, NCOLS), dtype=np.int64),
        np.zeros((cap, HMAX), dtype=np.uint8),
        np.zeros((cap, PMAX, 3), dtype=np.int64),
        np.zeros((cap, OMAX), dtype=np.uint8),
        np.zeros((cap, 32), dtype=np.uint8),
        np.zeros(cap, dtype=np.uint64),
    )


@njit(cache=True, inline="always")
def _add(S: np.ndarray, H: np.ndarray, c: int, ch: int) -> None:
    n = S[c, HLEN]
    if n < HMAX:
        H[c, n] = ch
        S[c, HLEN] = n + 1


@njit(cache=True, inline="always")
def _once(S: np.ndarray, H: np.ndarray, c: int, code: int, e: int) -> bool:
    """Add a letter the first time; True if it was seen before (Zeek's CheckHistory)."""
    bit = np.int64(1) << ((code - 65) + 26 * e)
    if S[c, HSEEN] & bit:
        return True
    S[c, HSEEN] |= bit
    _add(S, H, c, code + 32 * e)
    return False


@njit(cache=True, inline="always")
def _set(S: np.ndarray, c: int, e: int, s: int) -> None:
    S[c, PV0 + e] = S[c, ST0 + e]
    S[c, ST0 + e] = s


@njit(cache=True, inline="always")
def _unwrap(x: int, ref: int) -> int:
    return ref + (((x - ref) + 0x80000000) & _M32) - 0x80000000


@njit(cache=True, inline="always")
def _scaled(S: np.ndarray, H: np.ndarray, c: int, code: int, e: int, cnt: int, th: int) -> None:
    S[c, cnt + e] += 1
    if S[c, cnt + e] == S[c, th + e]:
        _add(S, H, c, code + 32 * e)
        S[c, th + e] *= 10


@njit(cache=True)
def _tcp(S: np.ndarray, H: np.ndarray, c: int, e: int, ts: int, fl: int, seq: int, ack: int,
         plen: int, win: int) -> None:  # fmt: skip
    syn = (fl & 2) != 0
    fin = (fl & 1) != 0
    rst = (fl & 4) != 0
    ackf = (fl & 16) != 0
    p = 1 - e
    seg = plen + (1 if syn else 0) + (1 if fin else 0) - (plen if rst else 0)
    s = S[c, ST0 + e]
    if s == INACTIVE:
        if syn:
            S[c, START0 + e] = seq
            S[c, ASEQ0 + e] = seq
            S[c, LSEQ0 + e] = seq + seg
        else:
            S[c, START0 + e] = seq - 1
            S[c, ASEQ0 + e] = seq - 1
            S[c, LSEQ0 + e] = seq
    elif syn and (
        ((s == SYN_SENT or s == SYN_ACK_SENT) and seq != (S[c, START0 + e] & _M32))
        or s == ESTABLISHED
        or s == PARTIAL
        or (s == RESET and S[c, PV0 + e] == INACTIVE)
    ):
        st = _unwrap(seq, S[c, LSEQ0 + e])
        S[c, START0 + e] = st
        S[c, ASEQ0 + e] = st
        S[c, LSEQ0 + e] = st + seg
    cur = _unwrap(seq, S[c, LSEQ0 + e])
    rel = cur - S[c, START0 + e]
    bits = (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0)
    if bits > 1:
        _once(S, H, c, 73 if (fin and rst) else 81, e)  # I / Q
    elif bits == 1:
        if syn:
            code = 72 if ackf else 83  # H / S
            if _once(S, H, c, code, e) and rel != S[c, HLS0 + e]:
                _add(S, H, c, code + 32 * e)
            S[c, HLS0 + e] = rel
        elif fin:
            if _once(S, H, c, 70, e) and rel + plen != S[c, HLF0 + e]:
                _add(S, H, c, 70 + 32 * e)
            S[c, HLF0 + e] = rel + plen
        else:
            if _once(S, H, c, 82, e) and rel != S[c, HLR0 + e]:
                _add(S, H, c, 82 + 32 * e)
            S[c, HLR0 + e] = rel
    elif plen > 0:
        _once(S, H, c, 68, e)
    elif ackf:
        _once(S, H, c, 65, e)
    if win == 0 and not rst and S[c, ST0 + p] != CLOSED and S[c, ST0 + e] != RESET:
        _scaled(S, H, c, 87, e, ZW0, ZWT0)
    if not (S[c, DC0] and S[c, DC1]):
        S[c, LAST] = ts
    if fin:
        S[c, FIN0 + e] += 1
    if ackf:
        if S[c, ST0 + p] == INACTIVE:
            S[c, START0 + p] = ack - 1
            S[c, ASEQ0 + p] = ack - 1
            S[c, LSEQ0 + p] = ack - 1
        else:
            a = _unwrap(ack, S[c, ASEQ0 + p])
            if a - S[c, START0 + p] >= 0 and not rst:
                d = a - S[c, ASEQ0 + p]
                if d > 0 and not (ack == 0 and d > _BIG):
                    S[c, ASEQ0 + p] = a
    one_past = cur + seg
    dl = one_past - S[c, LSEQ0 + e]
    if (syn or rst) and (dl > _BIG or dl < -_BIG):
        pass
    elif fin and S[c, LSEQ0 + e] == S[c, START0 + e] + 1:
        S[c, LSEQ0 + e] = one_past
    elif S[c, ST0 + e] == RESET:
        pass
    elif dl > 0:
        S[c, LSEQ0 + e] = one_past
    elif plen > 0:
        _scaled(S, H, c, 84, e, RX0, RXT0)
    _machine(S, H, c, e, p, syn, fin, rst, ackf, plen)


#: per-endpoint column pairs (originator's, responder's = +1) that a role flip swaps
_PAIRED = np.array([PK0, IB0, SZ0, ST0, PV0, START0, LSEQ0, ASEQ0, FIN0, HLS0, HLF0, HLR0, RX0,
                    RXT0, ZW0, ZWT0, DC0, US0, OPORT], dtype=np.int64)  # fmt: skip


@njit(cache=True)
def _flip_roles(S: np.ndarray, H: np.ndarray, c: int) -> None:
    """Zeek's ``Connection::FlipRoles`` (as ``_conn.flip_roles``); addresses: ``flip_a``."""
    for k in _PAIRED:
        t = S[c, k]
        S[c, k] = S[c, k + 1]
        S[c, k + 1] = t
    S[c, FWD] = 1 - S[c, FWD]
    S[c, FLIP] += 2  # the caller (track) swaps the addresses and takes the 2 off again
    _add(S, H, c, 94)


@njit(cache=True)
def _machine(S: np.ndarray, H: np.ndarray, c: int, e: int, p: int, syn: bool, fin: bool,
             rst: bool, ackf: bool, plen: int) -> None:  # fmt: skip
    closed_before = S[c, DC0 + e] != 0
    _transition(S, H, c, e, p, syn, fin, rst, ackf, plen)
    if S[c, FLIP] >= 2:  # the SYN/SYN-ACK reversal swapped the endpoints
        e, p = p, e
    # Zeek's ConnectionClosed: a close while the peer has sent nothing completes the
    # connection (close_complete), which is then removed after tcp_close_delay
    if (fin or rst) and not closed_before and S[c, DC0 + e] != 0 and S[c, ST0 + p] == INACTIVE:
        S[c, ALONE] = 1


@njit(cache=True)
def _transition(S: np.ndarray, H: np.ndarray, c: int, e: int, p: int, syn: bool, fin: bool,
                rst: bool, ackf: bool, plen: int) -> None:  # fmt: skip
    s = S[c, ST0 + e]
    if s == INACTIVE:
        if syn:
            if e == 0:
                _set(S, c, e, SYN_ACK_SENT if ackf else SYN_SENT)
                S[c, ATTEMPT0] = S[c, LAST]
            else:
                if not ackf and S[c, ST0 + p] == SYN_ACK_SENT:  # SYN/SYN-ACK reversal
                    _flip_roles(S, H, c)
                    e, p = p, e
                    _set(S, c, p, ESTABLISHED)
                if S[c, ST0 + p] == SYN_SENT:
                    _set(S, c, p, ESTABLISHED)
                _set(S, c, e, ESTABLISHED)
        if fin:
            _set(S, c, e, CLOSED)
            S[c, DC0 + e] = 1
        if rst:
            _set(S, c, e, RESET)
            S[c, DC0 + e] = 1
        if S[c, ST0 + e] == INACTIVE:
            if e == 1 and plen == 0 and S[c, ST0] == SYN_SENT:
                pass
            elif ackf and S[c, ST0 + p] == ESTABLISHED:
                _set(S, c, e, ESTABLISHED)
            else:
                _set(S, c, e, PARTIAL)
    elif s == SYN_SENT or s == SYN_ACK_SENT:
        if fin:
            _set(S, c, e, CLOSED)
            S[c, DC0 + e] = 1
        if rst:
            _set(S, c, e, RESET)
            S[c, DC0 + e] = 1
    elif s == ESTABLISHED or s == PARTIAL:
        if syn and s == PARTIAL and S[c, ST0 + p] == INACTIVE and not ackf:
            _set(S, c, e, SYN_SENT)
        if fin and not rst:
            _set(S, c, e, CLOSED)
            S[c, DC0 + e] = 1
            if S[c, ST0 + p] == RESET and S[c, PV0 + p] == CLOSED:
                _set(S, c, p, CLOSED)
        if rst:
            _set(S, c, e, RESET)
            S[c, DC0 + e] = 1
    elif s == CLOSED:
        if rst and S[c, ST0 + p] != CLOSED:
            _set(S, c, e, RESET)


@njit(cache=True)
def _attempt_over(S: np.ndarray, c: int, now: int) -> bool:
    s0 = S[c, ST0]
    return (
        S[c, PROTO] == 6
        and S[c, ST1] == INACTIVE
        and (s0 == SYN_SENT or s0 == SYN_ACK_SENT)
        and now - (S[c, SYNTS] if S[c, SYNTS] >= 0 else S[c, TS0]) > 5 * _S
    )


@njit(cache=True, inline="always")
def _done(S: np.ndarray, c: int) -> bool:
    """Whether later packets (after the close delay) belong to a new connection.

    Closed on both sides, reset, or closed by one side while the other had sent nothing.
    """
    return (
        (S[c, DC0] != 0 and S[c, DC1] != 0)
        or S[c, ST0] == RESET
        or S[c, ST1] == RESET
        or S[c, ALONE] != 0
    )


@njit(cache=True)
def _expired(S: np.ndarray, c: int, ts: int, proto: int, fl: int, seq: int, e: int) -> bool:
    idle = ts - S[c, LASTPKT]
    if idle > S[c, TIMEOUT]:
        return True
    if proto != 6:
        return False
    if idle > 5 * _S and _done(S, c):
        return True
    if _attempt_over(S, c, ts):
        return True
    if (fl & 2) and not (fl & 16):
        closed = (
            S[c, ST0] == CLOSED or S[c, ST0] == RESET or S[c, ST1] == CLOSED or S[c, ST1] == RESET
        )
        if closed and seq != (S[c, START0 + e] & _M32):
            return True
    return False


@njit(cache=True)
def _size(S: np.ndarray, c: int, e: int) -> int:
    p = 1 - e
    if S[c, PV0 + e] == SYN_SENT and S[c, ST0 + e] == RESET and S[c, ST0 + p] == INACTIVE:
        return 0
    top = max(S[c, LSEQ0 + e], S[c, ASEQ0 + e])
    size = top - S[c, START0 + e]
    if size != 0:
        size -= 1
    if S[c, FIN0 + e] > 0 and size != 0:
        size -= 1
    return max(size, 0)


@njit(cache=True)
def _rstos0(H: np.ndarray, n: int) -> bool:
    i = 0
    if n > 0 and H[0] == 94:  # ^
        i = 1
    if i >= n or H[i] != 83:  # S
        return False
    for j in range(i + 1, n):
        ch = H[j]
        if ch == 82:  # R
            return True
        if ch in (72, 65, 70, 71, 73, 81):  # H A F G I Q
            return False
    return False


@njit(cache=True)
def _state_code(S: np.ndarray, H: np.ndarray, c: int) -> int:
    """Index into schema.CONN_STATES: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH."""
    proto = S[c, PROTO]
    if proto == 17:
        o, r = S[c, US0], S[c, US1]
        if o:
            return 2 if r else 0
        return 11 if r else 12
    if proto != 6:
        return 12
    os_, rs = S[c, ST0], S[c, ST1]
    o_in = os_ == INACTIVE or os_ == PARTIAL
    r_in = rs == INACTIVE or rs == PARTIAL
    if rs == RESET:
        if (
            os_ == SYN_SENT
            or os_ == SYN_ACK_SENT
            or (os_ == RESET and _size(S, c, 0) == 0 and _size(S, c, 1) == 0)
        ):
            return 3
        return 9 if o_in else 7
    if os_ == RESET:
        if r_in:
            return 8 if _rstos0(H[c], S[c, HLEN]) else 12
        return 6
    if rs == CLOSED and os_ == CLOSED:
        return 2
    if os_ == CLOSED:
        return 10 if r_in else 4
    if rs == CLOSED:
        return 11 if o_in else 5
    if os_ == SYN_SENT and rs == INACTIVE:
        return 0
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return 1
    return 12


@njit(cache=True)
def _finish(S: np.ndarray, H: np.ndarray, c: int) -> None:
    S[c, FINISHED] = 1
    if S[c, PROTO] == 6:
        S[c, SZ0] = _size(S, c, 0)
        S[c, SZ1] = _size(S, c, 1)
    S[c, CSTATE] = _state_code(S, H, c)


@njit(cache=True, nogil=True)
def finalize_all(S: np.ndarray, H: np.ndarray, used: int, now: int, everything: bool) -> int:
    """Finish idle connections (or all of them at the end of the capture).

    Returns the number of finished rows waiting to be collected.
    """
    done = 0
    for c in range(used):
        if S[c, FINISHED]:
            done += S[c, FINISHED] == 1
            continue
        if everything or now - S[c, LASTPKT] > S[c, TIMEOUT] or _attempt_over(S, c, now):
            _finish(S, H, c)
        elif S[c, PROTO] == 6 and now - S[c, LASTPKT] > 5 * _S and _done(S, c):
            _finish(S, H, c)  # closed or reset: Zeek removes it after the close delay
        done += S[c, FINISHED] == 1
    return done


@njit(cache=True)
def _new(S: np.ndarray, H: np.ndarray, c: int, j: int, ts: int, proto: int, ipv: int, fwd: bool,
         fl: int, sp: int, dp: int, server: np.ndarray) -> None:  # fmt: skip
    S[c, :] = 0
    H[c, :] = 0
    S[c, PROTO] = proto
    S[c, IPV] = ipv
    S[c, TS0] = ts
    S[c, LAST] = ts
    S[c, LASTPKT] = ts
    for e in range(2):
        S[c, HLS0 + e] = -1
        S[c, HLF0 + e] = -1
        S[c, HLR0 + e] = -1
        S[c, RXT0 + e] = 1
        S[c, ZWT0 + e] = 1
    for k in (SYNTS, SYNACKTS, ACKTS, RDATATS, APPTS, IPID2, SYNPKT):
        S[c, k] = -1
    S[c, FIRSTPKT] = j
    flip = False
    if proto == 6:
        if (not (fl & 2) or (fl & 16)) and server[sp]:  # started without a SYN, or a SYN-ACK
            flip = (not (fl & 2) and sp < dp) if server[dp] else True
    elif proto == 17:
        flip = server[sp] and not server[dp]
    S[c, FLIP] = 1 if flip else 0
    S[c, FWD] = (0 if fwd else 1) if flip else (1 if fwd else 0)
    S[c, OPORT] = dp if flip else sp
    S[c, RPORT] = sp if flip else dp
    if flip:
        _add(S, H, c, 94)
    if proto == 6:
        S[c, TIMEOUT] = 300 * _S
    elif proto == 17 and (sp == 53 or dp == 53):
        S[c, TIMEOUT] = 10 * _S
    else:
        S[c, TIMEOUT] = 60 * _S


@njit(cache=True, inline="always")
def _slot(hk: np.ndarray, hr: np.ndarray, key: np.uint64) -> int:
    """Open-addressing slot of ``key`` (its own, or the empty one where it would go)."""
    mask = np.uint64(len(hk) - 1)
    i = np.int64(key & mask)
    m = len(hk) - 1
    while hr[i] >= 0 and hk[i] != key:
        i = (i + 1) & m
    return i


@njit(cache=True, nogil=True)
def rebuild_index(hk: np.ndarray, hr: np.ndarray, K: np.ndarray, S: np.ndarray, n: int) -> None:
    """Refill the flow-key index (size a power of two > 2n) with the live rows below ``n``."""
    hr[:] = -1
    for c in range(n):
        if S[c, FINISHED]:
            continue
        i = _slot(hk, hr, K[c])
        hk[i] = K[c]
        hr[i] = c


@njit(cache=True)
def lookup(hk: np.ndarray, hr: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Table rows of flow keys (-1 when not live)."""
    out = np.empty(len(keys), dtype=np.int64)
    for k in range(len(keys)):
        out[k] = hr[_slot(hk, hr, keys[k])]
    return out


@njit(cache=True, nogil=True)
def track(S: np.ndarray, H: np.ndarray, Q: np.ndarray, OPT: np.ndarray, A: np.ndarray,
          K: np.ndarray, hk: np.ndarray, hr: np.ndarray, meta: np.ndarray, free: np.ndarray,
          arena: np.ndarray, buf: np.ndarray, idx: np.ndarray, key: np.ndarray, fwd: np.ndarray,
          ts: np.ndarray, proto: np.ndarray, ipv: np.ndarray, fl: np.ndarray, seq: np.ndarray,
          ack: np.ndarray, plen: np.ndarray, win: np.ndarray, iplen: np.ndarray, sport: np.ndarray,
          dport: np.ndarray, ttl: np.ndarray, df: np.ndarray, ipid: np.ndarray, l3: np.ndarray,
          l4: np.ndarray, thl: np.ndarray, pay: np.ndarray, end: np.ndarray,
          server: np.ndarray) -> None:  # fmt: skip
    """Apply the packets ``idx`` of a batch (in order) to the connection table.

    Rows are found through the open-addressing index ``hk``/``hr`` (flow key -> row); new
    connections take a freed row (``free[:meta[2]]``) or the next unused one (``meta[0]``);
    originator payload bytes are appended to ``arena`` from ``meta[1]`` (the caller
    guarantees room for all three).
    """
    for k in idx:
        kk = key[k]
        slot = _slot(hk, hr, kk)
        c = hr[slot]
        t = ts[k]
        pr = proto[k]
        fk = fl[k]
        if c >= 0:
            e = 0 if (fwd[k] == (S[c, FWD] == 1)) else 1
            if _expired(S, c, t, pr, fk, seq[k], e):
                _finish(S, H, c)
                c = -1
        if c < 0:
            if meta[2] > 0:  # a freed row
                meta[2] -= 1
                c = free[meta[2]]
            else:
                c = meta[0]
                meta[0] += 1
            hk[slot] = kk
            hr[slot] = c
            K[c] = kk
            _new(S, H, c, k, t, pr, ipv[k], fwd[k], fk, sport[k], dport[k], server)
            _addresses(A, c, buf, l3[k], ipv[k], S[c, FLIP] == 1)
        e = 0 if (fwd[k] == (S[c, FWD] == 1)) else 1
        S[c, PK0 + e] += 1
        S[c, IB0 + e] += iplen[k]
        S[c, LASTPKT] = t
        pl = plen[k]
        if pr == 6:
            _extras(S, Q, OPT, meta, arena, buf, c, e, t, fk, pl, k, ttl[k], df[k], ipid[k],
                    win[k], ipv[k], seq[k], l4[k], thl[k], pay[k], end[k])  # fmt: skip
            _tcp(S, H, c, e, t, fk, seq[k], ack[k], pl, win[k])
            if S[c, FLIP] >= 2:  # the roles flipped: swap the addresses too
                S[c, FLIP] -= 2
                for i in range(16):
                    t8 = A[c, i]
                    A[c, i] = A[c, 16 + i]
                    A[c, 16 + i] = t8
        else:
            S[c, LAST] = t
            if pl > 0:
                S[c, SZ0 + e] += pl
            if pr == 17:
                S[c, US0 + e] = 1
                _once(S, H, c, 68, e)
                if S[c, NFLIP] == 0 and _app_flip(S, A, c, e, buf, pay[k], end[k], pl):
                    _udp_flip(S, H, A, c, e, iplen[k])


@njit(cache=True)
def _app_flip(S: np.ndarray, A: np.ndarray, c: int, e: int, buf: np.ndarray, pay: int,
              end: int, plen: int) -> bool:  # fmt: skip
    """Whether the NTP or DNS analyser Zeek attaches by the responder port flips the roles.

    As ``_conn.app_flip``: NTP (123) on a server-mode message from the originator or a
    client-mode one from the responder, once; DNS (53, 137, 5353, 5355) on the first
    message when it is a response from the originator and the responder is not multicast.
    """
    rp = S[c, RPORT]
    n = min(plen, end - pay)
    if rp == 123:
        if n < 48:
            return False
        mode = buf[pay] & 7
        if (mode == 4 and e == 0) or (mode == 3 and e == 1):
            S[c, NFLIP] = 1
            return True
        return False
    if rp == 53 or rp == 137 or rp == 5353 or rp == 5355:
        if n < 12:
            return False
        S[c, NFLIP] = 1  # the DNS analyser decides on its first message only
        if e != 0 or (buf[pay + 2] & 0x80) == 0:
            return False
        if S[c, IPV] == 4:
            return (A[c, 16] & 0xF0) != 0xE0
        return A[c, 16] != 0xFF
    return False


@njit(cache=True)
def _udp_flip(S: np.ndarray, H: np.ndarray, A: np.ndarray, c: int, e: int, iplen: int) -> None:
    """``Connection::FlipRoles`` from a UDP application analyser (as ``_conn.udp_flip``).

    The addresses, ports and ConnSize's packet and IP byte counters swap, and the current
    packet is then counted on its sender's old side; the UDP payload sizes, endpoint states
    and history letters stay where they were.
    """
    S[c, PK0 + e] -= 1
    S[c, IB0 + e] -= iplen
    for k in (PK0, IB0, OPORT):
        t = S[c, k]
        S[c, k] = S[c, k + 1]
        S[c, k + 1] = t
    S[c, PK0 + e] += 1
    S[c, IB0 + e] += iplen
    S[c, FWD] = 1 - S[c, FWD]
    for i in range(16):
        t8 = A[c, i]
        A[c, i] = A[c, 16 + i]
        A[c, 16 + i] = t8
    _add(S, H, c, 94)


@njit(cache=True)
def _addresses(A: np.ndarray, c: int, buf: np.ndarray, l3: int, ipv: int, flip: bool) -> None:
    A[c, :] = 0
    w, o = (4, l3 + 12) if ipv == 4 else (16, l3 + 8)
    a, b = (16, 0) if flip else (0, 16)
    for i in range(w):
        A[c, a + i] = buf[o + i]
        A[c, b + i] = buf[o + w + i]


@njit(cache=True)
def _extras(S: np.ndarray, Q: np.ndarray, OPT: np.ndarray, meta: np.ndarray, arena: np.ndarray,
            buf: np.ndarray, c: int, e: int, t: int, fk: int, pl: int, j: int, ttl: int, df: int,
            ipid: int, win: int, ipv: int, sq: int, l4: int, thl: int, pay: int,
            end: int) -> None:  # fmt: skip
    if fk & 2:
        if e == 0 and not (fk & 16) and S[c, SYNPKT] < 0 and S[c, SYNTS] < 0:
            S[c, SYNPKT] = j
            S[c, SYN_TTL] = ttl
            S[c, SYN_DF] = df
            S[c, SYN_IPID] = ipid
            S[c, SYN_WIN] = win
            S[c, SYNTS] = t
            a = l4 + 20
            n = min(max(min(l4 + thl, end) - a, 0), OMAX)
            for i in range(n):
                OPT[c, i] = buf[a + i]
            S[c, SYNOLEN] = n
        elif e == 1 and (fk & 16) and S[c, SYNACKTS] < 0:
            S[c, SYNACKTS] = t
        return
    if e == 0:
        if S[c, IPID2] < 0 and ipv == 4:
            S[c, IPID2] = ipid
        if S[c, ACKTS] < 0 and S[c, SYNACKTS] >= 0 and (fk & 16):
            S[c, ACKTS] = t
        if pl > 0:
            if S[c, RDATATS] >= 0 and S[c, APPTS] < 0:
                S[c, APPTS] = t
            k = S[c, OPN]
            if k < PMAX:
                S[c, OPN] = k + 1
                n = max(min(pay + pl, end) - pay, 0)
                at = meta[1]
                arena[at : at + n] = buf[pay : pay + n]
                meta[1] = at + n
                Q[c, k, 0] = at
                Q[c, k, 1] = n
                Q[c, k, 2] = sq
    elif pl > 0 and S[c, RDATATS] < 0:
        S[c, RDATATS] = t


@njit(cache=True, nogil=True)
def compact_arena(S: np.ndarray, Q: np.ndarray, n: int, old: np.ndarray,
                  new: np.ndarray) -> int:  # fmt: skip
    """Copy the payload segments of the live rows below ``n`` to ``new``; return its fill."""
    pos = 0
    for c in range(n):
        if S[c, FINISHED]:
            continue
        for s in range(min(S[c, OPN], PMAX)):
            a, ln = Q[c, s, 0], Q[c, s, 1]
            new[pos : pos + ln] = old[a : a + ln]
            Q[c, s, 0] = pos
            pos += ln
    return pos


_P1 = np.uint64(0x100000001B3)
_P2 = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _mix2(h1: np.uint64, h2: np.uint64, v: int) -> tuple[np.uint64, np.uint64]:
    x = np.uint64(v & 0xFFFFFFFFFFFF)
    h1 = (h1 ^ x) * _P1
    h1 ^= h1 >> np.uint64(31)
    h2 = (h2 ^ x) * _P2
    h2 ^= h2 >> np.uint64(29)
    return h1, h2


@njit(cache=True, inline="always")
def _u16(b: np.ndarray, p: int) -> int:
    return (np.int64(b[p]) << 8) | np.int64(b[p + 1])


@njit(cache=True, inline="always")
def _grease(v: int) -> bool:
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


@njit(cache=True)
def _parse_hello(b: np.ndarray, s: int, n: int, snib: np.ndarray, sni_at: int, ciph: np.ndarray,
                 exts: np.ndarray) -> tuple[bool, np.uint64, np.uint64, int]:  # fmt: skip
    """``_tls._parse`` of the body ``b[s:s+n]``: (parsed, JA4 key, SNI length or -1).

    The key hashes exactly what :func:`attrib.io.tls.ja4` depends on: the top version, the
    sorted non-GREASE ciphers and extensions, the first ALPN value's end characters and the
    signature algorithms. The SNI bytes are written to ``snib[sni_at:]``; ``ciph`` and
    ``exts`` are scratch space of at least ``n // 2`` values (no allocation per hello).
    """
    z = np.uint64(0)
    if n < 38:
        return False, z, z, -1
    e = s + n
    version = _u16(b, s)
    p = s + 34
    p += 1 + np.int64(b[p])
    if p + 2 > e:
        return False, z, z, -1
    nc = _u16(b, p)
    p += 2
    if p + nc > e:
        return False, z, z, -1
    m = 0
    for q in range(p, p + nc - nc % 2, 2):
        v = _u16(b, q)
        if not _grease(v):
            ciph[m] = v
            m += 1
    ciph[:m].sort()
    p += nc
    if p >= e:
        return False, z, z, -1
    p += 1 + np.int64(b[p])
    ne = 0
    sni_len = -1
    alpn = -1  # first ALPN value: -1 none, else (len>0, first, last) packed
    sig_s, sig_n = 0, 0
    top = -1
    if p + 2 <= e:
        elen = _u16(b, p)
        p += 2
        end = p + elen
        if end > e:
            return False, z, z, -1
        while p + 4 <= end:
            et = _u16(b, p)
            ln = _u16(b, p + 2)
            p += 4
            if p + ln > e:
                return False, z, z, -1
            d = p
            p += ln
            if not _grease(et):
                exts[ne] = et
                ne += 1
            if et == 0 and ln >= 5:
                sl = _u16(b, d + 3)
                if b[d + 2] == 0:
                    if sl:
                        k = min(sl, ln - 5)
                        snib[sni_at : sni_at + k] = b[d + 5 : d + 5 + k]
                        sni_len = k
                    else:
                        sni_len = -1
            elif et == 16 and ln >= 2:
                q = d + 2
                while q < d + ln:
                    al = np.int64(b[q])
                    if alpn == -1:
                        k = min(al, d + ln - (q + 1))
                        if k <= 0:
                            alpn = 0
                        else:
                            alpn = (1 << 16) | (np.int64(b[q + 1]) << 8) | np.int64(b[q + k])
                    q += 1 + al
            elif et == 13 and ln >= 2:
                sn = _u16(b, d)
                k = min(sn - sn % 2, ln - 2)
                if k % 2:
                    return False, z, z, -1
                sig_s, sig_n = d + 2, k // 2
            elif et == 43 and ln >= 1:
                sn = np.int64(b[d])
                k = min(sn - sn % 2, ln - 1)
                if k % 2:
                    return False, z, z, -1
                top = -1
                for q in range(d + 1, d + 1 + k, 2):
                    v = _u16(b, q)
                    if not _grease(v) and v > top:
                        top = v
    elif p > e:
        return False, z, z, -1
    h1, h2 = np.uint64(0xCBF29CE484222325), np.uint64(0x84222325CBF29CE4)
    h1, h2 = _mix2(h1, h2, top if top >= 0 else version)
    h1, h2 = _mix2(h1, h2, m)
    for i in range(m):
        h1, h2 = _mix2(h1, h2, ciph[i])
    exts[:ne].sort()
    h1, h2 = _mix2(h1, h2, ne)
    for i in range(ne):
        h1, h2 = _mix2(h1, h2, exts[i])
    h1, h2 = _mix2(h1, h2, alpn + 2)
    h1, h2 = _mix2(h1, h2, sig_n)
    for i in range(sig_n):
        h1, h2 = _mix2(h1, h2, _u16(b, sig_s + 2 * i))
    return True, h1, h2, sni_len


@njit(cache=True)
def _cstr_end(st: np.ndarray, p: int, lim: int) -> int:
    """Offset after the NUL ending the string at ``p`` (before ``lim``), else -1."""
    for q in range(p, lim):
        if st[q] == 0:
            return q + 1
    return -1


@njit(cache=True)
def _socks_end(st: np.ndarray, s: int, n: int) -> int:
    """``_tls.socks_end(stream)`` for the stream ``st[s:s+n]`` (0: no SOCKS handshake)."""
    if n < 9:
        return 0
    lim = s + min(n, 1024)  # _tls.SOCKS_MAX
    if st[s] == 4:
        if st[s + 1] != 1 and st[s + 1] != 2:
            return 0
        end = _cstr_end(st, s + 8, lim)
        if end > 0 and st[s + 4] == 0 and st[s + 5] == 0 and st[s + 6] == 0 and st[s + 7] != 0:
            end = _cstr_end(st, end, lim)
        return end - s if end > 0 else 0
    if st[s] != 5 or st[s + 1] == 0:
        return 0
    ln = lim - s
    p = 2 + np.int64(st[s + 1])
    if p < ln and st[s + p] == 1 and ln > p + 2:
        q = p + 2 + np.int64(st[s + p + 1])
        if q >= ln:
            return 0
        p = q + 1 + np.int64(st[s + q])
    if ln < p + 5 or st[s + p] != 5 or st[s + p + 2] != 0:
        return 0
    cmd = st[s + p + 1]
    if cmd != 1 and cmd != 2 and cmd != 3:
        return 0
    atyp = st[s + p + 3]
    if atyp == 1:
        end = p + 10
    elif atyp == 4:
        end = p + 22
    elif atyp == 3:
        end = p + 7 + np.int64(st[s + p + 4])
    else:
        return 0
    return end if end <= n else 0


@njit(cache=True)
def _first_hello(st: np.ndarray, s: int, n: int, hs: np.ndarray, snib: np.ndarray, sni_at: int,
                 ciph: np.ndarray,
                 exts: np.ndarray) -> tuple[bool, np.uint64, np.uint64, int]:  # fmt: skip
    """``_tls.client_hellos(stream)[0]`` for the stream ``st[s:s+n]``.

    ``hs``, ``ciph`` and ``exts`` are scratch space (see :func:`_parse_hello`).
    """
    z = np.uint64(0)
    hs0, hs1 = 0, 0  # live handshake bytes are hs[hs0:hs1]
    p = s
    e = s + n
    while p + 5 <= e:
        ctype = st[p]
        ln = _u16(st, p + 3)
        if ctype < 20 or ctype > 23 or st[p + 1] != 3:
            break
        if ctype == 22:
            k = max(min(p + 5 + ln, e) - (p + 5), 0)
            hs[hs1 : hs1 + k] = st[p + 5 : p + 5 + k]
            hs1 += k
            while hs1 - hs0 >= 4:
                mlen = (np.int64(hs[hs0 + 1]) << 16) | (np.int64(hs[hs0 + 2]) << 8) | hs[hs0 + 3]
                if hs1 - hs0 < 4 + mlen:
                    break
                if hs[hs0] == 1:
                    ok, h1, h2, sl = _parse_hello(hs, hs0 + 4, mlen, snib, sni_at, ciph, exts)
                    if ok:
                        return True, h1, h2, sl
                hs0 += 4 + mlen
        elif ctype == 23:
            break
        p += 5 + ln
    return False, z, z, -1


@njit(cache=True)
def _syn_key(S: np.ndarray, OPT: np.ndarray, c: int) -> tuple[np.uint64, np.uint64]:
    """Hash of everything ``tcp_fp``/``tcp_os``/``tunnel_hint`` depend on (``_tcpfp``)."""
    h1, h2 = np.uint64(0x6A09E667F3BCC908), np.uint64(0xBB67AE8584CAA73B)
    ipv = S[c, IPV]
    ipid, nxt = S[c, SYN_IPID], S[c, IPID2]
    if ipv != 4:
        idq = 0
    elif ipid == 0:
        idq = 1
    elif nxt >= 0 and 0 < ((nxt - ipid) & 0xFFFF) <= 1024:
        idq = 2
    elif nxt >= 0:
        idq = 3
    else:
        idq = 0
    for v in (ipv, S[c, SYN_TTL], S[c, SYN_DF], idq, S[c, SYN_WIN]):
        h1, h2 = _mix2(h1, h2, v)
    n = S[c, SYNOLEN]
    mss, ws, ts0 = -1, -1, 0
    p = 0
    while p < n:
        k = np.int64(OPT[c, p])
        h1, h2 = _mix2(h1, h2, k)
        if k == 0:
            break
        if k == 1:
            p += 1
            continue
        if p + 1 >= n or OPT[c, p + 1] < 2 or p + OPT[c, p + 1] > n:
            h1, h2 = _mix2(h1, h2, 256)
            break
        ln = np.int64(OPT[c, p + 1])
        if k == 2 and ln == 4:
            mss = _u16(OPT[c], p + 2)
        elif k == 3 and ln == 3:
            ws = np.int64(OPT[c, p + 2])
        elif k == 8 and ln == 10:
            ts0 = 1 if (OPT[c, p + 2] | OPT[c, p + 3] | OPT[c, p + 4] | OPT[c, p + 5]) == 0 else 0
        p += ln
    h1, h2 = _mix2(h1, h2, 512)
    for v in (mss, ws, ts0):
        h1, h2 = _mix2(h1, h2, v + 1)
    return h1, h2


@njit(cache=True, nogil=True)
def extras(S: np.ndarray, Q: np.ndarray, OPT: np.ndarray, arena: np.ndarray,
           rows: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Per finished TCP row: the originator's reassembled stream and what it starts with.

    Returns ``(stream bytes, stream offset, stream length, kind, JA4 key 1, JA4 key 2,
    SNI bytes, SNI length, SYN key 1, SYN key 2)`` where kind is 0 (no payload), 1 (a
    ClientHello was parsed), 2 (TLS record without a ClientHello), 3 (other payload); SNI
    bytes of row ``i`` start at its stream offset in the SNI buffer (-1 length = none).
    """
    m = len(rows)
    total = 0
    longest = 0
    for i in range(m):
        c = rows[i]
        row = 0
        for s in range(min(S[c, OPN], PMAX)):
            row += Q[c, s, 1]
        total += row
        longest = max(longest, row)
    blob = np.empty(total, dtype=np.uint8)
    snib = np.empty(total, dtype=np.uint8)
    # scratch of the ClientHello parser, one stream at a time (sized by the whole blob these
    # were megabytes of huge-page-advised memory, faulted in per call)
    hs = np.empty(longest, dtype=np.uint8)
    ciph = np.empty(longest // 2 + 1, dtype=np.int64)
    exts = np.empty(longest // 2 + 1, dtype=np.int64)
    so = np.zeros(m, dtype=np.int64)
    sl = np.zeros(m, dtype=np.int64)
    kind = np.zeros(m, dtype=np.int64)
    j1 = np.zeros(m, dtype=np.uint64)
    j2 = np.zeros(m, dtype=np.uint64)
    snl = np.full(m, -1, dtype=np.int64)
    f1 = np.zeros(m, dtype=np.uint64)
    f2 = np.zeros(m, dtype=np.uint64)
    order = np.zeros(PMAX, dtype=np.int64)
    rel = np.zeros(PMAX, dtype=np.int64)
    pos = 0
    for i in range(m):
        c = rows[i]
        if S[c, SYNTS] >= 0:
            f1[i], f2[i] = _syn_key(S, OPT, c)
        ns = min(S[c, OPN], PMAX)
        so[i] = pos
        if ns == 0:
            continue
        first = Q[c, 0, 2]
        for s in range(ns):  # stable insertion sort by sequence number relative to the first
            r = (Q[c, s, 2] - first) & _M32
            q = s
            while q > 0 and rel[q - 1] > r:
                rel[q] = rel[q - 1]
                order[q] = order[q - 1]
                q -= 1
            rel[q] = r
            order[q] = s
        out = 0
        for q in range(ns):
            s = order[q]
            r = rel[q]
            if r > out:
                break
            skip = out - r
            a, ln = Q[c, s, 0], Q[c, s, 1]
            if skip < ln:
                blob[pos + out : pos + out + ln - skip] = arena[a + skip : a + ln]
                out += ln - skip
        sl[i] = out
        if out == 0:
            continue
        t = 0  # where TLS starts: at once, or after a SOCKS handshake (_tls.tls_start)
        if blob[pos] == 4 or blob[pos] == 5:
            t = _socks_end(blob, pos, out)
            if t == 0 or t >= out or blob[pos + t] != 0x16:
                t = 0
        if blob[pos + t] == 0x16:
            ok, h1, h2, sn = _first_hello(blob, pos + t, out - t, hs, snib, pos, ciph, exts)
            if ok:
                kind[i] = 1
                j1[i], j2[i] = h1, h2
                snl[i] = sn
            else:
                kind[i] = 2
        else:
            kind[i] = 3
        pos += out
    return blob[:pos], so, sl, kind, j1, j2, snib, snl, f1, f2


@njit(cache=True, nogil=True)
def format_ipv4(A: np.ndarray, rows: np.ndarray, at: int, out: np.ndarray) -> None:
    """Dotted-quad text of the IPv4 address at ``A[r, at:at+4]`` into ``out[r]`` (NUL-padded)."""
    for r in rows:
        p = 0
        for q in range(4):
            v = np.int64(A[r, at + q])
            if v >= 100:
                out[r, p] = 48 + v // 100
                p += 1
            if v >= 10:
                out[r, p] = 48 + (v // 10) % 10
                p += 1
            out[r, p] = 48 + v % 10
            p += 1
            if q < 3:
                out[r, p] = 46
                p += 1
        while p < out.shape[1]:
            out[r, p] = 0
            p += 1


_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ", b"PATCH ",
            b"TRACE ")  # fmt: skip
_METHOD_BYTES = np.frombuffer(b"".join(_METHODS), dtype=np.uint8)
_METHOD_ENDS = np.cumsum(np.array([len(m) for m in _METHODS], dtype=np.int64))
_UA = np.frombuffer(b"user-agent", dtype=np.uint8)


@njit(cache=True, inline="always")
def _space(ch: int) -> bool:
    return ch == 32 or 9 <= ch <= 13


@njit(cache=True, nogil=True)
def client_text(blob: np.ndarray, so: np.ndarray, sl: np.ndarray, rows: np.ndarray,
                methods: np.ndarray, method_ends: np.ndarray, ua: np.ndarray,
                lo: np.ndarray, hi: np.ndarray) -> np.ndarray:  # fmt: skip
    """``_tls.ssh_banner`` then ``_tls.http_user_agent`` on the streams ``rows``.

    Returns 1 (SSH banner), 2 (HTTP User-Agent) or 0 per row, the text's byte range in
    ``lo``/``hi``.
    """
    out = np.zeros(len(rows), dtype=np.int64)
    for r in range(len(rows)):
        i = rows[r]
        s, n = so[i], sl[i]
        e = s + n
        if (
            n >= 4
            and blob[s] == 83
            and blob[s + 1] == 83
            and blob[s + 2] == 72
            and blob[s + 3] == 45
        ):
            q = s
            while q < e and blob[q] != 10:
                q += 1
            while q > s and blob[q - 1] == 13:
                q -= 1
            lo[r], hi[r] = s, min(q, s + 255)
            out[r] = 1
            continue
        ok = False
        m0 = 0
        for m in range(len(method_ends)):
            m1 = method_ends[m]
            if n >= m1 - m0:
                same = True
                for k in range(m1 - m0):
                    if blob[s + k] != methods[m0 + k]:
                        same = False
                        break
                if same:
                    ok = True
                    break
            m0 = m1
        if not ok:
            continue
        head = e  # end of the head: the first blank line
        for q in range(s, e - 3):
            if blob[q] == 13 and blob[q + 1] == 10 and blob[q + 2] == 13 and blob[q + 3] == 10:
                head = q
                break
        q = s  # skip the request line
        while q + 1 < head and not (blob[q] == 13 and blob[q + 1] == 10):
            q += 1
        if q + 1 >= head:
            continue
        ls = q + 2
        while ls <= head:
            le = ls  # line end: next CRLF inside the head, or the head's end
            while le + 1 < head and not (blob[le] == 13 and blob[le + 1] == 10):
                le += 1
            if le + 1 >= head:
                le = head
            c = ls
            while c < le and blob[c] != 58:
                c += 1
            if c < le:
                a, b = ls, c
                while a < b and _space(blob[a]):
                    a += 1
                while b > a and _space(blob[b - 1]):
                    b -= 1
                if b - a == 10:
                    same = True
                    for k in range(10):
                        ch = blob[a + k]
                        if 65 <= ch <= 90:
                            ch += 32
                        if ch != ua[k]:
                            same = False
                            break
                    if same:
                        a, b = c + 1, le
                        while a < b and _space(blob[a]):
                            a += 1
                        while b > a and _space(blob[b - 1]):
                            b -= 1
                        lo[r], hi[r] = a, b
                        out[r] = 2
                        break
            ls = le + 2
    return out


@njit(cache=True, nogil=True)
def hello_records(blob: np.ndarray, so: np.ndarray, sl: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per stream ``rows``: how many TLS handshake records start with a ClientHello byte.

    Walks the records from the stream's start (SOCKS-prefixed streams, which do not start
    with a record, count as 2: the caller parses those again) the way ``tls.client_hellos``
    does: handshake, alert and change-cipher-spec records, stopping at application data or
    anything else. Two or more mark a stream that may hold a second ClientHello; so does a
    first ClientHello that does not exactly fill its record (split over records, or followed
    by more handshake messages in the same record).
    """
    out = np.zeros(len(rows), dtype=np.int64)
    for k in range(len(rows)):
        i = rows[k]
        p = so[i]
        end = so[i] + sl[i]
        if p >= end or blob[p] != 0x16:
            out[k] = 2
            continue
        n = 0
        while p + 5 <= end:
            t = blob[p]
            if (t != 20 and t != 21 and t != 22) or blob[p + 1] != 3:
                break
            ln = (np.int64(blob[p + 3]) << 8) | np.int64(blob[p + 4])
            if t == 22 and p + 5 < end and blob[p + 5] == 1:
                n += 1
                if n == 1 and p + 9 <= end:
                    ml = (np.int64(blob[p + 6]) << 16) | (np.int64(blob[p + 7]) << 8)
                    if 4 + (ml | np.int64(blob[p + 8])) != ln:
                        n += 1
            p += 5 + ln
        out[k] = n
    return out
