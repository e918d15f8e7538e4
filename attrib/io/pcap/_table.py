"""Driver of the compiled connection table: batches in, finished connections out as columns.

Owns the state matrices of :mod:`attrib.io.pcap._fast`, the open-addressing index from flow
key to table row and the arena holding the originator's first payload segments. After every
batch the finished rows are turned into columns (addresses, history, fingerprints, JA4, SNI,
banners) and the table, index and arena are compacted, so memory follows the live
connections, not the file.

Fingerprints and JA4 strings are looked up by a 128-bit key the compiled code computes over
exactly the fields they depend on; the Python implementations (:mod:`._tcpfp`, :mod:`._tls`)
compute each distinct value once, from the real bytes.

Until :meth:`FastTracker.arrow` the columns are numpy only (text as int32 codes into the
tracker's per-column word lists, addresses and history as raw rows), so joining and ordering
the parts of a chunk is plain numpy; the Arrow string columns are built once per chunk.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attrib.io._zeek_tsv import parse_pool
from attrib.io.pcap import _fast as F
from attrib.io.pcap._conn import LIKELY_SERVER_PORTS, reassemble
from attrib.io.pcap._container import PacketBatch
from attrib.io.pcap._decode import Decoded
from attrib.io.tcpfp import guess_os, syn_traits, tunnel_hint
from attrib.io.tls import client_hellos, http_user_agent, ja4, ssh_banner, tls_start

__all__ = ["COLLECT_AT", "OUT", "TCP_TEXT", "FastTracker"]

logger = logging.getLogger(__name__)

_SERVER = np.zeros(65536, dtype=np.bool_)
_SERVER[list(LIKELY_SERVER_PORTS)] = True
#: text columns of TCP connections filled from the SYN and the originator's first payload
TCP_TEXT = ("tcp_fp", "tcp_os", "tunnel_hint", "ja4", "ja4_all", "tls_sni", "service",
            "ssh_client", "user_agent")  # fmt: skip
#: state-matrix columns of a finished connection that reach the events table (``out["S"]``)
_OUT_COLS = ("TS0", "LAST", "PROTO", "OPORT", "RPORT", "SZ0", "SZ1", "PK0", "PK1", "IB0", "IB1",
             "CSTATE", "IPV")  # fmt: skip
#: column name -> index in ``out["S"]``
OUT = {name: i for i, name in enumerate(_OUT_COLS)}
_OUT_IDX = np.array([F.COLS[c] for c in _OUT_COLS], dtype=np.int64)
#: state-matrix columns the TCP text and RTT columns are made from
_TCP_IDX = np.array([F.SYNTS, F.SYNACKTS, F.ACKTS, F.RDATATS, F.APPTS], dtype=np.int64)
#: finished rows waiting before they are turned into columns (and their rows reused)
COLLECT_AT = 4096
#: payload arena: initial size, and the fill above which it is compacted after a batch
_ARENA0 = 16 << 20
_ARENA_COMPACT = 32 << 20
#: distinct fingerprints remembered (the caches are cleared beyond this)
_CACHE_MAX = 1 << 16
_SYN_CACHE: dict[tuple[int, int], tuple[str, str | None, str | None]] = {}
_JA4_CACHE: dict[tuple[int, int], str] = {}


class FastTracker:
    """Connection tracking over the compiled table.

    Call :meth:`feed` per batch and :meth:`flush` at the end; both return the finished
    connections as a dict of columns (see :meth:`_columns`), ordered by start time, or None.
    Finished rows are collected once :data:`COLLECT_AT` of them wait (and at the end); their
    rows are then reused by new connections.
    """

    def __init__(self, cap: int = 4096, verify: bool = False) -> None:
        #: check every TCP row's compiled stream/JA4/SYN results against the Python parsers
        self.verify = verify
        self.S, self.H, self.Q, self.OPT, self.A, self.K = F.new_table(cap)
        self.free = np.zeros(cap, dtype=np.int64)
        self.hk = np.zeros(4 * cap, dtype=np.uint64)
        self.hr = np.full(4 * cap, -1, dtype=np.int64)
        self.meta = np.zeros(3, dtype=np.int64)  # rows used, arena bytes used, free rows
        self.arena = np.empty(_ARENA0, dtype=np.uint8)
        self.frags: dict[bytes, int] = {}
        self.now = 0
        #: per text column: the distinct strings of the pending chunk (codes index them)
        self.words: dict[str, list[str]] = {c: [] for c in TCP_TEXT}
        self._codes: dict[str, dict[str, int]] = {c: {} for c in TCP_TEXT}

    def _room(self, rows: int, nbytes: int) -> None:
        """Make room for ``rows`` new rows and ``nbytes`` payload bytes."""
        n = int(self.meta[0])
        cap = len(self.S)
        if n + rows > cap:
            new = max(n + rows, 2 * cap)
            grown = F.new_table(new)
            old = (self.S, self.H, self.Q, self.OPT, self.A, self.K)
            for g, o in zip(grown, old, strict=True):
                g[:n] = o[:n]
            self.S, self.H, self.Q, self.OPT, self.A, self.K = grown
            free = np.zeros(new, dtype=np.int64)
            free[:cap] = self.free
            self.free = free
        if 2 * (n + rows) > len(self.hk):
            size = 1 << (4 * (n + rows)).bit_length()
            self.hk = np.zeros(size, dtype=np.uint64)
            self.hr = np.full(size, -1, dtype=np.int64)
            F.rebuild_index(self.hk, self.hr, self.K, self.S, n)
        used = int(self.meta[1])
        if used + nbytes > len(self.arena):
            arena = np.empty(max(2 * len(self.arena), used + nbytes), dtype=np.uint8)
            arena[:used] = self.arena[:used]
            self.arena = arena

    def feed(self, batch: PacketBatch, d: Decoded) -> dict[str, Any] | None:
        """Apply one batch; return the connections finished so far, when enough wait."""
        fragments = bool(d.frag.any())  # rare: skip their bookkeeping when there are none
        idx = np.flatnonzero(d.ok & (d.frag != 2) if fragments else d.ok)
        if len(idx):
            self._room(len(idx), int(batch.caplen.sum()))
            buf = np.frombuffer(batch.buf, dtype=np.uint8)
            F.track(
                self.S, self.H, self.Q, self.OPT, self.A, self.K, self.hk, self.hr, self.meta,
                self.free, self.arena, buf, idx, d.key, d.fwd, d.ts, d.proto, d.ipv, d.flags,
                d.seq, d.ack, d.plen, d.win, d.ip_len, d.sport, d.dport, d.ttl, d.df, d.ipid,
                d.l3, d.l4, d.thl, d.pay, d.end, _SERVER,
            )  # fmt: skip
            self.now = int(d.ts[idx[-1]])
        if fragments:
            self._fragments(batch.buf, d, idx)
        waiting = F.finalize_all(self.S, self.H, int(self.meta[0]), self.now, False)
        if waiting < COLLECT_AT and self.meta[1] <= _ARENA_COMPACT:
            return None
        return self._collect()

    def _fragments(self, buf: bytes, d: Decoded, idx: np.ndarray) -> None:
        """Remember the rows of first fragments; count later fragments' bytes."""
        if len(idx):
            firsts = idx[(d.frag[idx] == 1) & (d.ipv[idx] == 4)]
            if len(firsts):
                rows = F.lookup(self.hk, self.hr, d.key[firsts])
                for j, c in zip(firsts.tolist(), rows.tolist(), strict=True):
                    if c >= 0:
                        self.frags[_frag_id(buf, int(d.l3[j]))] = c
        later = np.flatnonzero(d.ok & (d.frag == 2))
        if len(later):
            self._later_fragments(buf, d, later)

    def flush(self) -> dict[str, Any] | None:
        """Finish every live connection (end of capture)."""
        F.finalize_all(self.S, self.H, int(self.meta[0]), self.now, True)
        return self._collect()

    def _later_fragments(self, buf: bytes, d: Decoded, later: np.ndarray) -> None:
        for j in later.tolist():
            if int(d.ipv[j]) != 4:
                continue
            l3 = int(d.l3[j])
            c = self.frags.get(_frag_id(buf, l3))
            if c is None or c >= int(self.meta[0]) or self.S[c, F.FINISHED]:
                continue
            e = 0 if buf[l3 + 12 : l3 + 16] == self.A[c, :4].tobytes() else 1
            self.S[c, F.IB0 + e] += int(d.ip_len[j]) - (buf[l3] & 15) * 4

    def _collect(self) -> dict[str, Any] | None:
        n = int(self.meta[0])
        fin = np.flatnonzero(self.S[:n, F.FINISHED] == 1)
        out = None
        if len(fin):
            fin = fin[np.argsort(self.S[fin, F.TS0], kind="stable")]
            out = self._columns(fin)
            self.S[fin, F.FINISHED] = 2  # free for reuse
            nf = int(self.meta[2])
            self.free[nf : nf + len(fin)] = fin
            self.meta[2] = nf + len(fin)
            F.rebuild_index(self.hk, self.hr, self.K, self.S, n)
            if self.frags:
                if len(self.frags) > 10000:  # fragments whose first piece is long gone
                    self.frags.clear()
                live = self.S[:n, F.FINISHED] == 0
                self.frags = {k: v for k, v in self.frags.items() if live[v]}
        if self.meta[1] > _ARENA_COMPACT:
            arena = np.empty(len(self.arena), dtype=np.uint8)
            self.meta[1] = F.compact_arena(self.S, self.Q, n, self.arena, arena)
            self.arena = arena
        return out

    def _columns(self, fin: np.ndarray) -> dict[str, Any]:
        """Numpy columns of the finished rows ``fin``: state, key, addresses, history, RTTs.

        Text columns are codes into :attr:`words` (-1 for null).
        """
        # only the columns the table needs: a copy of whole rows is ~5x the memory
        S = self.S[fin[:, None], _OUT_IDX]
        m = len(fin)
        out: dict[str, Any] = {"S": S, "K": self.K[fin], "A": self.A[fin], "H": self.H[fin]}
        text = {c: np.full(m, -1, dtype=np.int32) for c in TCP_TEXT}
        nan = np.full(m, np.nan)
        rtt = {"rtt_syn_ms": nan, "rtt_ack_ms": nan.copy(), "rtt_app_ms": nan.copy()}
        tcp = np.flatnonzero(S[:, OUT["PROTO"]] == 6)
        if len(tcp):
            self._tcp_columns(fin[tcp], self.S[fin[tcp, None], _TCP_IDX], tcp, text, rtt)
        out.update(text)
        out.update(rtt)
        return out

    def arrow(self, out: dict[str, Any]) -> dict[str, Any]:
        """Turn the text material of joined :meth:`_columns` parts into Arrow string columns.

        Replaces ``A``/``H`` by ``src``, ``dst`` and ``hist`` and the codes of
        :data:`TCP_TEXT` by strings, in place; the word lists start afresh (call it once per
        chunk, after the chunk's last part).
        """
        S = out["S"]
        proto = S[:, OUT["PROTO"]]
        pool = parse_pool()
        out["src"], out["dst"] = _addresses(out.pop("A"), S[:, OUT["IPV"]], pool)
        hist = np.ascontiguousarray(out.pop("H")).view(f"S{F.HMAX}").ravel()
        no_hist = (hist == b"") | ((proto != 6) & (proto != 17))
        out["hist"] = pa.array(hist, type=pa.large_binary(), mask=no_hist,
                               memory_pool=pool).cast(pa.large_string())  # fmt: skip
        for c in TCP_TEXT:
            codes = out[c]
            words = pa.array(self.words[c], type=pa.large_string(), memory_pool=pool)
            out[c] = pc.take(words, pa.array(codes, mask=codes < 0), memory_pool=pool)
            self.words[c], self._codes[c] = [], {}
        return out

    def _intern(self, col: str, values: list[Any]) -> np.ndarray:
        """Codes of ``values`` (str or None) in the word list of ``col`` (-1 for None)."""
        codes, words = self._codes[col], self.words[col]
        for v in values:
            if v is not None and v not in codes:
                codes[v] = len(words)
                words.append(v)
        return np.array([-1 if v is None else codes[v] for v in values], dtype=np.int32)

    def _tcp_columns(self, rows: np.ndarray, S: np.ndarray, at: np.ndarray,
                     text: dict[str, np.ndarray], rtt: dict[str, np.ndarray]) -> None:  # fmt: skip
        blob, so, sl, kind, j1, j2, snib, snl, f1, f2 = F.extras(
            self.S, self.Q, self.OPT, self.arena, rows
        )
        syn, synack, ack, rdata, app = S.T  # the _TCP_IDX columns
        rtt["rtt_syn_ms"][at] = _ms(syn, synack)
        rtt["rtt_ack_ms"][at] = _ms(synack, ack)
        # SYN fingerprints: each distinct key computed once, from the real option bytes
        has = np.flatnonzero(syn >= 0)
        if len(has):
            cache = _SYN_CACHE
            if len(cache) > _CACHE_MAX:
                cache.clear()
            for first, inv in _distinct(f1[has], f2[has]):
                vals: list[Any] = []
                for u in first.tolist():
                    key = (int(f1[has[u]]), int(f2[has[u]]))
                    got = cache.get(key)
                    if got is None:
                        got = cache[key] = self._syn_text(int(rows[has[u]]))
                    vals.append(got)
                for col, k in (("tcp_fp", 0), ("tcp_os", 1), ("tunnel_hint", 2)):
                    text[col][at[has]] = self._intern(col, [v[k] for v in vals])[inv]
        # payload: TLS ClientHello, SSH banner, HTTP request
        blob_b = blob.data  # slices decode without copying the whole stream buffer
        hello = np.flatnonzero(kind == 1)
        if len(hello):
            cache2 = _JA4_CACHE
            if len(cache2) > _CACHE_MAX:
                cache2.clear()
            for first, inv in _distinct(j1[hello], j2[hello]):
                vals = []
                for u in first.tolist():
                    key = (int(j1[hello[u]]), int(j2[hello[u]]))
                    fpj = cache2.get(key)
                    if fpj is None:
                        o, ln = int(so[hello[u]]), int(sl[hello[u]])
                        chs = client_hellos(bytes(blob_b[o : o + ln]))
                        if chs:
                            fpj = cache2[key] = ja4(chs[0])
                        else:  # pragma: no cover - the parsers disagree: trust the Python one
                            logger.warning("ClientHello parsers disagree; please report")
                    vals.append(fpj)
                text["ja4"][at[hello]] = self._intern("ja4", vals)[inv]
                text["ja4_all"][at[hello]] = self._intern("ja4_all", vals)[inv]
            good = hello[text["ja4"][at[hello]] >= 0]
            self._more_hellos(blob_b, so, sl, good, at, text)
            snib_b = snib.data
            named = good[snl[good] >= 0]
            text["tls_sni"][at[named]] = self._intern("tls_sni", [
                str(snib_b[o : o + sn], "ascii", "replace")
                for o, sn in zip(so[named].tolist(), snl[named].tolist(), strict=True)
            ])  # fmt: skip
            text["service"][at[good]] = self._intern("service", ["ssl"])[0]
            rtt["rtt_app_ms"][at[good]] = _ms(rdata[good], app[good])
        other = np.flatnonzero(kind == 3)
        if len(other):
            lo = np.zeros(len(other), dtype=np.int64)
            hi = np.zeros(len(other), dtype=np.int64)
            what = F.client_text(blob, so, sl, other, F._METHOD_BYTES, F._METHOD_ENDS, F._UA, lo,
                                 hi)  # fmt: skip
            for col, w, enc in (("ssh_client", 1, "ascii"), ("user_agent", 2, "utf-8")):
                sel = np.flatnonzero(what == w)
                if len(sel):
                    text[col][at[other[sel]]] = self._intern(col, [
                        str(blob_b[a:b], enc, "replace")
                        for a, b in zip(lo[sel].tolist(), hi[sel].tolist(), strict=True)
                    ])  # fmt: skip
                    text["service"][at[other[sel]]] = self._intern(
                        "service", ["ssh" if w == 1 else "http"])[0]  # fmt: skip
        if self.verify:
            self._verify(rows, blob.tobytes(), so, sl, kind, text, at)

    def _more_hellos(self, blob: memoryview, so: np.ndarray, sl: np.ndarray, good: np.ndarray,
                     at: np.ndarray, text: dict[str, np.ndarray]) -> None:  # fmt: skip
        """``ja4_all`` of the streams holding a second ClientHello (after a HelloRetryRequest).

        Only the streams ``F.hello_records`` marks — two or more handshake records starting
        like a ClientHello, or a first ClientHello not filling its record exactly (a second
        one starts a record of its own, or shares the first one's) — are parsed again, by the
        Python parser.
        """
        if not len(good):
            return
        a = np.frombuffer(blob, dtype=np.uint8)
        n_rec = F.hello_records(a, so, sl, good)
        for i in np.flatnonzero(n_rec >= 2).tolist():
            o, n = int(so[good[i]]), int(sl[good[i]])
            chs = client_hellos(bytes(blob[o : o + n]))
            if len(chs) > 1:
                j = at[good[i]]
                text["ja4_all"][j] = self._intern("ja4_all", [",".join(ja4(c) for c in chs)])[0]

    def _verify(self, rows: np.ndarray, blob: bytes, so: np.ndarray, sl: np.ndarray,
                kind: np.ndarray, text: dict[str, np.ndarray], at: np.ndarray) -> None:  # fmt: skip
        """Assert the compiled results equal the Python reference's (tests only)."""
        text = {c: _objs([None if k < 0 else self.words[c][k] for k in v.tolist()])
                for c, v in text.items()}  # fmt: skip

        class _Segs:
            opay: list[tuple[int, bytes]]

        for i, c in enumerate(rows.tolist()):
            segs = _Segs()
            segs.opay = [
                (int(sq), self.arena[a : a + ln].tobytes())
                for a, ln, sq in self.Q[c, : min(int(self.S[c, F.OPN]), F.PMAX)].tolist()
            ]
            stream = reassemble(segs)  # type: ignore[arg-type]
            assert stream == blob[so[i] : so[i] + sl[i]], "stream"
            chs = client_hellos(stream) if tls_start(stream) >= 0 else []
            assert (kind[i] == 1) == bool(chs), ("hello", stream)
            if chs:
                assert text["ja4"][at[i]] == ja4(chs[0]), ("ja4", stream)
                assert text["ja4_all"][at[i]] == ",".join(ja4(c) for c in chs), ("all", stream)
                assert text["tls_sni"][at[i]] == chs[0].sni, ("sni", stream)
            elif stream and tls_start(stream) < 0:
                banner, agent = ssh_banner(stream), http_user_agent(stream)
                assert text["ssh_client"][at[i]] == banner, ("ssh", stream)
                assert text["user_agent"][at[i]] == (None if banner else agent), ("ua", stream)
            want = self._syn_text(c) if self.S[c, F.SYNTS] >= 0 else (None, None, None)
            got = tuple(text[k][at[i]] for k in ("tcp_fp", "tcp_os", "tunnel_hint"))
            assert got == want, ("syn", got, want)

    def _syn_text(self, c: int) -> tuple[str, str | None, str | None]:
        S = self.S
        ipv = int(S[c, F.IPV])
        opts = self.OPT[c, : S[c, F.SYNOLEN]].tobytes()
        t = syn_traits(ipv, int(S[c, F.SYN_TTL]), int(S[c, F.SYN_DF]), int(S[c, F.SYN_IPID]),
                       int(S[c, F.SYN_WIN]), opts, int(S[c, F.IPID2]))  # fmt: skip
        return t.fp, guess_os(t), tunnel_hint(t.mss, ipv)


