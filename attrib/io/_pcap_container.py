"""Capture containers: classic pcap and pcapng records into packet batches.

Records are scanned with one tight loop over their headers (a record's position depends on the
previous record's length, so this step cannot be vectorised without a compiled helper); every
per-packet field after that is extracted with numpy over the whole batch.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import stat
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from attrib.errors import FormatError, UnknownFormatError
from attrib.io._base import ReadContext

__all__ = ["PCAP_MAGICS", "PacketBatch", "is_capture", "iter_batches"]

try:  # compiled record walk (numba, part of the pcap extra); a plain loop otherwise
    from attrib.io._pcap_fast import scan_pcap as _scan_pcap
except ImportError:  # pragma: no cover
    _scan_pcap = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: magic -> (byte order, nanosecond timestamps)
PCAP_MAGICS: dict[bytes, tuple[str, bool]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
#: read size of one batch of records
BLOCK_BYTES = 8 * 1024 * 1024
#: a record claiming more than this many captured bytes means the file lost sync
MAX_CAPLEN = 256 * 1024
_EMPTY_I64 = np.zeros(0, dtype=np.int64)


@dataclass
class PacketBatch:
    """Packets of one read block: one shared buffer and per-packet arrays."""

    buf: bytes  # or a read-only mmap of the whole file (slices of both are bytes)
    offs: np.ndarray  # int64, start of packet data in buf
    caplen: np.ndarray  # int64, captured bytes
    wirelen: np.ndarray  # int64, bytes on the wire
    ts_ns: np.ndarray  # int64, nanoseconds since the epoch
    link: np.ndarray  # int64, link type per packet
    first_record: int  # 1-based record number of the first packet
    rec: np.ndarray | None = None  # record numbers, when not consecutive (tunnel payloads)

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
    head = fh.read(24)
    path = ctx.stats.path
    if len(head) == 0:
        raise FormatError(path, "empty capture file")
    if head[:4] in PCAP_MAGICS:
        yield from _iter_pcap(fh, head, ctx)
    elif head[:4] == PCAPNG_SHB:
        yield from _iter_pcapng(fh, head, ctx)
    else:
        raise UnknownFormatError(f"{path}: not a pcap/pcapng capture (magic {head[:4].hex()})")


def _iter_pcap(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[PacketBatch]:
    path = ctx.stats.path
    if len(head) < 24:
        raise FormatError(path, "truncated pcap file header", line=0)
    order, nano = PCAP_MAGICS[head[:4]]
    snaplen, link = struct.unpack(order + "II", head[16:24])
    link &= 0xFFFF  # upper bits carry FCS information
    limit = max(MAX_CAPLEN, snaplen if snaplen < 16 * MAX_CAPLEN else 0)
    frac_mult = 1 if nano else 1000
    mm = _mapped(fh) if _scan_pcap is not None else None
    if mm is not None:
        yield from _iter_mapped(mm, fh.tell(), order, limit, frac_mult, link, ctx)
        return
    rec_no = 1
    rest = b""
    while True:
        data = fh.read(BLOCK_BYTES)
        buf = rest + data if rest else data
        if _scan_pcap is not None:
            pos, batch = _scan_fast(buf, order, limit, frac_mult, link, path, rec_no)
        else:
            pos, starts = _scan(buf, order, limit, path, rec_no)
            batch = (
                _pcap_batch(buf, starts, order, frac_mult, link, rec_no) if len(starts) else None
            )
        rest = buf[pos:]
        if batch is not None:
            yield batch
            rec_no += len(batch)
        if not data:
            break
    if rest:
        what = "record header" if len(rest) < 16 else "record data"
        ctx.bad(f"truncated {what} past end of file", rec_no)


def _mapped(fh: IO[bytes]) -> mmap.mmap | None:
    """A read-only map of an uncompressed regular capture file (None for other streams)."""
    if type(fh) is not io.BufferedReader:
        return None
    try:
        fd = fh.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


#: Linux's MADV_POPULATE_READ (5.14+): map a whole range in one call instead of page faults
_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22 if sys.platform == "linux" else 0)


def _populate(mm: mmap.mmap, lo: int, hi: int) -> None:
    global _POPULATE_READ
    if not _POPULATE_READ:
        return
    lo -= lo % mmap.PAGESIZE
    try:
        mm.madvise(_POPULATE_READ, lo, hi - lo)
    except OSError:  # an older kernel: fall back to page faults
        _POPULATE_READ = 0


def _iter_mapped(mm: mmap.mmap, pos: int, order: str, limit: int, frac_mult: int, link: int,
                 ctx: ReadContext) -> Iterator[PacketBatch]:  # fmt: skip
    """Classic pcap records of a mapped file, in blocks of about :data:`BLOCK_BYTES`.

    Nothing is copied: every batch's buffer is the whole map and its offsets are file offsets.
    Pages of blocks a few batches back are released (``MADV_DONTNEED``; the kernel maps them
    again from the page cache if they are touched), so resident memory stays a few blocks.
    """
    path = ctx.stats.path
    a = np.frombuffer(mm, dtype=np.uint8)
    n = len(a)
    big = order == ">"
    rec_no = 1
    behind: list[tuple[int, int]] = []
    page = mmap.PAGESIZE
    expect = 1024  # records per block, from the previous block (arrays grow when needed)
    while pos < n:
        win = BLOCK_BYTES
        while True:  # a window holding at least one whole record (or the rest of the file)
            hi = min(pos + win, n)
            _populate(mm, pos, hi)
            m = min((hi - pos) // 16 + 1, 2 * expect)
            offs, cap, wire, ts = (np.empty(m, dtype=np.int64) for _ in range(4))
            k, used, bad = _scan_pcap(a[pos:hi], big, limit, frac_mult, offs, cap, wire, ts)
            if bad:
                raise FormatError(path, f"record caplen is absurd (> {limit})", line=rec_no + k)
            if k or hi == n:
                break
            win *= 2
        if not k:
            break
        yield PacketBatch(buf=mm, offs=offs[:k] + pos, caplen=cap[:k], wirelen=wire[:k],  # type: ignore[arg-type]
                          ts_ns=ts[:k], link=np.full(k, link, dtype=np.int64),
                          first_record=rec_no)  # fmt: skip
        rec_no += k
        expect = max(k, 64)
        behind.append((pos, pos + used))
        pos += used
        if len(behind) > 4 and hasattr(mmap, "MADV_DONTNEED"):
            lo, up = behind.pop(0)
            lo -= lo % page
            mm.madvise(mmap.MADV_DONTNEED, lo, up - lo)
    if pos < n:
        what = "record header" if n - pos < 16 else "record data"
        ctx.bad(f"truncated {what} past end of file", rec_no)


def _scan_fast(buf: bytes, order: str, limit: int, frac_mult: int, link: int, path: str,
               rec_no: int) -> tuple[int, PacketBatch | None]:  # fmt: skip
    """Compiled record walk: the offset after the last whole record and its packets."""
    a = np.frombuffer(buf, dtype=np.uint8)
    m = len(buf) // 16 + 1
    offs, cap, wire, ts = (np.empty(m, dtype=np.int64) for _ in range(4))
    k, pos, bad = _scan_pcap(a, order == ">", limit, frac_mult, offs, cap, wire, ts)
    if bad:
        raise FormatError(path, f"record caplen is absurd (> {limit})", line=rec_no + k)
    if not k:
        return pos, None
    batch = PacketBatch(buf=buf, offs=offs[:k], caplen=cap[:k], wirelen=wire[:k], ts_ns=ts[:k],
                        link=np.full(k, link, dtype=np.int64), first_record=rec_no)  # fmt: skip
    return pos, batch


def _scan(buf: bytes, order: str, limit: int, path: str, rec_no: int) -> tuple[int, np.ndarray]:
    """Offsets of the whole records in ``buf`` and the offset after the last one."""
    cap = struct.Struct(order + "I")
    n = len(buf)
    pos = 0
    starts: list[int] = []
    add = starts.append
    unpack = cap.unpack_from
    while pos + 16 <= n:
        incl = unpack(buf, pos + 8)[0]
        if incl > limit:
            raise FormatError(
                path, f"record caplen {incl} is absurd (> {limit})", line=rec_no + len(starts)
            )
        if pos + 16 + incl > n:
            break
        add(pos)
        pos += 16 + incl
    return pos, np.asarray(starts, dtype=np.int64)


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


@dataclass
class _Iface:
    link: int
    snaplen: int
    units: int  # timestamp units per second
    offset_s: int


def _iter_pcapng(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[PacketBatch]:
    path = ctx.stats.path
    order = "<"
    ifaces: list[_Iface] = []
    rec_no = 1
    last_ts = 0
    rest = head
    eof = False
    while True:
        if not eof:
            data = fh.read(BLOCK_BYTES)
            eof = not data
            buf = rest + data
        else:
            buf = rest
        n = len(buf)
        pos = 0
        offs: list[int] = []
        caps: list[int] = []
        wires: list[int] = []
        tss: list[int] = []
        links: list[int] = []
        first = rec_no
        while pos + 12 <= n:
            if buf[pos : pos + 4] == PCAPNG_SHB:
                bom = buf[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise FormatError(
                        path, "pcapng section header has a bad byte-order magic", rec_no
                    )
            btype, blen = struct.unpack_from(order + "II", buf, pos)
            if blen < 12 or blen % 4 or blen > 16 * MAX_CAPLEN:
                raise FormatError(path, f"pcapng block length {blen} is invalid", line=rec_no)
            if pos + blen > n:
                break
            if btype == 0x0A0D0D0A:
                ifaces = []
            elif btype == 1:
                ifaces.append(_parse_idb(buf, pos, blen, order))
            elif btype in (6, 2, 3):
                pkt = _packet_block(buf, pos, blen, btype, order, ifaces)
                if pkt is None:
                    ctx.bad("pcapng packet block: bad interface, length or timestamp", rec_no)
                else:
                    off, cl, wl, ts, lk = pkt
                    if ts < 0:
                        ts = last_ts
                    last_ts = ts
                    offs.append(off)
                    caps.append(cl)
                    wires.append(wl)
                    tss.append(ts)
                    links.append(lk)
                rec_no += 1
            pos += blen
        rest = buf[pos:]
        if offs:
            yield PacketBatch(
                buf=buf,
                offs=np.asarray(offs, dtype=np.int64),
                caplen=np.asarray(caps, dtype=np.int64),
                wirelen=np.asarray(wires, dtype=np.int64),
                ts_ns=np.asarray(tss, dtype=np.int64),
                link=np.asarray(links, dtype=np.int64),
                first_record=first,
            )
        if eof:
            break
    if rest:
        ctx.bad("truncated pcapng block past end of file", rec_no)


def _parse_idb(buf: bytes, pos: int, blen: int, order: str) -> _Iface:
    link, _, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    units = 1_000_000
    offset_s = 0
    o = pos + 16
    end = pos + blen - 4
    while o + 4 <= end:
        code, olen = struct.unpack_from(order + "HH", buf, o)
        if code == 0:
            break
        val = buf[o + 4 : o + 4 + olen]
        if code == 9 and olen >= 1:
            r = val[0]
            units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** min(r, 18)
        elif code == 14 and olen >= 8:
            offset_s = struct.unpack(order + "q", val[:8])[0]
        o += 4 + ((olen + 3) & ~3)
    return _Iface(link=link, snaplen=snaplen, units=units, offset_s=offset_s)


def _packet_block(
    buf: bytes, pos: int, blen: int, btype: int, order: str, ifaces: list[_Iface]
) -> tuple[int, int, int, int, int] | None:
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if not ifaces or blen < 16:
            return None
        wl = struct.unpack_from(order + "I", buf, pos + 8)[0]
        cl = min(wl, blen - 16)
        return pos + 12, cl, wl, -1, ifaces[0].link  # no timestamp: the caller carries one
    if blen < 32:
        return None
    if btype == 6:
        iface, hi, lo, cl, wl = struct.unpack_from(order + "IIIII", buf, pos + 8)
    else:
        iface, _, hi, lo, cl, wl = struct.unpack_from(order + "HHIIII", buf, pos + 8)
    if iface >= len(ifaces) or cl > blen - 32:
        return None
    itf = ifaces[iface]
    t = (hi << 32) | lo
    ts = (t * 1_000_000_000) // itf.units + itf.offset_s * 1_000_000_000
    if not 0 <= ts < 1 << 62:  # beyond 2116: a corrupt timestamp or resolution
        return None
    return pos + 28, cl, wl, ts, itf.link
