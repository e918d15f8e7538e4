"""pcapng block framing: blocks checked by their trailing length, resynchronised after damage.

Every pcapng block is ``type (4) | length (4) | body | length (4)``, lengths a multiple of 4.
A block is taken only when both lengths agree (draft-ietf-opsawg-pcapng, section 3.1). A
block that fails the check (an impossible length, garbage bytes between blocks, a block cut
short) costs one counted bad record: the walker searches byte by byte for the next offset
where a known block type starts with agreeing lengths and is followed by another plausible
block (or the exact end of the file), and counts the bytes it skipped, as it does for
classic pcap.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from attrib.io._base import ReadContext

__all__ = ["MAX_BLOCK", "SHB", "PcapngWalker", "block_check", "find_block"]

SHB = b"\x0a\x0d\x0d\x0a"
_BOMS = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
#: the longest block taken (a longer length field means the file lost sync)
MAX_BLOCK = 4 * 1024 * 1024
#: smallest length per block type (header, fixed fields, trailer): IDB, PB, SPB, NRB, ISB,
#: EPB, systemd journal export, decryption secrets, custom (copyable and not)
_MIN_LEN = {1: 20, 2: 32, 3: 16, 4: 12, 5: 24, 6: 32, 9: 12, 10: 20, 0xBAD: 16,
            0x40000BAD: 16}  # fmt: skip
_TYPES = np.array(sorted(_MIN_LEN), dtype=np.int64)
_MINS = np.array([_MIN_LEN[t] for t in sorted(_MIN_LEN)], dtype=np.int64)
#: offsets examined at once while searching for the next block
_WINDOW = 1 << 20
OK, MORE, BAD = 0, 1, 2
#: per byte order: unpack_from of a block's type and length, and of one length
_STRUCTS = {o: (struct.Struct(o + "II").unpack_from, struct.Struct(o + "I").unpack_from)
            for o in "<>"}  # fmt: skip


def block_check(buf: bytes, pos: int, order: str, eof: bool) -> tuple[int, int, str]:
    """Whether a valid block starts at ``pos``.

    Returns
    -------
    tuple
        (``OK``/``MORE``/``BAD``, its length, the byte order of its section: an SHB sets
        its own). ``MORE``: the block may be valid but its end is not in ``buf`` yet.
    """
    n = len(buf)
    if pos + 12 > n:
        return (BAD if eof else MORE), 0, order
    if buf[pos : pos + 4] == SHB:
        order = _BOMS.get(bytes(buf[pos + 8 : pos + 12]), "")
        if not order:
            return BAD, 0, "<"
        least = 28
    else:
        least = 12
    blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
    if blen < least or blen % 4 or blen > MAX_BLOCK:
        return BAD, blen, order
    if pos + blen > n:
        return (BAD if eof else MORE), blen, order
    if struct.unpack_from(order + "I", buf, pos + blen - 4)[0] != blen:
        return BAD, blen, order
    return OK, blen, order


def find_block(buf: bytes, pos: int, order: str, eof: bool) -> tuple[int | None, int]:
    """The next offset at or after ``pos`` where a known block starts and checks out.

    A candidate is a known block type (or a section header with its byte-order magic) whose
    length fields agree, followed by the exact end of the file or by a block whose length
    fields agree too.

    Returns
    -------
    tuple
        (the offset or ``None``, and with ``None`` the offset the search must resume from
        once more bytes follow: everything before it is lost).
    """
    n = len(buf)
    a = np.frombuffer(buf, np.uint8)
    lo = pos
    while lo + 12 <= n:
        hi = min(n - 11, lo + _WINDOW)
        for q in _candidates(buf, a, lo, hi, order):
            state = _chain(buf, q, order, eof)
            if state == OK:
                return q, q
            if state == MORE:
                return None, q
        lo = hi
    return None, (n if eof else max(pos, n - 11))


def _candidates(buf: bytes, a: np.ndarray, lo: int, hi: int, order: str) -> list[int]:
    """Offsets in ``[lo, hi)`` whose first 8 bytes could start a block, ascending."""
    q = np.arange(lo, hi, dtype=np.int64)
    kind = _u32(a, q, order)
    blen = _u32(a, q + 4, order)
    at = np.searchsorted(_TYPES, kind).clip(0, len(_TYPES) - 1)
    ok = (_TYPES[at] == kind) & (blen >= _MINS[at]) & (blen % 4 == 0) & (blen <= MAX_BLOCK)
    q, end = q[ok], q[ok] + blen[ok]
    inside = end <= len(a)  # the trailing length is here: it must agree (else: judge later)
    keep = ~inside
    keep[inside] = _u32(a, end[inside] - 4, order) == blen[ok][inside]
    found = q[keep].tolist()
    i = buf.find(SHB, lo, hi + 3)
    while 0 <= i < hi:  # section headers carry their own byte order
        found.append(i)
        i = buf.find(SHB, i + 1, hi + 3)
    return sorted(set(found))


def _chain(buf: bytes, q: int, order: str, eof: bool) -> int:
    state, blen, order = block_check(buf, q, order, eof)
    if state != OK:
        return state
    nxt = q + blen
    if nxt == len(buf) and eof:
        return OK
    state = block_check(buf, nxt, order, False)[0]
    if state == MORE and eof:
        return OK  # followed by a block cut short by the end of the file
    return state


def _u32(a: np.ndarray, at: np.ndarray, order: str) -> np.ndarray:
    b = [a[at + i].astype(np.int64) for i in range(4)]
    if order == "<":
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


@dataclass
class Iface:
    """An interface description block's fields the reader uses."""

    link: int
    snaplen: int
    units: int  # timestamp units per second
    offset_s: int