def _objs(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values``."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _distinct(k1: np.ndarray, k2: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group rows by the 128-bit key (k1, k2): [(first row of each group, group of each row)].

    Grouped on ``k1``; in the (astronomically unlikely) case that rows sharing ``k1`` differ
    in ``k2``, one group per row instead.
    """
    _, first, inv = np.unique(k1, return_index=True, return_inverse=True)
    if np.array_equal(k2[first][inv], k2):
        return [(first, inv)]
    return [(np.arange(len(k1)), np.arange(len(k1)))]  # pragma: no cover


def _ms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Milliseconds from ``a`` to ``b`` (ns), NaN when ``a`` is unset or ``b`` earlier."""
    return np.where((a >= 0) & (b >= a), (b - a) / 1e6, np.nan)


def _addresses(A: np.ndarray, ipv: np.ndarray, pool: pa.MemoryPool) -> tuple[pa.Array, pa.Array]:
    """Originator and responder address text (arrow strings) of rows of the address matrix."""
    m = len(A)
    v6 = np.flatnonzero(ipv != 4)
    out = []
    for at in (0, 16):
        txt = np.zeros((m, 39), dtype=np.uint8)
        F.format_ipv4(A, np.flatnonzero(ipv == 4), at, txt)
        col = txt.view("S39").ravel()
        if len(v6):
            raw = np.ascontiguousarray(A[v6, at : at + 16]).tobytes()
            col[v6] = [
                socket.inet_ntop(socket.AF_INET6, raw[16 * i : 16 * i + 16]).encode()
                for i in range(len(v6))
            ]
        out.append(pa.array(col, type=pa.large_binary(), memory_pool=pool).cast(pa.large_string()))
    return out[0], out[1]


def _frag_id(buf: bytes, l3: int) -> bytes:
    return bytes(buf[l3 + 4 : l3 + 6] + buf[l3 + 9 : l3 + 10] + buf[l3 + 12 : l3 + 20])
