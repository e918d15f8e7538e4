"""Bounded-memory analysis input: stream chunks into the feature accumulator.

Materialising the whole events table costs ~400 bytes per row (45 canonical columns, mostly
null); a ``large`` scenario has > 10M rows before the Zeek join, more than fits in 4 GB with
the copies the join makes. The batch CLI therefore streams: chunks go straight into
:class:`attrib.features.OriginAccumulator` and only small aggregates stay in memory.

The chunks come join-complete from the readers (``iter_read(..., join=True)``: Zeek ssl/ssh/http
rows merged onto their conn row while streaming, see :func:`attrib.io.zeek.stream_join`).

Context inference reads off the same pass: while the chunks stream into the accumulator (under
the configured context), :class:`InferenceTally` keeps what inference looks at (identity rows and
connection pairs with their counts). The accumulation depends on the inferred fields (services,
offices) only through which addresses are origins and which side of the boundary an address
sits on; :meth:`InferenceTally.adopt` checks every address seen against the inferred context,
re-counts the direction evidence from the pair counts, and hands the inferred context to the
accumulators when nothing the pass did would have been different. Only when an address changes
class (e.g. an inferred service that also opened connections) does the run read again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from attrib.context import OrgContext
from attrib.io import ReadReport, iter_read
from attrib.pipeline._progress import progress as _progress
from attrib.pipeline._tally import InferenceTally
from attrib.schema import empty_events

__all__ = [
    "InferenceTally",
    "StreamResult",
    "chain_edges",
    "inference_events",
    "stream_origins",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Window = Callable[[pd.DataFrame], pd.DataFrame]
_APP = ("ssl", "ssh", "http")


@dataclass
class StreamResult:
    """What streaming produced besides the accumulator's state."""

    src_ips: set[str] = field(default_factory=set)
    #: destinations of connections (with a source): with ``src_ips``, the relay candidates
    dst_ips: set[str] = field(default_factory=set)
    days: list[pd.DataFrame] = field(default_factory=list)
    events: int = 0
    ts_min: pd.Timestamp | None = None
    ts_max: pd.Timestamp | None = None

    def note(self, chunk: pd.DataFrame) -> None:
        """Record a chunk's addresses, per-day counts, size and time span."""
        self.events += len(chunk)
        src = chunk["src_ip"].dropna()
        self.src_ips.update(pd.unique(src))
        self.dst_ips.update(pd.unique(chunk.loc[src.index, "dst_ip"].dropna()))
        ev = chunk.loc[chunk["src_ip"].notna() & chunk["ts"].notna(), ["src_ip", "ts"]]
        if len(ev):
            g = ev.groupby([ev["src_ip"], ev["ts"].dt.floor("D")], observed=True).size()
            self.days.append(g.rename("events").rename_axis(["ip", "day"]).reset_index())
            lo, hi = ev["ts"].min(), ev["ts"].max()
            self.ts_min = lo if self.ts_min is None else min(self.ts_min, lo)
            self.ts_max = hi if self.ts_max is None else max(self.ts_max, hi)

    def relays(self) -> list[str]:
        """Addresses that both opened and received connections (see ``find_relays``)."""
        return sorted(str(ip) for ip in self.src_ips & self.dst_ips)

    def day_table(self) -> pd.DataFrame:
        """Per-origin, per-UTC-day event counts."""
        if not self.days:
            return pd.DataFrame({"ip": [], "day": [], "events": []})
        d = pd.concat(self.days, ignore_index=True)
        g = d.groupby(["ip", "day"], observed=True)["events"].sum()
        return g.reset_index()


