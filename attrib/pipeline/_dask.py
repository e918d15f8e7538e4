"""The Dask engine: read, enrich and aggregate each partition on a worker; merge; finish here.

The per-origin aggregation is a map/reduce: every partition of the input is read (Zeek join
included), oriented and folded into an :class:`attrib.features.OriginAccumulator` on a
``dask.distributed`` worker, which also enriches the addresses it saw; the partial states (one
row per origin/key, never the events) come back through a pairwise tree of merges
(:meth:`OriginAccumulator.merge` is associative and order-keeping); context inference (when
the context is incomplete), the features, clustering and scoring run on the client on the
reduced state, exactly as in the streamed engine, so the results are the same.

Partitions (:func:`partitions`): the files in one folder form one partition when the folder
holds a Zeek application log (``ssl``/``ssh``/``http``), because the ``uid`` join needs the
conn log and its application logs in one reader; otherwise every file is its own partition.
A Parquet dataset partitioned by day (``day=YYYY-MM-DD/part-*.parquet``) and Zeek's daily
folders (``2026-03-01/conn.log``, ``ssl.log``) both map to one partition per day. Workers must
see the input paths (a shared filesystem when the scheduler is remote).

Errors on workers come back as values and are raised here as the same :mod:`attrib.errors`
class and one-line message as the streamed engine; unreadable files are counted in the read
report, as there.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attrib.context import OrgContext
from attrib.context.infer import complete_context
from attrib.errors import AttribError, ConfigError
from attrib.features import OriginAccumulator
from attrib.features.direction import DirectedAccumulator
from attrib.io import ReadReport, expand_paths, iter_read
from attrib.pipeline._front import (
    Front,
    _enrich,
    _in_window,
    _needs_inference,
    _step,
    _why_none,
    _with_peers,
)
from attrib.pipeline._runstats import RunStats
from attrib.pipeline._stream import StreamResult, inference_events, stream_origins
from attrib.pipeline.options import RunOptions
from attrib.schema import empty_events

__all__ = [
    "DASK_INSTALL_HINT",
    "Seen",
    "dask_client",
    "dask_front",
    "partitions",
    "side_files",
    "tree_reduce",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
DASK_INSTALL_HINT = "the dask engine needs dask.distributed: pip install 'attrib[dask]'"
Window = Callable[[pd.DataFrame], pd.DataFrame]
#: Seconds to wait for a ``--scheduler`` before giving up.
CONNECT_TIMEOUT_S = 20


class Seen(StreamResult):
    """A :class:`StreamResult` that merges: what one partition's chunks held."""

    def merge(self, other: StreamResult) -> Seen:
        """Add another partition's addresses, day counts, size and span; return ``self``."""
        self.src_ips |= other.src_ips
        self.dst_ips |= other.dst_ips
        self.days.extend(other.days)
        if len(self.days) > 64:
            self.days = [self.day_table()]
        self.events += other.events
        for name, pick in (("ts_min", min), ("ts_max", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else
                    pick(mine, theirs))  # fmt: skip
        return self


def side_files(inputs: Iterable[PathLike], files: Iterable[str]) -> list[str]:
    """Files found in the input folders or globs that the readers pass over (side files)."""
    import glob

    kept = set(files)
    found: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            cand = sorted(f for f in p.rglob("*") if f.is_file() and not any(
                part.startswith(".") for part in f.relative_to(p).parts))  # fmt: skip
        elif not p.exists() and glob.has_magic(os.fspath(item)):
            cand = sorted(Path(m) for m in glob.glob(os.fspath(item), recursive=True))
        else:
            continue
        found.extend(str(f) for f in cand if f.is_file() and str(f) not in kept)
    return list(dict.fromkeys(found))


def partitions(inputs: Iterable[PathLike]) -> list[list[str]]:
    """Split the inputs into partitions a worker reads alone (see the module's docstring).

    Parameters
    ----------
    inputs
        Files, folders or globs.

    Returns
    -------
    list of list of str
        Partitions in reading order (the streamed engine's order of the files).
    """
    from attrib.io.zeek import is_app_log

    folders: dict[Path, list[str]] = {}
    for p in expand_paths(inputs):
        folders.setdefault(p.parent, []).append(str(p))
    out: list[list[str]] = []
    for files in folders.values():
        if any(is_app_log(f) for f in files):
            out.append(files)
        else:
            out.extend([f] for f in files)
    return out


@dataclass
class _Failure:
    """An :class:`AttribError` raised on a worker, carried back as a value (no traceback)."""

    cls: type[AttribError]
    message: str
    attrs: dict[str, Any] = field(default_factory=dict)

    def exception(self) -> AttribError:
        exc = self.cls.__new__(self.cls)
        exc.args = (self.message,)
        exc.__dict__.update(self.attrs)
        return exc


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except AttribError as exc:
            return _Failure(type(exc), str(exc), dict(vars(exc)))

    return run


def _value(x: Any) -> Any:
    if isinstance(x, _Failure):
        raise x.exception() from None
    return x


@dataclass
class _Part:
    """What a worker sends back: the partial state, its read report and its enrichment."""

    directed: DirectedAccumulator
    seen: Seen
    report: ReadReport
    enrichment: pd.DataFrame


@functools.cache
def _enricher(geoip_dir: str | None) -> Any:
    from attrib.enrich import default_enricher

    return default_enricher(geoip_dir)


def _window(opts: RunOptions) -> Window:
    return functools.partial(_in_window, since=opts.window[0], until=opts.window[1])


@_guarded
def _context_part(paths: list[str], window: Window, read_kw: dict[str, Any]) -> pd.DataFrame:
    return inference_events(paths, window, False, read_kw)


@_guarded
def _fold_part(paths: list[str], ctx: OrgContext, opts: RunOptions) -> _Part:
    report = ReadReport()
    directed = DirectedAccumulator(ctx, opts.direction, functools.partial(OriginAccumulator, ctx),
                                   Seen)  # fmt: skip
    res = stream_origins(paths, report, ctx, _window(opts), False, directed, opts.read_kw)
    seen = Seen()
    seen.merge(res)
    ips: set[str] = set()
    for _, view in directed.views.values():
        ips |= view.src_ips
    ip_in = pd.Series(sorted(ips), dtype="string")
    enr = _enricher(_geoip(opts)).lookup(ip_in) if len(ip_in) else None
    enrichment = pd.DataFrame({"_in": ip_in}) if enr is None else enr.assign(_in=ip_in)
    return _Part(directed, seen, report, enrichment)


def _geoip(opts: RunOptions) -> str | None:
    return None if opts.geoip_dir is None else os.fspath(opts.geoip_dir)


def _combine(a: Any, b: Any) -> Any:
    if isinstance(a, _Failure):
        return a
    if isinstance(b, _Failure):
        return b
    a.directed.merge(b.directed)
    a.seen.merge(b.seen)
    a.report.files.extend(b.report.files)
    a.report.failed.extend(b.report.failed)
    a.report.side.extend(s for s in b.report.side if s not in a.report.side)
    both = pd.concat([a.enrichment, b.enrichment], ignore_index=True)
    a.enrichment = both.drop_duplicates("_in", ignore_index=True)
    return a


@_guarded
def _legs_part(
    paths: list[str], relays: list[str], window: Window, read_kw: dict[str, Any]
) -> pd.DataFrame:
    at = pd.Series(relays, dtype="string")

    def touching(c: pd.DataFrame) -> pd.DataFrame:
        c = window(c)
        return c[(c["src_ip"].isin(at) | c["dst_ip"].isin(at)).fillna(False).to_numpy(bool)]

    parts = list(iter_read(paths, skip_unreadable=True, report=ReadReport(), where=touching,
                           **read_kw))  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else empty_events()


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None, n_parts: int) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler``, or on a LocalCluster of ``workers`` processes.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:port``); None: start a LocalCluster.
    workers
        LocalCluster worker processes (one thread each); default: the CPUs, at most
        ``n_parts``.
    n_parts
        The number of partitions.

    Yields
    ------
    distributed.Client
        Connected; closed (and the LocalCluster stopped) on exit.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(DASK_INSTALL_HINT) from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    n = workers or max(1, min(os.cpu_count() or 1, n_parts))
    # ":0": its HTTP server (metrics; the dashboard when bokeh is installed) on a free port,
    # not on 8787, which another cluster or service may hold
    kw = {"n_workers": n, "threads_per_worker": 1, "processes": True, "memory_limit": 0,
          "dashboard_address": ":0", "silence_logs": logging.ERROR}  # fmt: skip
    with _quiet("distributed"), LocalCluster(**kw) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """The local scheduler logs every connection at INFO; keep the run's log for the run."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


def tree_reduce(client: Any, futures: list[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine neighbouring futures pairwise, level by level, on the workers; the last value.

    Parameters
    ----------
    client
        A ``distributed.Client``.
    futures
        Futures of the partial states, in reading order (merges keep that order).
    combine
        ``combine(left, right)`` -> merged state.

    Returns
    -------
    Any
        The merged state (fetched to the client).
    """
    level = list(futures)
    while len(level) > 1:
        nxt = [client.submit(combine, level[i], level[i + 1], pure=False)
               for i in range(0, len(level) - 1, 2)]  # fmt: skip
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].result()


