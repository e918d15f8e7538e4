"""Packet captures (pcap and pcapng) into Zeek-compatible connection events.

Part of the ``pcap`` extra. The bulk path never dissects packets with scapy: with numba, record
headers are walked, common packets decoded and Zeek's connection state machine applied by
compiled code (:mod:`attrib.io.pcap._fast`, driven by :mod:`attrib.io.pcap._table`), reading and
decoding running one block ahead in a thread; the general numpy decoder
(:mod:`attrib.io.pcap._decode`) takes every other packet, and without numba the plain-Python
tracker (:mod:`attrib.io.pcap._conn`) is used. Memory is bounded by the live connections:
connections idle past Zeek's inactivity timeouts (tcp 5 min, udp/icmp 1 min), or closed and
past its close delay, are emitted as the capture is read.

Per connection we add the originator's SYN fingerprint (``tcp_fp``, ``tcp_os``,
``tunnel_hint``), the TLS ClientHello's JA4 and SNI, the SSH client banner, the HTTP
User-Agent and handshake latencies (``rtt_syn_ms``, ``rtt_ack_ms``, ``rtt_app_ms``).
See ``docs/pcap.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attrib.errors import UnknownFormatError
from attrib.io._base import ReadContext
from attrib.io._prefetch import prefetch
from attrib.io._source import Source
from attrib.io.pcap import _jit
from attrib.io.pcap._conn import Conn, Tracker, conn_state, reassemble
from attrib.io.pcap._container import PacketBatch, is_capture
from attrib.io.pcap._decode import LINKTYPES, REASONS, Decoded
from attrib.io.pcap._read import iter_decoded, release
from attrib.io.tcpfp import guess_os, syn_traits, tunnel_hint
from attrib.io.tls import client_hellos, http_user_agent, ja4, ssh_banner, tls_start
from attrib.schema import EVENT_DTYPES, PROTOS, SOURCES, conform_events

__all__ = [
    "FIBRE_KM_PER_MS",
    "FORMATS",
    "PATH_INFLATION",
    "read_chunks",
    "rtt_distance_km",
    "sniff",
]

logger = logging.getLogger(__name__)

FORMATS = ("pcap",)
#: one-way distance light covers in optical fibre per millisecond (c / n, n ≈ 1.47-1.5)
FIBRE_KM_PER_MS = 200.0
#: default path-inflation factor between great-circle distance and the fibre path a packet takes
#: (Katz-Bassett et al. 2006 / CBG, Gueye et al. 2006: routes are typically 1.5-3x longer than
#: the geodesic; we use 2.0 for a central estimate; pass ``inflation=1`` for a hard upper bound)
PATH_INFLATION = 2.0
_PROTO = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_NOT_ERRORS = (1, 2, 7, 8, 9)
#: decoded blocks the reader thread may run ahead
_AHEAD = 2
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sniff(head: bytes) -> str | None:
    """Return ``"pcap"`` for pcap/pcapng content.

    Parameters
    ----------
    head
        Leading bytes of the (decompressed) file.

    Returns
    -------
    str or None
        The format name or None.
    """
    return "pcap" if is_capture(head) else None


def rtt_distance_km(rtt_ms: float, inflation: float = PATH_INFLATION) -> float:
    """Upper bound on the great-circle distance to a peer implied by a round-trip time.

    Parameters
    ----------
    rtt_ms
        Round-trip time in milliseconds (e.g. ``rtt_syn_ms``).
    inflation
        Path-inflation factor (fibre route length / great-circle distance); 1 gives the
        physical maximum (speed of light in fibre, straight line).

    Returns
    -------
    float
        Kilometres: ``rtt_ms / 2 * FIBRE_KM_PER_MS / inflation`` (NaN for a missing or
        negative RTT).

    Examples
    --------
    >>> rtt_distance_km(10.0, inflation=1.0)
    1000.0
    """
    if rtt_ms is None or not math.isfinite(rtt_ms) or rtt_ms < 0 or inflation <= 0:
        return math.nan
    return rtt_ms / 2.0 * FIBRE_KM_PER_MS / inflation


def read_chunks(source: Source, ctx: ReadContext, fmt: str) -> Iterator[pd.DataFrame]:
    """Read a capture into connection events.

    Parameters
    ----------
    source
        The capture file.
    ctx
        Read context.
    fmt
        ``"pcap"``.

    Yields
    ------
    pandas.DataFrame
        Connection events conforming to :data:`attrib.schema.EVENT_DTYPES`.
    """
    fast = _jit.choose(str(ctx.options.get("pcap_engine", "auto")), _size(source))
    ctx = dataclasses.replace(ctx, options={**ctx.options, "pcap_compiled": fast})
    frames = _read_fast(source, ctx) if fast else _read_reference(source, ctx)
    pending: list[pd.DataFrame] = []
    rows = 0
    for df in frames:
        pending.append(df)
        rows += len(df)
        if rows >= ctx.chunksize:
            whole = pd.concat(pending, ignore_index=True)
            for i in range(0, len(whole) - len(whole) % ctx.chunksize, ctx.chunksize):
                yield whole.iloc[i : i + ctx.chunksize].reset_index(drop=True)
            rest = whole.iloc[len(whole) - len(whole) % ctx.chunksize :]
            pending, rows = ([rest], len(rest)) if len(rest) else ([], 0)
    if pending:
        yield pd.concat(pending, ignore_index=True)
    if fast:
        _jit.note_compiled()


def _size(source: Source) -> int | None:
    """The capture's size on disk (None when it cannot be known)."""
    try:
        return int(source.path.stat().st_size)
    except (OSError, AttributeError, TypeError):
        return None


