"""Compiled (numba) connection tracking: the same Zeek state machine as :mod:`._pcap_conn`.

All per-connection numeric state lives in one int64 matrix (one row per connection, columns
below), history letters in a uint8 matrix; one compiled loop applies every packet of a batch.
:mod:`attrib.io._pcap_conn` is the readable reference implementation of the same rules; tests
assert both give identical connections. Used when numba (part of the ``pcap`` extra) imports.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["COLS", "HMAX", "finalize_all", "new_table", "track"]

_NAMES = (
    "PROTO IPV FWD TS0 LAST LASTPKT PK0 PK1 IB0 IB1 SZ0 SZ1 ST0 ST1 PV0 PV1 START0 START1 "
    "LSEQ0 LSEQ1 ASEQ0 ASEQ1 FIN0 FIN1 HSEEN HLEN HLS0 HLS1 HLF0 HLF1 HLR0 HLR1 RX0 RX1 RXT0 "
    "RXT1 ZW0 ZW1 ZWT0 ZWT1 DC0 DC1 SYNTS SYNACKTS ACKTS RDATATS APPTS IPID2 US0 US1 TIMEOUT "
    "FINISHED FIRSTPKT FLIP SYNPKT SYN_TTL SYN_DF SYN_IPID SYN_WIN OPN PN OPORT RPORT CSTATE "
    "ATTEMPT0"
).split()
#: column name -> index in the state matrix
COLS = {n: i for i, n in enumerate(_NAMES)}
NCOLS = len(_NAMES)
HMAX = 40
PMAX = 4
(PROTO, IPV, FWD, TS0, LAST, LASTPKT, PK0, PK1, IB0, IB1, SZ0, SZ1, ST0, ST1, PV0, PV1, START0,
 START1, LSEQ0, LSEQ1, ASEQ0, ASEQ1, FIN0, FIN1, HSEEN, HLEN, HLS0, HLS1, HLF0, HLF1, HLR0, HLR1,
 RX0, RX1, RXT0, RXT1, ZW0, ZW1, ZWT0, ZWT1, DC0, DC1, SYNTS, SYNACKTS, ACKTS, RDATATS, APPTS,
 IPID2, US0, US1, TIMEOUT, FINISHED, FIRSTPKT, FLIP, SYNPKT, SYN_TTL, SYN_DF, SYN_IPID, SYN_WIN,
 OPN, PN, OPORT, RPORT, CSTATE, ATTEMPT0) = range(NCOLS)  # fmt: skip

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
_M32 = 0xFFFFFFFF
_BIG = 1048576
_S = 1_000_000_000


def new_table(cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Allocate (state, history, pending payload packets, keys) for ``cap`` connections."""
    return (
        np.zeros((cap, NCOLS), dtype=np.int64),
        np.zeros((cap, HMAX), dtype=np.uint8),
        np.zeros((cap, PMAX), dtype=np.int64),
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
    _machine(S, c, e, p, syn, fin, rst, ackf, plen)


@njit(cache=True)
def _machine(S: np.ndarray, c: int, e: int, p: int, syn: bool, fin: bool, rst: bool, ackf: bool,
             plen: int) -> None:  # fmt: skip
    s = S[c, ST0 + e]
    if s == INACTIVE:
        if syn:
            if e == 0:
                _set(S, c, e, SYN_ACK_SENT if ackf else SYN_SENT)
                S[c, ATTEMPT0] = S[c, LAST]
            else:
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


@njit(cache=True)
def _expired(S: np.ndarray, c: int, ts: int, proto: int, fl: int, seq: int, e: int) -> bool:
    idle = ts - S[c, LASTPKT]
    if idle > S[c, TIMEOUT]:
        return True
    if proto != 6:
        return False
    done = (S[c, DC0] and S[c, DC1]) or S[c, ST0] == RESET or S[c, ST1] == RESET
    if done and idle > 5 * _S:
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


@njit(cache=True)
def finalize_all(S: np.ndarray, H: np.ndarray, used: int, now: int, everything: bool) -> None:
    """Finish idle connections (or all of them at the end of the capture)."""
    for c in range(used):
        if S[c, FINISHED]:
            continue
        if everything or now - S[c, LASTPKT] > S[c, TIMEOUT] or _attempt_over(S, c, now):
            _finish(S, H, c)


@njit(cache=True)
def _new(S: np.ndarray, H: np.ndarray, c: int, j: int, ts: int, proto: int, ipv: int, fwd: bool,
         fl: int, sp: int, dp: int, server: np.ndarray) -> None:  # fmt: skip
    S[c, :] = 0
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
        if not (fl & 2) and server[sp]:
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


@njit(cache=True)
def track(S: np.ndarray, H: np.ndarray, P: np.ndarray, used: np.ndarray, cur: np.ndarray,
          fid: np.ndarray, pix: np.ndarray, fwd: np.ndarray, ts: np.ndarray, proto: np.ndarray,
          ipv: np.ndarray, fl: np.ndarray, seq: np.ndarray, ack: np.ndarray, plen: np.ndarray,
          win: np.ndarray, iplen: np.ndarray, sport: np.ndarray, dport: np.ndarray,
          ttl: np.ndarray, df: np.ndarray, ipid: np.ndarray,
          server: np.ndarray) -> None:  # fmt: skip
    """Apply a batch of packets (in order) to the connection table.

    ``cur[f]`` is the table row of batch flow ``f`` (-1 = none yet); rows for new
    connections are taken from ``used[0]`` upwards (the caller guarantees capacity).
    """
    for k in range(len(fid)):
        f = fid[k]
        c = cur[f]
        t = ts[k]
        pr = proto[k]
        fk = fl[k]
        if c >= 0:
            e = 0 if (fwd[k] == (S[c, FWD] == 1)) else 1
            if _expired(S, c, t, pr, fk, seq[k], e):
                _finish(S, H, c)
                c = -1
        if c < 0:
            c = used[0]
            used[0] += 1
            cur[f] = c
            _new(S, H, c, pix[k], t, pr, ipv[k], fwd[k], fk, sport[k], dport[k], server)
        e = 0 if (fwd[k] == (S[c, FWD] == 1)) else 1
        S[c, PK0 + e] += 1
        S[c, IB0 + e] += iplen[k]
        S[c, LASTPKT] = t
        pl = plen[k]
        if pr == 6:
            _extras(S, P, c, e, t, fk, pl, pix[k], ttl[k], df[k], ipid[k], win[k], ipv[k])
            _tcp(S, H, c, e, t, fk, seq[k], ack[k], pl, win[k])
        else:
            S[c, LAST] = t
            if pl > 0:
                S[c, SZ0 + e] += pl
            if pr == 17:
                S[c, US0 + e] = 1
                _once(S, H, c, 68, e)


@njit(cache=True)
def _extras(S: np.ndarray, P: np.ndarray, c: int, e: int, t: int, fk: int, pl: int, j: int,
            ttl: int, df: int, ipid: int, win: int, ipv: int) -> None:  # fmt: skip
    if fk & 2:
        if e == 0 and not (fk & 16) and S[c, SYNPKT] < 0 and S[c, SYNTS] < 0:
            S[c, SYNPKT] = j
            S[c, SYN_TTL] = ttl
            S[c, SYN_DF] = df
            S[c, SYN_IPID] = ipid
            S[c, SYN_WIN] = win
            S[c, SYNTS] = t
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
            if S[c, OPN] < PMAX:
                S[c, OPN] += 1
                P[c, S[c, PN]] = j
                S[c, PN] += 1
    elif pl > 0 and S[c, RDATATS] < 0:
        S[c, RDATATS] = t


@njit(cache=True)
def scan_records(a: np.ndarray, big: bool, limit: int, out: np.ndarray) -> tuple[int, int, int]:
    """Walk classic-pcap record headers in ``a``.

    Returns (records found, offset after the last whole record, 1 if a caplen exceeded
    ``limit`` at that offset else 0); record start offsets go to ``out``.
    """
    n = len(a)
    pos = 0
    k = 0
    while pos + 16 <= n:
        b0, b1 = np.int64(a[pos + 8]), np.int64(a[pos + 9])
        b2, b3 = np.int64(a[pos + 10]), np.int64(a[pos + 11])
        incl = (b0 << 24 | b1 << 16 | b2 << 8 | b3) if big else (b3 << 24 | b2 << 16 | b1 << 8 | b0)
        if incl > limit:
            return k, pos, 1
        if pos + 16 + incl > n:
            break
        out[k] = pos
        k += 1
        pos += 16 + int(incl)
    return k, pos, 0
