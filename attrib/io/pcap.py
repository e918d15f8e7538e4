"""Packet captures (pcap and pcapng) into Zeek-compatible connection events.

Part of the ``pcap`` extra. The bulk path never dissects packets with scapy: record headers are
scanned with one tight loop, every header field of a batch is extracted with numpy
(:mod:`attrib.io._pcap_decode`), and a Zeek-faithful connection state machine runs per packet
over plain lists (:mod:`attrib.io._pcap_conn`). Memory is bounded by the live connections:
connections idle past Zeek's inactivity timeouts (tcp 5 min, udp/icmp 1 min) are emitted as the
capture is read.

Per connection we add the originator's SYN fingerprint (``tcp_fp``, ``tcp_os``,
``tunnel_hint``), the TLS ClientHello's JA4 and SNI, the SSH client banner, the HTTP
User-Agent and handshake latencies (``rtt_syn_ms``, ``rtt_ack_ms``, ``rtt_app_ms``).
See ``docs/pcap.md``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from collections.abc import Iterator

import pandas as pd

from attrib.errors import FormatError
from attrib.io._base import ReadContext
from attrib.io._pcap_conn import Conn, Tracker, conn_state
from attrib.io._pcap_container import is_capture, iter_batches
from attrib.io._pcap_decode import REASONS, decode
from attrib.io._source import Source
from attrib.io._tcpfp import guess_os, syn_traits, tunnel_hint
from attrib.io._tls import client_hellos, http_user_agent, ja4, ssh_banner
from attrib.schema import conform_events

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
    done: list[Conn] = []
    tracker = Tracker(done.append)
    sensor = source.path.name
    skipped: Counter[str] = Counter()
    checked_link = False
    with source.open() as fh:
        for batch in iter_batches(fh, ctx):
            d = decode(batch)
            if not checked_link:
                checked_link = True
                if not (d.reason != 1).any():
                    lt = int(batch.link[0])
                    raise FormatError(ctx.stats.path, f"unsupported link type {lt}", line=1)
            _account(d.reason, batch.first_record, ctx, skipped)
            tracker.feed(batch, d)
            tracker.expire()
            while len(done) >= ctx.chunksize:
                yield _frame(done[: ctx.chunksize], sensor)
                del done[: ctx.chunksize]
    tracker.flush()
    if skipped:
        logger.info("%s: packets not used: %s", ctx.stats.path, dict(skipped))
    for i in range(0, len(done), ctx.chunksize):
        yield _frame(done[i : i + ctx.chunksize], sensor)


def _account(reason: object, first: int, ctx: ReadContext, skipped: Counter[str]) -> None:
    import numpy as np

    r = np.asarray(reason)
    codes, counts = np.unique(r[r > 0], return_counts=True)
    for code, cnt in zip(codes.tolist(), counts.tolist(), strict=True):
        why = REASONS[code]
        if code in (1, 2):  # not IP (ARP, STP, ...) or a link type we do not decode: not errors
            skipped[why] += cnt
        else:
            pos = int(np.flatnonzero(r == code)[0])
            ctx.bad(f"packet: {why}", first + pos, count=cnt)


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


def _stream(c: Conn) -> bytes:
    """Reassemble the originator's first captured segments in sequence order."""
    if not c.opay:
        return b""
    segs = sorted(c.opay, key=lambda s: (s[0] - c.opay[0][0]) & 0xFFFFFFFF)
    base = segs[0][0]
    out = bytearray()
    for seq, data in segs:
        rel = (seq - base) & 0xFFFFFFFF
        if rel > len(out):
            break
        out += data[len(out) - rel :]
    return bytes(out)


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
    stream = _stream(c)
    if not stream:
        return
    if stream[0] == 0x16:
        chs = client_hellos(stream)
        if chs:
            row["ja4"] = ja4(chs[0])
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
