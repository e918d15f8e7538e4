"""The front of the pipeline: events in, origins (with enrichment and context) out.

Two ways, same result: *materialised* (the events table is kept, for notebooks and
``Analysis.events``) and *streamed* (bounded memory, for the batch CLI on large inputs; see
:mod:`attrib.pipeline._stream`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from attrib.context import OrgContext
from attrib.context.infer import complete_context
from attrib.features.direction import (
    DirectedAccumulator,
    DirectionCounts,
    PeerHosts,
    infer_direction,
    no_origins_reason,
    orient,
)
from attrib.io import ReadReport, iter_read, join_events
from attrib.pipeline._progress import byte_fraction
from attrib.pipeline._progress import progress as _progress
from attrib.pipeline._runstats import RunStats
from attrib.pipeline.options import RunOptions
from attrib.schema import conform_events, empty_events

__all__ = ["Front", "materialised_front", "streamed_front"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
_ENRICH_BATCH = 200_000
_FEATURE_CHUNK = 500_000


@dataclass
class Front:
    """Origins with enrichment and features, and what the rest of the run needs."""

    events: pd.DataFrame
    origins: pd.DataFrame
    enricher: Any
    context: OrgContext
    days: pd.DataFrame
    n_events: int
    ts_min: Any
    ts_max: Any
    #: relay-chain edges (attrib.schema.CHAIN_EDGE_COLUMNS); empty when no relay was seen
    edges: pd.DataFrame
    #: the direction used and the evidence for it (see attrib.features.direction)
    direction: str = "inbound"
    direction_counts: dict[str, int] | None = None
    direction_inferred: bool = True
    #: why there is no origin, when there is none
    no_origins_reason: str | None = None


def _in_window(
    chunk: pd.DataFrame, since: pd.Timestamp | None, until: pd.Timestamp | None
) -> pd.DataFrame:
    if since is None and until is None:
        return chunk
    keep = pd.Series(True, index=chunk.index)
    if since is not None:
        keep &= (chunk["ts"] >= since).fillna(False)
    if until is not None:
        keep &= (chunk["ts"] < until).fillna(False)
    return chunk[keep]


def _read(
    inputs: PathLike | Iterable[PathLike] | pd.DataFrame,
    report: ReadReport,
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    show: bool | None,
    read_kw: dict[str, Any] | None = None,
) -> pd.DataFrame:
    if isinstance(inputs, pd.DataFrame):  # events already read (notebooks, df.attrib)
        return _in_window(conform_events(inputs), since, until).reset_index(drop=True)
    # Chunks are parked as Arrow tables (string columns are shared, not copied) and turned
    # into one frame with self_destruct, so the concatenation never holds two copies.
    tables = []

    def win(c: pd.DataFrame) -> pd.DataFrame:
        return _in_window(c, since, until)

    chunks = iter_read(inputs, skip_unreadable=True, report=report, where=win, **(read_kw or {}))
    for c in _progress(chunks, "reading", unit="chunk", enabled=show):
        if len(c):
            tables.append(pa.Table.from_pandas(c, preserve_index=False))
        del c
    if not tables:
        return empty_events()
    table = pa.concat_tables(tables, promote_options="default")
    tables.clear()
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    return join_events(df)


def _enrich(enricher: Any, src: pd.Series, show: bool | None) -> pd.DataFrame:
    ips = pd.Series(pd.unique(src.dropna()), dtype="string")
    batches = [ips.iloc[i : i + _ENRICH_BATCH] for i in range(0, len(ips), _ENRICH_BATCH)]
    parts = [
        enricher.lookup(b)
        for b in _progress(batches, "enrichment", total=len(batches), unit="batch", enabled=show)
    ]
    out = pd.concat(parts, ignore_index=True) if parts else enricher.lookup(ips)
    from attrib.enrich.compact import release_pages

    release_pages(enricher)  # the mapped pages this batch touched are not needed any more
    return out


def _n_slices(events: pd.DataFrame) -> int:
    return max(1, -(-len(events) // _FEATURE_CHUNK))


def _slices(events: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Row slices (views) of the events, so feature building can report progress."""
    for i in range(0, max(len(events), 1), _FEATURE_CHUNK):
        yield events.iloc[i : i + _FEATURE_CHUNK]


@contextlib.contextmanager
def _step(desc: str, show: bool | None) -> Iterator[None]:
    """A one-step progress bar (or start/done log lines) around a single long call."""
    it = iter(_progress([None], desc, total=1, unit="step", enabled=show))
    next(it)
    yield
    for _ in it:
        pass


def _days(events: pd.DataFrame, ips: pd.Series) -> pd.DataFrame:
    """Per-origin, per-UTC-day event counts for the sightings store."""
    ev = events.loc[events["src_ip"].isin(ips) & events["ts"].notna(), ["src_ip", "ts"]]
    g = ev.groupby([ev["src_ip"], ev["ts"].dt.floor("D")], observed=True).size()
    return g.rename("events").rename_axis(["ip", "day"]).reset_index()


def _paths(inputs: PathLike | Iterable[PathLike]) -> list[PathLike]:
    return [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)


def _needs_inference(ctx: OrgContext) -> bool:
    return not (ctx.home_countries and ctx.services and ctx.offices and ctx.accounts is not None)