def _batches(source: Source, ctx: ReadContext) -> Iterator[tuple[PacketBatch, Decoded]]:
    skipped: Counter[str] = Counter()
    checked_link = False
    threaded = bool(ctx.options.get("pcap_threads", True))
    for batch, d in (_prefetched if threaded else _decoded)(source, ctx):
        if not checked_link:
            checked_link = True
            if not (d.reason != 1).any():
                lt = int(batch.link[0])
                # an UnknownFormatError: inside a folder the capture is skipped and named, the
                # other inputs are read
                raise UnknownFormatError(
                    f"{ctx.stats.path}: unsupported link type {lt} (decoded: "
                    f"{', '.join(f'{k} {v}' for k, v in sorted(LINKTYPES.items()))})"
                )
        _account(d.reason, d.rec, ctx, skipped)
        yield batch, d
    if skipped:
        logger.info("%s: packets not used: %s", ctx.stats.path, dict(skipped))


def _decoded(source: Source, ctx: ReadContext) -> Iterator[tuple[PacketBatch, Decoded]]:
    with source.open() as fh:
        yield from iter_decoded(fh, ctx)


def _prefetched(source: Source, ctx: ReadContext) -> Iterator[tuple[PacketBatch, Decoded]]:
    """:func:`_decoded` run ahead in a reader thread (at most :data:`_AHEAD` blocks).

    Reading, the record walk and decoding (compiled code and file reads, which release the
    GIL) overlap with connection tracking.
    """
    return prefetch(_decoded(source, ctx), _AHEAD, "attrib-pcap-reader")


def _read_fast(source: Source, ctx: ReadContext) -> Iterator[pd.DataFrame]:
    from attrib.io.pcap._table import FastTracker

    tr = FastTracker()
    sensor = source.path.name
    parts: list[dict[str, Any]] = []
    rows = 0
    for batch, d in _batches(source, ctx):
        with _gc_paused():
            out = tr.feed(batch, d)
        release(batch)  # its buffer and arrays are reused for a later block
        if out is not None:
            parts.append(out)
            rows += len(out["S"])
            if rows >= ctx.chunksize:  # one frame per chunk: pandas costs per frame, not row
                with _gc_paused():
                    whole = _frame_fast(tr.arrow(_concat(parts)), sensor)
                yield whole
                parts, rows = [], 0
    with _gc_paused():
        out = tr.flush()
        if out is not None:
            parts.append(out)
        frame = _frame_fast(tr.arrow(_concat(parts)), sensor) if parts else None
    if frame is not None:
        yield frame


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    The per-connection tuples and byte strings trigger collections whose cost grows with the
    heap (tens of ms each); none of them form cycles. The previous state is restored.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _concat(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the tracker's column parts (numpy arrays), ordered by start time."""
    from attrib.io.pcap._table import OUT

    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p["S"][:, OUT["TS0"]] for p in parts])
    order = np.argsort(ts, kind="stable")
    return {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0]}