def _infer(client: Any, parts: list[list[str]], opts: RunOptions, enricher: Any) -> OrgContext:
    """Context inference on what every partition's inference pass kept (as the stream does)."""
    futs = client.map(_context_part, parts, window=_window(opts), read_kw=opts.read_kw,
                      pure=False)  # fmt: skip
    got = [_value(f) for f in client.gather(futs)]
    sample = pd.concat(got, ignore_index=True) if got else empty_events()
    is_id = sample["dst_ip"].isna() & sample["src_ip"].notna()
    pairs = sample.loc[~is_id, ["src_ip", "dst_ip"]].drop_duplicates()
    sample = pd.concat([sample[is_id], pairs], ignore_index=True)
    return complete_context(opts.context, sample, _enrich(enricher, sample["src_ip"], False))


def dask_front(
    inputs: PathLike | Iterable[PathLike],
    report: ReadReport,
    opts: RunOptions,
    stats: RunStats,
    sightings: Any,
) -> Front:
    """The front of the run on a Dask cluster; same :class:`Front` as the streamed engine."""
    from attrib.cluster.chains import link_chains

    show = opts.show
    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    parts = partitions(paths)
    report.side.extend(side_files(paths, (f for p in parts for f in p)))
    enricher = _enricher(_geoip(opts))
    with dask_client(opts.scheduler, opts.workers, len(parts)) as client:
        n_workers = len(client.scheduler_info().get("workers", {}))
        ctx = opts.context
        if _needs_inference(ctx):
            with stats.stage("context") as rec, _step("context (dask)", show):
                ctx = _infer(client, parts, opts, enricher)
                rec["partitions"] = len(parts)
        with stats.stage("read") as rec, _step(f"reading (dask, {len(parts)} parts)", show):
            rec["includes"] = "Zeek join, enrichment and feature accumulation on the workers"
            futs = client.map(_fold_part, parts, ctx=ctx, opts=opts, pure=False)
            part = _value(tree_reduce(client, futs, _combine))
            rec.update(rows=part.seen.events, partitions=len(parts), workers=n_workers)
        _merge_report(report, part.report)
        relays = part.seen.relays()
        with stats.stage("chains") as rec:  # on the connections as captured
            legs = _gather_legs(client, parts, relays, opts) if relays else empty_events()
            edges = link_chains(legs, relays)
            rec["rows"] = len(edges)
    directed = part.directed
    acc, seen = directed.chosen()
    with stats.stage("enrich") as rec:
        enr = part.enrichment
        enr = enr[enr["_in"].isin(seen.src_ips)].sort_values("_in", kind="stable")
        enrichment = enr.drop(columns="_in").reset_index(drop=True)
        if not len(enrichment):
            enrichment = _enrich(enricher, pd.Series([], dtype="string"), False)
        rec["rows"] = len(enrichment)
    with stats.stage("features") as rec, _step("features", show):
        history = sightings.history(enrichment["ip"].dropna()) if sightings is not None else None
        origins = acc.result(enrichment, enricher=enricher, history=history)
        way = directed.direction
        origins = _with_peers(origins, directed.peers if way != "inbound" else None)
        rec["rows"] = len(origins)
    days = seen.day_table()
    days = days[days["ip"].isin(origins["ip"])]
    return Front(empty_events(), origins, enricher, ctx, days, part.seen.events, seen.ts_min,
                 seen.ts_max, edges, way, directed.counts.as_dict(), opts.direction is None,
                 _why_none(origins, directed.counts, way))  # fmt: skip


def _gather_legs(
    client: Any, parts: list[list[str]], relays: list[str], opts: RunOptions
) -> pd.DataFrame:
    futs = client.map(_legs_part, parts, relays=relays, window=_window(opts),
                      read_kw=opts.read_kw, pure=False)  # fmt: skip
    legs = [_value(f) for f in client.gather(futs)]
    return pd.concat(legs, ignore_index=True) if legs else empty_events()


def _merge_report(into: ReadReport, part: ReadReport) -> None:
    into.files.extend(part.files)
    into.failed.extend(part.failed)
    into.side.extend(s for s in part.side if s not in into.side)
    into.join.add(part.join)
