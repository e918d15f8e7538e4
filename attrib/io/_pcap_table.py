"""Driver of the compiled connection table: batches in, finished connections out as columns.

Owns the state matrix of :mod:`attrib.io._pcap_fast`, the map from flow key to table row, and
the few per-connection Python objects (address text, SYN option bytes, the originator's first
payload segments); compacts the table after every batch so memory follows the live
connections.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np

from attrib.io import _pcap_fast as F
from attrib.io._pcap_conn import LIKELY_SERVER_PORTS
from attrib.io._pcap_container import PacketBatch
from attrib.io._pcap_decode import Decoded

__all__ = ["FastTracker"]

_SERVER = np.zeros(65536, dtype=np.bool_)
_SERVER[list(LIKELY_SERVER_PORTS)] = True


class FastTracker:
    """Connection tracking over the compiled table.

    Call :meth:`feed` per batch and :meth:`flush` at the end; both return the finished
    connections as a dict of columns (see :meth:`_collect`).
    """

    def __init__(self, cap: int = 4096) -> None:
        self.S, self.H, self.P, self.K = F.new_table(cap)
        self.obj = np.empty((cap, 4), dtype=object)  # orig addr, resp addr, syn opts, payloads
        self.used = np.zeros(1, dtype=np.int64)
        self.live: dict[int, int] = {}
        self.frags: dict[bytes, int] = {}
        self.now = 0

    def _grow(self, need: int) -> None:
        cap = len(self.S)
        if need <= cap:
            return
        new = max(need, 2 * cap)
        S, H, P, K = F.new_table(new)
        n = int(self.used[0])
        S[:n], H[:n], P[:n], K[:n] = self.S[:n], self.H[:n], self.P[:n], self.K[:n]
        obj = np.empty((new, 4), dtype=object)
        obj[:n] = self.obj[:n]
        self.S, self.H, self.P, self.K, self.obj = S, H, P, K, obj

    def feed(self, batch: PacketBatch, d: Decoded) -> dict[str, Any] | None:
        """Apply one batch; return the connections it finished (or None)."""
        idx = np.flatnonzero(d.ok & (d.frag != 2))
        if len(idx):
            self._apply(batch, d, idx)
            self.now = int(d.ts[idx[-1]])
        later = np.flatnonzero(d.ok & (d.frag == 2))
        if len(later):
            self._later_fragments(batch.buf, d, later)
        F.finalize_all(self.S, self.H, int(self.used[0]), self.now, False)
        return self._collect()

    def flush(self) -> dict[str, Any] | None:
        """Finish every live connection (end of capture)."""
        F.finalize_all(self.S, self.H, int(self.used[0]), self.now, True)
        return self._collect()

    def _apply(self, batch: PacketBatch, d: Decoded, idx: np.ndarray) -> None:
        keys = d.key[idx]
        uk, inv = np.unique(keys, return_inverse=True)
        ukl = uk.tolist()
        get = self.live.get
        cur = np.fromiter((get(k, -1) for k in ukl), dtype=np.int64, count=len(ukl))
        start = int(self.used[0])
        self._grow(start + len(idx))
        F.track(
            self.S, self.H, self.P, self.used, cur, inv.astype(np.int64), idx, d.fwd[idx],
            d.ts[idx], d.proto[idx], d.ipv[idx], d.flags[idx], d.seq[idx], d.ack[idx],
            d.plen[idx], d.win[idx], d.ip_len[idx], d.sport[idx], d.dport[idx], d.ttl[idx],
            d.df[idx], d.ipid[idx], _SERVER,
        )  # fmt: skip
        self.K[cur] = uk
        self.live.update(zip(ukl, cur.tolist(), strict=True))
        self._new_rows(batch.buf, d, start, int(self.used[0]))
        self._syn_options(batch.buf, d)
        self._payloads(batch.buf, d)
        firsts = idx[d.frag[idx] == 1]
        for j in firsts.tolist():
            if int(d.ipv[j]) == 4:
                self.frags[_frag_id(batch.buf, int(d.l3[j]))] = self.live[int(d.key[j])]

    def _new_rows(self, buf: bytes, d: Decoded, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        S, obj = self.S, self.obj
        j = S[lo:hi, F.FIRSTPKT]
        ipv, l3, flip = d.ipv[j].tolist(), d.l3[j].tolist(), S[lo:hi, F.FLIP].tolist()
        ntop = socket.inet_ntop
        v4, v6 = socket.AF_INET, socket.AF_INET6
        origs, resps = [], []
        for v, o, fl in zip(ipv, l3, flip, strict=True):
            if v == 4:
                a, b = ntop(v4, buf[o + 12 : o + 16]), ntop(v4, buf[o + 16 : o + 20])
            else:
                a, b = ntop(v6, buf[o + 8 : o + 24]), ntop(v6, buf[o + 24 : o + 40])
            if fl:
                a, b = b, a
            origs.append(a)
            resps.append(b)
        obj[lo:hi, 0] = origs
        obj[lo:hi, 1] = resps

    def _syn_options(self, buf: bytes, d: Decoded) -> None:
        n = int(self.used[0])
        rows = np.flatnonzero(self.S[:n, F.SYNPKT] >= 0)
        if not len(rows):
            return
        j = self.S[rows, F.SYNPKT]
        lo = (d.l4[j] + 20).tolist()
        hi = np.minimum(d.l4[j] + d.thl[j], d.end[j]).tolist()
        col = self.obj[:, 2]
        for c, a, b in zip(rows.tolist(), lo, hi, strict=True):
            col[c] = buf[a:b]
        self.S[rows, F.SYNPKT] = -1

    def _payloads(self, buf: bytes, d: Decoded) -> None:
        n = int(self.used[0])
        pn = self.S[:n, F.PN]
        rows = np.flatnonzero(pn > 0)
        if not len(rows):
            return
        counts = pn[rows]
        rr = np.repeat(rows, counts)
        kk = np.arange(len(rr)) - np.repeat(np.cumsum(counts) - counts, counts)
        j = self.P[rr, kk]
        o = d.pay[j]
        ends = np.minimum(o + d.plen[j], d.end[j])
        col = self.obj[:, 3]
        for c, sq, a, b in zip(rr.tolist(), d.seq[j].tolist(), o.tolist(), ends.tolist(),
                               strict=True):  # fmt: skip
            segs = col[c]
            if segs is None:
                segs = col[c] = []
            segs.append((sq, buf[a:b]))
        self.S[rows, F.PN] = 0

    def _later_fragments(self, buf: bytes, d: Decoded, later: np.ndarray) -> None:
        for j in later.tolist():
            if int(d.ipv[j]) != 4:
                continue
            l3 = int(d.l3[j])
            c = self.frags.get(_frag_id(buf, l3))
            if c is None or c >= int(self.used[0]) or self.S[c, F.FINISHED]:
                continue
            src = socket.inet_ntop(socket.AF_INET, buf[l3 + 12 : l3 + 16])
            e = 0 if src == self.obj[c, 0] else 1
            self.S[c, F.IB0 + e] += int(d.ip_len[j]) - (buf[l3] & 15) * 4

    def _collect(self) -> dict[str, Any] | None:
        n = int(self.used[0])
        fin_mask = self.S[:n, F.FINISHED] == 1
        if not fin_mask.any():
            return None
        fin = np.flatnonzero(fin_mask)
        fin = fin[np.argsort(self.S[fin, F.TS0], kind="stable")]
        out = {
            "S": self.S[fin].copy(),
            "hist": [bytes(self.H[c, : self.S[c, F.HLEN]]).decode("ascii") for c in fin.tolist()],
            "obj": self.obj[fin].copy(),
            "K": self.K[fin].copy(),
        }
        keep = np.flatnonzero(~fin_mask)
        nk = len(keep)
        self.S[:nk] = self.S[keep]
        self.H[:nk] = self.H[keep]
        self.P[:nk] = self.P[keep]
        self.K[:nk] = self.K[keep]
        self.obj[:nk] = self.obj[keep]
        self.obj[nk:n] = None
        self.used[0] = nk
        self.live = dict(zip(self.K[:nk].tolist(), range(nk), strict=True))
        if len(self.frags) > 10000:  # fragments whose first piece is long gone
            self.frags.clear()
        if self.frags:
            remap = np.full(n, -1, dtype=np.int64)
            remap[keep] = np.arange(nk)
            self.frags = {k: int(remap[v]) for k, v in self.frags.items() if remap[v] >= 0}
        return out


def _frag_id(buf: bytes, l3: int) -> bytes:
    return buf[l3 + 4 : l3 + 6] + buf[l3 + 9 : l3 + 10] + buf[l3 + 12 : l3 + 20]