def _read_reference(source: Source, ctx: ReadContext) -> Iterator[pd.DataFrame]:
    done: list[Conn] = []
    tracker = Tracker(done.append)
    sensor = source.path.name
    for batch, d in _batches(source, ctx):
        tracker.feed(batch, d)
        tracker.expire()
        if len(done) >= 10000:
            yield _frame(done, sensor)
            done = []
            tracker.on_finish = done.append
    tracker.flush()
    if done:
        yield _frame(done, sensor)


def _account(r: np.ndarray, rec: np.ndarray, ctx: ReadContext, skipped: Counter[str]) -> None:
    bad = np.flatnonzero(r)
    if not len(bad):
        return
    codes, counts = np.unique(r[bad], return_counts=True)
    for code, cnt in zip(codes.tolist(), counts.tolist(), strict=True):
        why = REASONS[code]
        if code in _NOT_ERRORS:  # not IP (ARP, ...), other link type or protocol, tunnels
            skipped[why] += cnt
        else:
            pos = int(np.flatnonzero(r == code)[0])
            ctx.bad(f"packet: {why}", int(rec[pos]), count=cnt)


def _uid(c: Conn) -> str:
    h = hashlib.blake2b(f"{c.orig}{c.resp}{c.proto}{c.ts0}".encode(), digest_size=12).digest()
    n = int.from_bytes(h, "big")
    out = ["C"]
    for _ in range(17):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(out)


def _ms(a: int, b: int) -> float | None:
    return (b - a) / 1e6 if a >= 0 and b >= a else None


def _row(c: Conn, sensor: str) -> dict[str, object]:
    dur_ns = c.last - c.ts0
    tcp = c.proto == 6
    if tcp:
        sizes: list[int | None] = [c.tcp_size(0), c.tcp_size(1)]
    else:
        sizes = [c.size[0], c.size[1]]
    if dur_ns <= 0:
        sizes = [None, None]
    hist = "".join(c.hist)
    if c.proto not in (6, 17):
        hist = ""
    row: dict[str, object] = {
        "ts": c.ts0, "src_ip": c.orig[0], "src_port": c.orig[1], "dst_ip": c.resp[0],
        "dst_port": c.resp[1], "proto": _PROTO.get(c.proto, "unknown_transport"),
        "duration": dur_ns / 1e9 if dur_ns > 0 else None, "bytes_out": sizes[0],
        "bytes_in": sizes[1], "pkts_out": c.pkts[0], "pkts_in": c.pkts[1],
        "ip_bytes_out": c.ipb[0], "ip_bytes_in": c.ipb[1], "conn_state": conn_state(c),
        "history": hist or None, "uid": _uid(c),
    }  # fmt: skip
    if tcp:
        _tcp_fields(c, row)
    return row


def _tcp_fields(c: Conn, row: dict[str, object]) -> None:
    if c.syn is not None:
        ipv, ttl, df, ipid, win, opts = c.syn
        t = syn_traits(ipv, ttl, df, ipid, win, opts, c.ipid2)
        row["tcp_fp"] = t.fp
        row["tcp_os"] = guess_os(t)
        row["tunnel_hint"] = tunnel_hint(t.mss, ipv)
    row["rtt_syn_ms"] = _ms(c.syn_ts, c.synack_ts)
    row["rtt_ack_ms"] = _ms(c.synack_ts, c.ack_ts)
    stream = reassemble(c)
    if not stream:
        return
    if tls_start(stream) >= 0:
        chs = client_hellos(stream)
        if chs:
            row["ja4"] = ja4(chs[0])
            row["ja4_all"] = ",".join(ja4(ch) for ch in chs)
            row["tls_sni"] = chs[0].sni
            row["service"] = "ssl"
            row["rtt_app_ms"] = _ms(c.rdata_ts, c.app_ts)
    elif (banner := ssh_banner(stream)) is not None:
        row["ssh_client"] = banner
        row["service"] = "ssh"
    elif (ua := http_user_agent(stream)) is not None:
        row["user_agent"] = ua
        row["service"] = "http"