@dataclass
class Packets:
    """Packet fields gathered from the blocks of one read buffer."""

    offs: list[int] = field(default_factory=list)
    caps: list[int] = field(default_factory=list)
    wires: list[int] = field(default_factory=list)
    tss: list[int] = field(default_factory=list)
    links: list[int] = field(default_factory=list)


class PcapngWalker:
    """Walks the blocks of a pcapng file buffer by buffer, keeping section state between them.

    Parameters
    ----------
    ctx
        Read context: bad blocks are counted in its statistics.
    """

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.order = "<"
        self.ifaces: list[Iface] = []
        self.rec_no = 1
        self.last_ts = 0
        self.searching = False
        self.lost = 0  # bytes skipped in the current loss of sync (across buffers)

    def walk(self, buf: bytes, eof: bool) -> tuple[int, Packets]:
        """Take the whole blocks of ``buf``; return where the unread rest starts, the packets."""
        pkts = Packets()
        pos = 0
        n = len(buf)
        head, word = _STRUCTS[self.order]
        while pos < n:
            if not self.searching and pos + 12 <= n and buf[pos : pos + 4] != SHB:
                btype, blen = head(buf, pos)  # the common case, checked inline
                end = pos + blen
                if 12 <= blen <= MAX_BLOCK and not blen & 3 and end <= n:
                    if word(buf, end - 4)[0] == blen:
                        self._block(buf, pos, blen, btype, pkts)
                        pos = end
                        continue
            if self.searching:
                nxt, keep = find_block(buf, pos, self.order, eof)
                if nxt is None:
                    self.lost += keep - pos
                    pos = keep
                    break
                self._resynced(nxt - pos)
                pos = nxt
            state, blen, order = block_check(buf, pos, self.order, eof)
            if state == MORE:
                break
            if state == BAD:
                if eof and self._truncated(buf, pos):
                    self.ctx.bad("truncated pcapng block past end of file", self.rec_no)
                    return n, pkts
                self.ctx.bad("corrupt pcapng block (skipped to the next valid one)", self.rec_no)
                self.searching, self.lost = True, 1
                pos += 1
                continue
            if order != self.order:
                self.order = order
                head, word = _STRUCTS[order]
            self._block(buf, pos, blen, head(buf, pos)[0], pkts)
            pos += blen
        if eof and self.lost:
            self.ctx.stats.nulled["bytes skipped resynchronising"] += self.lost
            self.lost = 0
        return pos, pkts

    def _truncated(self, buf: bytes, pos: int) -> bool:
        """At the end of the file: whether the block at ``pos`` was cut short.

        It was when its header is incomplete, or when its length is sane but runs past the
        end and no valid block follows it (else the length itself is corrupt).
        """
        if pos + 12 > len(buf):
            return True
        if block_check(buf, pos, self.order, False)[0] != MORE:
            return False
        return find_block(buf, pos + 1, self.order, True)[0] is None

    def _resynced(self, skipped: int) -> None:
        self.ctx.stats.nulled["bytes skipped resynchronising"] += self.lost + skipped
        self.searching, self.lost = False, 0

    def _block(self, buf: bytes, pos: int, blen: int, btype: int, pkts: Packets) -> None:
        if btype == 0x0A0D0D0A:
            self.ifaces = []
        elif btype == 1:
            self.ifaces.append(parse_idb(buf, pos, blen, self.order))
        elif btype in (6, 2, 3):
            pkt = packet_block(buf, pos, blen, btype, self.order, self.ifaces)
            if pkt is None:
                self.ctx.bad("pcapng packet block: bad interface, length or timestamp",
                             self.rec_no)  # fmt: skip
            else:
                off, cl, wl, ts, lk = pkt
                if ts < 0:
                    ts = self.last_ts
                self.last_ts = ts
                pkts.offs.append(off)
                pkts.caps.append(cl)
                pkts.wires.append(wl)
                pkts.tss.append(ts)
                pkts.links.append(lk)
            self.rec_no += 1


def parse_idb(buf: bytes, pos: int, blen: int, order: str) -> Iface:
    """The fields of the interface description block at ``pos``."""
    link, _, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    units = 1_000_000
    offset_s = 0
    o = pos + 16
    end = pos + blen - 4
    while o + 4 <= end:
        code, olen = struct.unpack_from(order + "HH", buf, o)
        if code == 0:
            break
        val = buf[o + 4 : min(o + 4 + olen, end)]
        if code == 9 and len(val) >= 1:
            r = val[0]
            units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** min(r, 18)
        elif code == 14 and len(val) >= 8:
            offset_s = struct.unpack(order + "q", val[:8])[0]
        o += 4 + ((olen + 3) & ~3)
    return Iface(link=link, snaplen=snaplen, units=max(units, 1), offset_s=offset_s)


def packet_block(
    buf: bytes, pos: int, blen: int, btype: int, order: str, ifaces: list[Iface]
) -> tuple[int, int, int, int, int] | None:
    """(data offset, captured and wire length, ns timestamp, link) of a packet block.

    ``None`` when its interface, length or timestamp is impossible; timestamp ``-1`` for a
    simple packet block (none recorded: the caller carries the previous one).
    """
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if not ifaces or blen < 16:
            return None
        wl = struct.unpack_from(order + "I", buf, pos + 8)[0]
        cl = min(wl, blen - 16)
        return pos + 12, cl, wl, -1, ifaces[0].link
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
