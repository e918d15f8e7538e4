"""Capture containers: classic pcap and pcapng records into packet batches.

Records are scanned with one tight loop over their headers (a record's position depends on the
previous record's length, so this step cannot be vectorised without a compiled helper); every
per-packet field after that is extracted with numpy over the whole batch.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from attrib.errors import FormatError, UnknownFormatError
from attrib.io._base import ReadContext
from attrib.io.pcap._jit import kernels, wanted
from attrib.io.pcap._pcapng import SHB as PCAPNG_SHB
from attrib.io.pcap._pcapng import PcapngWalker

__all__ = [
    "PCAP_MAGICS",
    "PacketBatch",
    "batches_after",
    "is_capture",
    "iter_batches",
    "pcap_header",
    "resume_pcap",
    "truncated_record",
]


logger = logging.getLogger(__name__)

#: magic -> (byte order, nanosecond timestamps)
PCAP_MAGICS: dict[bytes, tuple[str, bool]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}
#: read size of one batch of records
BLOCK_BYTES = 8 * 1024 * 1024
#: a record claiming more than this many captured bytes means the file lost sync
MAX_CAPLEN = 256 * 1024
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


@dataclass
class PacketBatch:
    """Packets of one read block: one shared buffer and per-packet arrays."""

    buf: bytes  # or a bytearray reused by later batches (see ``owner``)
    offs: np.ndarray  # int64, start of packet data in buf
    caplen: np.ndarray  # int64, captured bytes
    wirelen: np.ndarray  # int64, bytes on the wire
    ts_ns: np.ndarray  # int64, nanoseconds since the epoch
    link: np.ndarray  # int64, link type per packet
    first_record: int  # 1-based record number of the first packet
    rec: np.ndarray | None = None  # record numbers, when not consecutive (tunnel payloads)
    #: the reused block this batch's buffer and arrays belong to (``_read.release``)
    owner: object | None = None

    def __len__(self) -> int:
        return len(self.offs)


def is_capture(head: bytes) -> bool:
    """Tell whether ``head`` starts like a pcap or pcapng file.

    Parameters
    ----------
    head
        Leading bytes.

    Returns
    -------
    bool
        True for a pcap magic, or a pcapng section header with a valid byte-order magic.
    """
    if head[:4] in PCAP_MAGICS:
        return True
    return head[:4] == PCAPNG_SHB and head[8:12] in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d")


def iter_batches(fh: IO[bytes], ctx: ReadContext) -> Iterator[PacketBatch]:
    """Yield packet batches from an open capture.

    Parameters
    ----------
    fh
        The decompressed capture stream, positioned at its start.
    ctx
        Read context (file name for errors, bad-record accounting).

    Yields
    ------
    PacketBatch
        Packets in file order.
    """
    return batches_after(fh, fh.read(24), ctx)


def pcap_header(head: bytes, path: str) -> tuple[str, int, int, int]:
    """Parse a classic-pcap file header.

    Parameters
    ----------
    head
        The first 24 bytes (fewer means a truncated header).
    path
        File name for errors.

    Returns
    -------
    tuple
        (byte order ``"<"``/``">"``, timestamp fraction unit in ns, link type, largest
        plausible captured length of a record).
    """
    if len(head) < 24:
        raise FormatError(path, "truncated pcap file header", line=0)
    order, nano = PCAP_MAGICS[head[:4]]
    snaplen, link = struct.unpack(order + "II", head[16:24])
    link &= 0xFFFF  # upper bits carry FCS information
    limit = max(MAX_CAPLEN, snaplen if snaplen < 16 * MAX_CAPLEN else 0)
    return order, 1 if nano else 1000, link, limit


def batches_after(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[PacketBatch]:
    """:func:`iter_batches` of a capture whose first (up to) 24 bytes ``head`` were read."""
    if head[:4] in PCAP_MAGICS:
        return _iter_pcap(fh, head, ctx)
    if head[:4] == PCAPNG_SHB:
        return _iter_pcapng(fh, head, ctx)
    path = ctx.stats.path
    if not head:
        raise FormatError(path, "empty capture file")
    raise UnknownFormatError(f"{path}: not a pcap/pcapng capture (magic {head[:4].hex()})")


def _iter_pcap(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[PacketBatch]:
    return resume_pcap(fh, head, ctx, b"", 1, None)


def resume_pcap(fh: IO[bytes], head: bytes, ctx: ReadContext, pending: bytes, rec_no: int,
                last_ts: int | None) -> Iterator[PacketBatch]:  # fmt: skip
    """Records of a classic pcap; a corrupt record header resynchronises, as Wireshark does.

    A header claiming more than the largest plausible length, or zero bytes on the wire,
    means the file lost sync (a corrupt record, or junk such as a zero-filled tail): the
    reader counts one bad record, searches for the next plausible header (sane lengths and
    fraction, a timestamp within a year of the last good one, and a plausible successor)
    and counts the bytes it skipped in ``FileStats.nulled``.

    ``pending`` holds bytes already read from ``fh`` (starting at record ``rec_no``); the
    compiled reader hands over here when a block holds a corrupt header.
    """
    path = ctx.stats.path
    order, frac_mult, link, limit = pcap_header(head, path)
    compiled = wanted(ctx)
    rest = pending
    lost = 0  # bytes skipped in the current loss of sync (carried across blocks)
    while True:
        data = fh.read(BLOCK_BYTES)
        eof = not data
        buf = rest + data if rest else data
        start = 0 if lost == 0 else -1
        pos = 0
        while True:
            if start < 0:  # searching for the next plausible header
                nxt = _resync(buf, pos, order, limit, frac_mult, last_ts, eof)
                if nxt is None:  # none in this block: keep a tail that may start one
                    keep = 0 if eof else min(len(buf) - pos, 32 + limit)
                    lost += len(buf) - pos - keep
                    pos = len(buf) - keep
                    break
                lost += nxt - pos
                ctx.stats.nulled["bytes skipped resynchronising"] += lost
                lost, start = 0, nxt
            pos, batch, bad = _walk(buf, start, order, limit, frac_mult, link, rec_no,
                                    compiled)  # fmt: skip
            if batch is not None:
                yield batch
                rec_no += len(batch)
                last_ts = int(batch.ts_ns[-1] // 1_000_000_000)
            if not bad:
                break
            ctx.bad("corrupt record header (skipped to the next plausible one)", rec_no)
            rec_no += 1
            start = -1
            lost = 1
            pos += 1
        rest = buf[pos:]
        if eof:
            break
    if lost:
        ctx.stats.nulled["bytes skipped resynchronising"] += lost + len(rest)
    elif rest:
        ctx.bad(truncated_record(len(rest)), rec_no)


def _walk(buf: bytes, start: int, order: str, limit: int, frac_mult: int, link: int,
          rec_no: int, compiled: bool = True) -> tuple[int, PacketBatch | None, bool]:  # fmt: skip
    """Whole records from ``start``.

    Returns the offset after them, their batch, and whether a bad header (at that offset)
    stopped the walk.
    """
    if compiled and kernels() is not None:
        pos, batch, bad = _scan_fast(buf, start, order, limit, frac_mult, link, rec_no)
    else:
        pos, starts, bad = _scan(buf, start, order, limit)
        batch = _pcap_batch(buf, starts, order, frac_mult, link, rec_no) if len(starts) else None
    if batch is not None:
        zero = np.flatnonzero(batch.wirelen == 0)  # nothing on the wire: not a record
        if len(zero):
            k = int(zero[0])
            pos, bad = int(batch.offs[k]) - 16, True
            batch = _head_of(batch, k)
    return pos, batch, bad


def _head_of(batch: PacketBatch, k: int) -> PacketBatch | None:
    if k == 0:
        return None
    return PacketBatch(buf=batch.buf, offs=batch.offs[:k], caplen=batch.caplen[:k],
                       wirelen=batch.wirelen[:k], ts_ns=batch.ts_ns[:k], link=batch.link[:k],
                       first_record=batch.first_record)  # fmt: skip


#: bytes of candidate headers examined at once while resynchronising
_RESYNC_WINDOW = 1 << 20
#: a resynchronised record's timestamp lies within this of the last good one (seconds)
_RESYNC_SPAN = 366 * 86400


def _resync(buf: bytes, pos: int, order: str, limit: int, frac_mult: int,
            last_ts: int | None, eof: bool) -> int | None:  # fmt: skip
    """Offset of the first plausible record header at or after ``pos`` (``None``: none yet).

    A candidate must have a captured length within the limit and not above its wire
    length, a wire length above zero, a sane fraction, a timestamp near ``last_ts``, and be
    followed by another plausible header (or end exactly at the end of the file).
    """
    a = np.frombuffer(buf, np.uint8)
    n = len(a)
    frac_max = 1_000_000 if frac_mult == 1000 else 1_000_000_000
    lo = pos
    while lo + 16 <= n:
        hi = min(n - 15, lo + _RESYNC_WINDOW)
        q = np.arange(lo, hi, dtype=np.int64)
        ok = _plausible(a, q, order, limit, frac_max, last_ts)
        cand = q[ok]
        if len(cand):
            follows, undecided = _chain(a, cand, order, limit, frac_max, eof)
            hit = np.flatnonzero(follows)
            first_open = np.flatnonzero(undecided)
            if len(first_open) and (not len(hit) or first_open[0] < hit[0]):
                return None  # the first candidate still open needs the next block to judge
            if len(hit):
                return int(cand[hit[0]])
        lo = hi
    return None


#: headers after a resynchronisation candidate that must be plausible too
_RESYNC_CHAIN = 2


def _chain(a: np.ndarray, cand: np.ndarray, order: str, limit: int, frac_max: int,
           eof: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Which candidates start a chain of plausible records (and which cannot be judged yet)."""
    n = len(a)
    good = np.ones(len(cand), bool)
    done = np.zeros(len(cand), bool)  # reached the end of the file exactly: a chain
    undecided = np.zeros(len(cand), bool)
    at, ts = cand, _u32(a, cand, order)
    for _ in range(_RESYNC_CHAIN):
        nxt = at + 16 + _u32(a, at + 8, order)
        ends = nxt == n
        if eof:
            done |= good & ends
        inside = nxt + 16 <= n
        if not eof:
            undecided |= good & ~done & ~inside
        live = good & ~done & inside
        ok = np.zeros(len(cand), bool)
        ok[live] = _plausible(a, nxt[live], order, limit, frac_max, None)
        ok[live] &= np.abs(_u32(a, nxt[live], order) - ts[live]) <= _RESYNC_SPAN
        good &= done | ok
        at = np.where(live, nxt, at)
    return good & ~undecided, undecided