def _frame(conns: list[Conn], sensor: str) -> pd.DataFrame:
    rows = [_row(c, sensor) for c in conns]
    df = pd.DataFrame(rows)
    df["ts"] = pd.to_datetime(df["ts"], unit="ns", utc=True)
    df["source"] = "pcap"
    df["sensor"] = sensor
    for col in ("duration", "rtt_syn_ms", "rtt_ack_ms", "rtt_app_ms"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Float64")
    return conform_events(df.sort_values("ts", kind="stable"))


def _frame_fast(out: dict[str, Any], sensor: str) -> pd.DataFrame:
    """The events frame of the tracker's columns, built directly in the canonical dtypes."""
    from attrib.io.pcap._table import OUT as C
    from attrib.io.pcap._table import TCP_TEXT

    S = out["S"]
    assert isinstance(S, np.ndarray)
    n = len(S)
    proto = S[:, C["PROTO"]]
    dur = S[:, C["LAST"]] - S[:, C["TS0"]]
    pos = dur > 0
    codes = np.full(256, PROTOS.index("unknown_transport"), dtype=np.int8)
    for k, v in _PROTO.items():
        codes[k] = PROTOS.index(v)

    def ints(col: str, dtype: type = np.int64, mask: np.ndarray | None = None) -> object:
        v: np.ndarray = S[:, C[col]].astype(dtype)
        return pd.arrays.IntegerArray(v, np.zeros(n, dtype=bool) if mask is None else mask)

    def text(a: pa.Array) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray(a)

    cols: dict[str, object] = {
        "ts": pd.to_datetime(S[:, C["TS0"]], unit="ns", utc=True),
        "src_ip": text(out["src"]), "src_port": ints("OPORT", np.uint16),
        "dst_ip": text(out["dst"]), "dst_port": ints("RPORT", np.uint16),
        "proto": _categorical(codes[np.clip(proto, 0, 255)], "proto"),
        "duration": _floats(np.where(pos, dur / 1e9, np.nan)),
        "bytes_out": ints("SZ0", mask=~pos), "bytes_in": ints("SZ1", mask=~pos),
        "pkts_out": ints("PK0"), "pkts_in": ints("PK1"),
        "ip_bytes_out": ints("IB0"), "ip_bytes_in": ints("IB1"),
        "conn_state": _categorical(S[:, C["CSTATE"]].astype(np.int8), "conn_state"),
        "history": text(out["hist"]),
        "uid": text(_uids(out["K"], S[:, C["TS0"]])),
    }  # fmt: skip
    for col in TCP_TEXT:
        cols[col] = text(out[col])
    for col in ("rtt_syn_ms", "rtt_ack_ms", "rtt_app_ms"):
        cols[col] = _floats(out[col])
    cols["source"] = _categorical(np.full(n, SOURCES.index("pcap"), dtype=np.int8), "source")
    cols["sensor"] = text(pa.repeat(pa.scalar(sensor, pa.large_string()), n))
    return conform_events(pd.DataFrame(cols, copy=False))


def _categorical(codes: np.ndarray, col: str) -> object:
    dtype = EVENT_DTYPES[col]
    assert isinstance(dtype, pd.CategoricalDtype)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _floats(a: np.ndarray) -> pd.arrays.FloatingArray:
    nan = np.isnan(a)
    return pd.arrays.FloatingArray(np.where(nan, 0.0, a), nan)


_LUT = np.frombuffer(_B62.encode(), dtype=np.uint8)


def _uids(keys: object, ts: np.ndarray) -> pa.Array:
    """Zeek-style connection ids (``C`` + 17 base-62 digits) from flow key and start time."""
    k = np.asarray(keys, dtype=np.uint64)
    h1 = (k ^ ts.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
    h1 ^= h1 >> np.uint64(31)
    h2 = (h1 + np.uint64(0x632BE59BD9B4E019)) * np.uint64(0xBF58476D1CE4E5B9)
    h2 ^= h2 >> np.uint64(27)
    digits = np.empty((len(k), 18), dtype=np.uint8)
    digits[:, 0] = ord("C")
    for part, cols in ((h1, range(1, 10)), (h2, range(10, 18))):
        v = part.copy()
        for j in cols:
            digits[:, j] = _LUT[(v % np.uint64(62)).astype(np.int64)]
            v //= np.uint64(62)
    # the digits are the string data as they lie (ASCII, 18 bytes a row): no copy
    offsets = np.arange(0, 18 * (len(k) + 1), 18, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(len(k), pa.py_buffer(offsets), pa.py_buffer(digits))
