"""IPv4 reassembly of the tunnel carriers' fragmented datagrams, before decapsulation.

Zeek's IP analyser hands fragments to its ``FragReassembler`` and analyses the datagram once it
is whole, at the time of the fragment that completed it; a tunnel inside (GTP-U over a
fragmented outer IPv4 datagram is the common case) is then decapsulated from the whole datagram,
so the inner packet's payload past the first fragment is there (a ClientHello, an HTTP
request). Here the outermost IPv4 fragments of UDP, GRE and IP in IP captured whole
(:func:`attrib.io.pcap._decode.reassembled`) are held across batches; when a datagram is
complete it is decoded (tunnels included) and put after the fragment that completed it. A
datagram that never completes is not analysed (as in Zeek, whose ``frag_timeout`` is 0:
fragments are kept until the end). Overlapping fragments: the first copy of each offset is
kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import numpy as np

from attrib.io.pcap._container import PacketBatch
from attrib.io.pcap._decode import REASSEMBLED, Decoded, decode, merge, reassembled

__all__ = ["Reassembler"]

logger = logging.getLogger(__name__)

#: most datagrams waiting for their missing fragments (the oldest are dropped beyond)
MAX_PENDING = 10_000
_RAW_IPV4 = 228


@dataclass
class _Datagram:
    header: bytes = b""  # the first fragment's IPv4 header (options included)
    pieces: dict[int, bytes] = field(default_factory=dict)  # offset -> data
    total: int = -1  # data length, known once the last fragment (MF clear) is seen

    def whole(self) -> bytes | None:
        """The reassembled datagram when every byte is there, else None (empty: too large)."""
        if self.total < 0 or not self.header:
            return None
        data = bytearray()
        for off in sorted(self.pieces):
            if off > len(data):
                return None
            piece = self.pieces[off]
            data += piece[len(data) - off :]
        if len(data) < self.total:
            return None
        ihl = len(self.header)
        if ihl + self.total > 0xFFFF:  # Zeek: "excessively_large_fragment", dropped
            return b""
        h = bytearray(self.header)
        h[2:4] = (ihl + self.total).to_bytes(2, "big")
        h[6:8] = b"\0\0"  # no more fragments, offset 0 (DF cleared)
        return bytes(h) + bytes(data[: self.total])


class Reassembler:
    """Holds the fragments of the tunnel carriers' IPv4 datagrams until they are whole.

    One per capture read, fed the decoded batches in order.
    """

    def __init__(self) -> None:
        self.pending: dict[bytes, _Datagram] = {}

    def apply(self, batch: PacketBatch, d: Decoded) -> tuple[PacketBatch, Decoded]:
        """Hold ``d``'s fragments to reassemble; add the datagrams they complete.

        Parameters
        ----------
        batch
            The packets.
        d
            Their decoded headers (the held fragments are marked not ok, in place).

        Returns
        -------
        tuple of PacketBatch and Decoded
            ``batch`` and ``d`` when no datagram was completed; else a batch over a copy of the
            buffer with the datagrams appended, and ``d`` with each datagram (and its tunnel's
            inner packets) right after the fragment that completed it.
        """
        if not d.frag.any():  # the common batch: no fragments at all
            return batch, d
        held = np.flatnonzero(reassembled(d))
        if not len(held):
            return batch, d
        buf = batch.buf
        done: list[tuple[int, bytes]] = []
        for i in held.tolist():
            whole = self._add(buf, int(d.l3[i]), int(d.ip_len[i]))
            d.ok[i] = False
            d.reason[i] = REASSEMBLED
            if whole is not None:
                done.append((i, whole))
        if not done:
            return batch, d
        return self._emit(batch, d, done)

    def _add(self, buf: bytes, l3: int, ip_len: int) -> bytes | None:
        ihl = (buf[l3] & 15) * 4
        ff = int.from_bytes(buf[l3 + 6 : l3 + 8], "big")
        off = (ff & 0x1FFF) * 8
        key = bytes(buf[l3 + 4 : l3 + 6]) + bytes(buf[l3 + 9 : l3 + 10])
        key += bytes(buf[l3 + 12 : l3 + 20])
        dg = self.pending.get(key)
        if dg is None:
            if len(self.pending) >= MAX_PENDING:
                self.pending.pop(next(iter(self.pending)))
                logger.debug("more than %d incomplete IPv4 datagrams: oldest dropped", MAX_PENDING)
            dg = self.pending[key] = _Datagram()
        piece = bytes(buf[l3 + ihl : l3 + ip_len])
        dg.pieces.setdefault(off, piece)
        if off == 0:
            dg.header = bytes(buf[l3 : l3 + ihl])
        if not ff & 0x2000:
            dg.total = off + len(piece)
        whole = dg.whole()
        if whole is not None:
            del self.pending[key]
        return whole or None

    def _emit(self, batch: PacketBatch, d: Decoded,
              done: list[tuple[int, bytes]]) -> tuple[PacketBatch, Decoded]:  # fmt: skip
        buf = bytearray(batch.buf)
        offs, lens = [], []
        for _, whole in done:
            offs.append(len(buf))
            lens.append(len(whole))
            buf += whole
        at = np.array([i for i, _ in done], dtype=np.int64)
        n = np.array(lens, dtype=np.int64)
        sub = PacketBatch(
            buf=bytes(buf), offs=np.array(offs, dtype=np.int64), caplen=n, wirelen=n,
            ts_ns=d.ts[at], link=np.full(len(at), _RAW_IPV4, dtype=np.int64), first_record=0,
        )  # fmt: skip
        sub.rec = d.rec[at]
        dd = decode(sub, compiled=False)
        out = PacketBatch(
            buf=sub.buf, offs=batch.offs, caplen=batch.caplen, wirelen=batch.wirelen,
            ts_ns=batch.ts_ns, link=batch.link, first_record=batch.first_record,
            rec=batch.rec, owner=batch.owner,
        )  # fmt: skip
        base = Decoded(**{f.name: getattr(d, f.name) for f in fields(Decoded)})
        return out, merge(base, dd)