def _u32(a: np.ndarray, at: np.ndarray, order: str) -> np.ndarray:
    b = [a[at + i].astype(np.int64) for i in range(4)]
    if order == "<":
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


def _plausible(a: np.ndarray, q: np.ndarray, order: str, limit: int, frac_max: int,
               last_ts: int | None) -> np.ndarray:  # fmt: skip
    cap, wire = _u32(a, q + 8, order), _u32(a, q + 12, order)
    ok = (cap <= limit) & (wire > 0) & (cap <= wire) & (wire <= 1 << 28)
    ok &= _u32(a, q + 4, order) < frac_max
    if last_ts is not None:
        ok &= np.abs(_u32(a, q, order) - last_ts) <= _RESYNC_SPAN
    return ok


def truncated_record(nbytes: int) -> str:
    """What is wrong with the ``nbytes`` left after the last whole record."""
    return f"truncated {'record header' if nbytes < 16 else 'record data'} past end of file"


def _scan_fast(buf: bytes, start: int, order: str, limit: int, frac_mult: int, link: int,
               rec_no: int) -> tuple[int, PacketBatch | None, bool]:  # fmt: skip
    """Compiled record walk from ``start``: offset after the last whole record, its packets."""
    a = np.frombuffer(buf, dtype=np.uint8, offset=start)
    m = len(a) // 16 + 1
    offs, cap, wire, ts = (np.empty(m, dtype=np.int64) for _ in range(4))
    k, pos, bad = kernels().scan_pcap(  # type: ignore[union-attr]
        a, order == ">", limit, frac_mult, offs, cap, wire, ts
    )
    pos += start
    if not k:
        return pos, None, bool(bad)
    batch = PacketBatch(buf=buf, offs=offs[:k] + start, caplen=cap[:k], wirelen=wire[:k],
                        ts_ns=ts[:k], link=np.full(k, link, dtype=np.int64),
                        first_record=rec_no)  # fmt: skip
    return pos, batch, bool(bad)


