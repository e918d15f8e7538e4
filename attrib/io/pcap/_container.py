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

__all__ = [
    "PCAP_MAGICS",
    "PacketBatch",
    "batches_after",
    "is_capture",
    "iter_batches",
    "pcap_header",
    "truncated_record",
]

try:  # compiled record walk (numba, part of the pcap extra); a plain loop otherwise
    from attrib.io.pcap._walk import scan_pcap as _scan_pcap
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
    path = ctx.stats.path
    order, frac_mult, link, limit = pcap_header(head, path)
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
        ctx.bad(truncated_record(len(rest)), rec_no)


def truncated_record(nbytes: int) -> str:
    """What is wrong with the ``nbytes`` left after the last whole record."""
    return f"truncated {'record header' if nbytes < 16 else 'record data'} past end of file"


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