def materialised_front(
    inputs: PathLike | Iterable[PathLike] | pd.DataFrame,
    report: ReadReport,
    opts: RunOptions,
    stats: RunStats,
    sightings: Any,
) -> Front:
    """Read everything into one events table, then enrich and build origins."""
    from attrib.cluster.chains import link_chains
    from attrib.enrich import default_enricher
    from attrib.features import build_origins

    show = opts.show

    if not isinstance(inputs, pd.DataFrame):
        inputs = _paths(inputs)  # a generator is read once, below
    paths = [] if isinstance(inputs, pd.DataFrame) else inputs
    with stats.stage("read", done=byte_fraction(report, paths)) as rec:
        events = _read(inputs, report, opts.window[0], opts.window[1], show, opts.read_kw)
        rec["rows"] = len(events)
    with stats.stage("enrich") as rec:
        enricher = default_enricher(opts.geoip_dir)
        enrichment = _enrich(enricher, events["src_ip"], show)
        rec["rows"] = len(enrichment)
    ctx = complete_context(opts.context, events, enrichment)
    counts = DirectionCounts()
    counts.add(events, ctx)
    way = opts.direction or infer_direction(counts)
    raw, peers = events, None  # relay chains are linked on the connections as captured
    if way != "inbound":
        events = orient(raw, way, ctx)
        peers = PeerHosts()
        peers.add(events if way == "outbound" else events.iloc[len(raw) :])
        with stats.stage("enrich (peers)") as rec:
            enrichment = _enrich(enricher, events["src_ip"], show)
            rec["rows"] = len(enrichment)
    with stats.stage("features") as rec:
        history = sightings.history(enrichment["ip"].dropna()) if sightings is not None else None
        chunks = _progress(_slices(events), "features", total=_n_slices(events), unit="chunk",
                           enabled=show)  # fmt: skip
        origins = build_origins(chunks, enrichment, ctx, enricher=enricher, history=history)
        origins = _with_peers(origins, peers)
        rec["rows"] = len(origins)
    with stats.stage("chains") as rec:
        edges = link_chains(raw)
        rec["rows"] = len(edges)
    has_ts = len(events) and events["ts"].notna().any()
    return Front(events, origins, enricher, ctx, _days(events, origins["ip"]), len(events),
                 events["ts"].min() if has_ts else None,
                 events["ts"].max() if has_ts else None, edges, way, counts.as_dict(),
                 opts.direction is None, _why_none(origins, counts, way))  # fmt: skip


def _why_none(origins: pd.DataFrame, counts: DirectionCounts, way: str) -> str | None:
    return None if len(origins) else no_origins_reason(counts, way)


def _with_peers(origins: pd.DataFrame, peers: PeerHosts | None) -> pd.DataFrame:
    """Outbound origins get the internal hosts that reached them."""
    if peers is None:
        return origins
    return origins.merge(peers.table(), on="ip", how="left", validate="one_to_one")


def streamed_front(
    inputs: PathLike | Iterable[PathLike],
    report: ReadReport,
    opts: RunOptions,
    stats: RunStats,
    sightings: Any,
) -> Front:
    """Stream chunks into the feature accumulator; keep no events table."""
    from attrib.enrich import default_enricher
    from attrib.features import OriginAccumulator
    from attrib.pipeline._stream import (
        InferenceTally,
        StreamResult,
        chain_edges,
        stream_origins,
    )

    show = opts.show

    def win(c: pd.DataFrame) -> pd.DataFrame:
        return _in_window(c, opts.window[0], opts.window[1])

    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    enricher = default_enricher(opts.geoip_dir)
    ctx = opts.context
    tally = InferenceTally() if _needs_inference(ctx) else None

    def directed_by(c: OrgContext) -> DirectedAccumulator:
        return DirectedAccumulator(c, opts.direction, lambda: OriginAccumulator(c), StreamResult)

    directed = directed_by(ctx)
    with stats.stage("read", done=byte_fraction(report, paths)) as rec:
        rec["includes"] = "Zeek join, feature accumulation" + (
            " and context inference tally" if tally is not None else "")  # fmt: skip
        res = stream_origins(paths, report, ctx, win, show, directed, opts.read_kw, tally)
        rec["rows"] = res.events
    if tally is not None:  # inferred from the same pass; read again only if it must
        with stats.stage("context") as rec:
            sample = tally.sample()
            ctx = complete_context(opts.context, sample, _enrich(enricher, sample["src_ip"], show))
            rec["rows"] = int(sample["n"].fillna(1).sum()) if "n" in sample else len(sample)
            del sample
            rec["single_pass"] = ctx is opts.context or tally.adopt(directed, ctx)
            del tally
        if not rec["single_pass"]:
            with stats.stage("read (inferred context)") as rec:
                directed = directed_by(ctx)
                res = stream_origins(paths, ReadReport(), ctx, win, show, directed, opts.read_kw)
                rec["rows"] = res.events
    acc, seen = directed.chosen()  # the chosen direction's accumulator and what it saw
    with stats.stage("enrich") as rec:
        enrichment = _enrich(enricher, pd.Series(sorted(seen.src_ips), dtype="string"), show)
        rec["rows"] = len(enrichment)
    with stats.stage("features") as rec, _step("features", show):
        history = sightings.history(enrichment["ip"].dropna()) if sightings is not None else None
        origins = acc.result(enrichment, enricher=enricher, history=history)
        way = directed.direction
        origins = _with_peers(origins, directed.peers if way != "inbound" else None)
        rec["rows"] = len(origins)
    with stats.stage("chains") as rec:  # on the connections as captured
        edges = chain_edges(paths, res.relays(), win, show, opts.read_kw)
        rec["rows"] = len(edges)
    days = seen.day_table()
    days = days[days["ip"].isin(origins["ip"])]
    return Front(empty_events(), origins, enricher, ctx, days, res.events, seen.ts_min,
                 seen.ts_max, edges, way, directed.counts.as_dict(), opts.direction is None,
                 _why_none(origins, directed.counts, way))  # fmt: skip
