"""Decoded packet batches of a capture: classic pcap read into reused blocks, one compiled pass.

The file is read with ``readinto`` into a few blocks that are reused (a pool: the consumer
hands a block back with :func:`release` once it is done with the batch; a block not handed
back is simply not reused). Each block is walked and decoded by one compiled loop
(:func:`attrib.io.pcap._walk.walk_decode`) into arrays that belong to the block, so a read
allocates — and the kernel maps in — the same few megabytes whatever the capture's size.

The file is deliberately not memory-mapped: a mapped file truncated by another process while
it is read kills the reader with SIGBUS; read into our own buffers, truncation shows as an
early end of file (a truncated record is reported, the packets before it are kept).

pcapng, and everything without numba, goes through :func:`attrib.io.pcap._container.
iter_batches` and :func:`attrib.io.pcap._decode.decode`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import IO

import numpy as np

from attrib.io._base import ReadContext
from attrib.io.pcap._container import (
    PCAP_MAGICS,
    PacketBatch,
    batches_after,
    pcap_header,
    resume_pcap,
    truncated_record,
)
from attrib.io.pcap._decode import (
    FAST_FIELDS,
    ICMP4,
    ICMP6,
    TUNNEL_PORTS,
    Decoded,
    decode,
    decode_rest,
)
from attrib.io.pcap._frag import Reassembler
from attrib.io.pcap._jit import kernels, wanted

__all__ = ["BLOCK_BYTES", "iter_decoded", "release"]

#: bytes read per block (a few blocks are in use at once: the one being decoded, those
#: waiting in the reader thread's queue and the one being tracked)
BLOCK_BYTES = 2 << 20
#: packets a new block has room for, per byte of block (grows when a block fills up)
_PACKETS_PER_BYTE = 1 / 256


class _Block:
    """A read buffer and the decoded arrays of its packets, reused batch after batch."""

    def __init__(self, size: int, cap: int, pool: deque[_Block]) -> None:
        self.buf = bytearray(size)
        self.a = np.frombuffer(self.buf, dtype=np.uint8)
        self.M = np.empty((cap, _nrows()), dtype=np.int64)  # a packet per row
        self.ok = np.empty(cap, dtype=bool)
        self.reason = np.empty(cap, dtype=np.int8)
        self.key = np.empty(cap, dtype=np.uint64)
        self.fwd = np.empty(cap, dtype=bool)
        self.slow = np.empty(cap, dtype=np.int64)
        self.pool = pool

    def fits(self, size: int, cap: int) -> bool:
        return len(self.buf) >= size and len(self.ok) >= cap


def release(batch: PacketBatch) -> None:
    """Hand ``batch``'s block back for reuse: neither it nor its Decoded may be used after.

    Parameters
    ----------
    batch
        A batch from :func:`iter_decoded` (others are ignored).
    """
    block = batch.owner
    if isinstance(block, _Block):
        batch.owner = None
        block.pool.append(block)


def iter_decoded(fh: IO[bytes], ctx: ReadContext,
                 reassemble: bool = True) -> Iterator[tuple[PacketBatch, Decoded]]:  # fmt: skip
    """Yield decoded packet batches of an open capture.

    Parameters
    ----------
    fh
        The decompressed capture stream, positioned at its start.
    ctx
        Read context (file name for errors, bad-record accounting).
    reassemble
        Reassemble the tunnel carriers' fragmented IPv4 datagrams (:mod:`attrib.io.pcap._frag`);
        False yields the decoded packets as they are (for tests).

    Yields
    ------
    tuple of PacketBatch and Decoded
        Packets in file order with their decoded headers. Call :func:`release` on each
        batch once done with it (and its Decoded) to let its block be reused.
    """
    if not reassemble:
        yield from _decoded(fh, ctx)
        return
    reassembler = Reassembler()  # fragmented tunnel datagrams, whole before decapsulation
    for batch, d in _decoded(fh, ctx):
        yield reassembler.apply(batch, d)


def _decoded(fh: IO[bytes], ctx: ReadContext) -> Iterator[tuple[PacketBatch, Decoded]]:
    head = fh.read(24)
    compiled = wanted(ctx) and kernels() is not None
    if not compiled or head[:4] not in PCAP_MAGICS or not hasattr(fh, "readinto"):
        for batch in batches_after(fh, head, ctx):
            yield batch, decode(batch, compiled=compiled)
        return
    yield from _walk(fh, head, ctx)


def _nrows() -> int:
    return int(kernels().NROWS)  # type: ignore[union-attr]


def _walk(fh: IO[bytes], head: bytes, ctx: ReadContext) -> Iterator[tuple[PacketBatch, Decoded]]:
    path = ctx.stats.path
    order, frac_mult, link, limit = pcap_header(head, path)
    w = kernels()
    assert w is not None  # the caller checked
    walk_decode, wirelen_at, ts_at = w.walk_decode, w.ROWS.index("wirelen"), w.ROWS.index("ts")
    big = order == ">"
    pool: deque[_Block] = deque()
    size, cap = BLOCK_BYTES, max(int(BLOCK_BYTES * _PACKETS_PER_BYTE), 64)
    rec_no, carry, at = 1, 0, 0
    last_ts: int | None = None
    prev: _Block | None = None
    while True:
        block = _take(pool, size, cap)
        if prev is not None and carry:  # the previous block's partial record (numpy copes
            block.a[:carry] = prev.a[at : at + carry]  # with the overlap if it is this block)
        n = carry + _fill(fh, block.buf, carry)
        k, pos, bad, ns = walk_decode(block.a, n, big, limit, frac_mult, link, rec_no, ICMP4,
                                      ICMP6, TUNNEL_PORTS, block.M, block.ok, block.reason,
                                      block.key, block.fwd, block.slow)  # fmt: skip
        if bad or (k and not block.M[:k, wirelen_at].all()):
            # a corrupt header or a zero-length record (junk): this block and the rest go
            # through the resynchronising reader, from this block's first record
            for batch in resume_pcap(fh, head, ctx, bytes(block.a[:n]), rec_no, last_ts):
                yield batch, decode(batch)
            return
        if k:
            last_ts = int(block.M[k - 1, ts_at] // 1_000_000_000)
        if k == len(block.ok):  # the block filled up with packets: larger arrays from now on
            cap *= 2
        if k:
            yield _batch(block, k, rec_no, ns)
            rec_no += k
        elif n == carry:  # end of file
            break
        elif n == len(block.buf):  # a record larger than the block
            size *= 2
        carry, prev, at = n - pos, block, pos
    if carry:
        ctx.bad(truncated_record(carry), rec_no)


def _take(pool: deque[_Block], size: int, cap: int) -> _Block:
    """A handed-back block big enough, else a new one."""
    while pool:
        block = pool.popleft()
        if block.fits(size, cap):
            return block
    return _Block(size, cap, pool)


def _fill(fh: IO[bytes], buf: bytearray, start: int) -> int:
    """Read into ``buf[start:]`` until it is full or the stream ends; return the bytes read."""
    view = memoryview(buf)
    got = start
    while got < len(buf):
        r = fh.readinto(view[got:])  # type: ignore[attr-defined]
        if not r:
            break
        got += r
    return got - start


def _batch(block: _Block, k: int, rec_no: int, ns: int) -> tuple[PacketBatch, Decoded]:
    row = dict(zip(kernels().ROWS, block.M[:k].T, strict=True))  # type: ignore[union-attr]
    batch = PacketBatch(buf=block.buf, offs=row["offs"], caplen=row["caplen"],  # type: ignore[arg-type]
                        wirelen=row["wirelen"], ts_ns=row["ts"], link=row["link"],
                        first_record=rec_no, owner=block)  # fmt: skip
    d = Decoded(ok=block.ok[:k], reason=block.reason[:k], key=block.key[:k], fwd=block.fwd[:k],
                frag=row["frag"], end=row["end"], ts=row["ts"], rec=row["rec"], lvl=row["lvl"],
                **{f: row[f] for f in FAST_FIELDS})  # fmt: skip
    return batch, decode_rest(batch, d, block.slow[:ns])