def _scan(buf: bytes, start: int, order: str, limit: int) -> tuple[int, np.ndarray, bool]:
    """Offsets of the whole records in ``buf`` from ``start``.

    Also the offset after the last one, and whether a header claiming more than ``limit``
    bytes stopped the walk there.
    """
    cap = struct.Struct(order + "I")
    n = len(buf)
    pos = start
    starts: list[int] = []
    add = starts.append
    unpack = cap.unpack_from
    bad = False
    while pos + 16 <= n:
        incl = unpack(buf, pos + 8)[0]
        if incl > limit:
            bad = True
            break
        if pos + 16 + incl > n:
            break
        add(pos)
        pos += 16 + incl
    return pos, np.asarray(starts, dtype=np.int64), bad


def _pcap_batch(
    buf: bytes, starts: np.ndarray, order: str, frac_mult: int, link: int, rec_no: int
) -> PacketBatch:
    arr = np.frombuffer(buf, dtype=np.uint8)
    p = starts
    dt = np.dtype(order + "u4")
    idx = p[:, None] + np.arange(16, dtype=np.int64)
    hdr = arr[idx].copy().view(dt).astype(np.int64)  # (n, 4)
    ts = hdr[:, 0] * 1_000_000_000 + hdr[:, 1] * frac_mult
    return PacketBatch(
        buf=buf,
        offs=p + 16,
        caplen=hdr[:, 2],
        wirelen=hdr[:, 3],
        ts_ns=ts,
        link=np.full(len(p), link, dtype=np.int64),
        first_record=rec_no,
    )


def _iter_pcapng(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[PacketBatch]:
    """Packets of a pcapng file; a corrupt block is skipped and the walk resynchronises."""
    walker = PcapngWalker(ctx)
    rest = head
    eof = False
    while not eof:
        data = fh.read(BLOCK_BYTES)
        eof = not data
        buf = rest + data
        first = walker.rec_no
        pos, pkts = walker.walk(buf, eof)
        rest = buf[pos:]
        if pkts.offs:
            yield PacketBatch(
                buf=buf,
                offs=np.asarray(pkts.offs, dtype=np.int64),
                caplen=np.asarray(pkts.caps, dtype=np.int64),
                wirelen=np.asarray(pkts.wires, dtype=np.int64),
                ts_ns=np.asarray(pkts.tss, dtype=np.int64),
                link=np.asarray(pkts.links, dtype=np.int64),
                first_record=first,
            )