def _chunks(
    inputs: Iterable[PathLike],
    report: ReadReport,
    desc: str,
    show: bool | None,
    where: Window,
    join: bool = False,
    read_kw: dict[str, Any] | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of every input; ``read_kw``: ``format`` and ``options`` for :func:`iter_read`."""
    chunks = iter_read(list(inputs), skip_unreadable=True, report=report, where=where, join=join,
                       **(read_kw or {}))  # fmt: skip
    yield from _progress(chunks, desc, unit="chunk", enabled=show)


def inference_events(
    inputs: Iterable[PathLike],
    window: Window,
    show: bool | None,
    read_kw: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One reading pass keeping what context inference looks at, in bounded memory.

    Identity rows (``src_ip``, ``user``, ``outcome``; no destination) are kept whole, since
    inference counts them; connections are reduced to distinct (source, destination) pairs.

    Parameters
    ----------
    inputs
        The analysis inputs.
    window
        The ``--since``/``--until`` filter.
    show
        Progress bars.
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read` (``--format``,
        ``--flow-mapping``).

    Returns
    -------
    pandas.DataFrame
        Events with ``src_ip``, ``dst_ip``, ``user``, ``outcome``.
    """
    ident, pairs = [], []
    cols = ["src_ip", "dst_ip", "user", "outcome"]
    for c in _chunks(inputs, ReadReport(), "reading (context)", show, window, read_kw=read_kw):
        c = c[cols]
        is_id = c["dst_ip"].isna() & c["src_ip"].notna()
        ident.append(c[is_id])
        pairs.append(c.loc[~is_id & c["dst_ip"].notna(), ["src_ip", "dst_ip"]].drop_duplicates())
    parts = ident + ([pd.concat(pairs).drop_duplicates()] if pairs else [])
    if not parts:
        return empty_events()
    return pd.concat(parts, ignore_index=True)


def stream_origins(
    inputs: Iterable[PathLike],
    report: ReadReport,
    context: OrgContext,
    window: Window,
    show: bool | None,
    accumulator: Any,
    read_kw: dict[str, Any] | None = None,
    tally: InferenceTally | None = None,
) -> StreamResult:
    """Read every input once, join-complete, into ``accumulator``.

    Parameters
    ----------
    inputs
        Files, folders or globs.
    report
        Receives rows read/skipped per file and unreadable files.
    context
        The organisation (for logging only; the accumulator holds its own).
    window
        The ``--since``/``--until`` filter.
    show
        Progress bars.
    accumulator
        An :class:`attrib.features.OriginAccumulator` (``update(chunk)``).
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read`.
    tally
        Also keeps what context inference needs (see :class:`InferenceTally`), or None.

    Returns
    -------
    StreamResult
        Source addresses, per-day counts, event count and time span.
    """
    res = StreamResult()
    for c in _chunks(inputs, report, "reading", show, window, join=True, read_kw=read_kw):
        if tally is not None:
            tally.add(c)
        accumulator.update(c)
        res.note(c)
    logger.info("%s: %d events read", context.name, res.events)
    return res


def chain_edges(
    inputs: Iterable[PathLike],
    relays: list[str],
    window: Window,
    show: bool | None,
    read_kw: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Relay-chain edges at ``relays``: one more reading pass keeping only their connections.

    ``inputs``, ``window``, ``show`` and ``read_kw`` are as for :func:`inference_events`;
    ``relays`` are the candidates (:meth:`StreamResult.relays`); no pass is made without one.

    Returns
    -------
    pandas.DataFrame
        :data:`attrib.schema.CHAIN_EDGE_COLUMNS`.
    """
    from attrib.cluster.chains import link_chains

    if not relays:
        return link_chains(empty_events(), [])
    at = pd.Series(relays, dtype="string")

    def touching(c: pd.DataFrame) -> pd.DataFrame:
        c = window(c)
        return c[(c["src_ip"].isin(at) | c["dst_ip"].isin(at)).fillna(False).to_numpy(bool)]

    parts = list(_chunks(inputs, ReadReport(), "reading (relay chains)", show, touching,
                         read_kw=read_kw))  # fmt: skip
    legs = pd.concat(parts, ignore_index=True) if parts else empty_events()
    return link_chains(legs, relays)
