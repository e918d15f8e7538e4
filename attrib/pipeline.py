"""``analyze()``: read -> enrich -> features -> cluster -> score -> outputs, and its result.

This module wires the stages together; what each stage does lives in the stage's own package
(:mod:`attrib.io`, :mod:`attrib.enrich`, :mod:`attrib.features`, :mod:`attrib.cluster`,
:mod:`attrib.score`, :mod:`attrib.report`, :mod:`attrib.store`). Every stage is timed and its peak
memory sampled for ``run.json``.

>>> import attrib
>>> a = attrib.analyze("data/samples/demo")  # doctest: +SKIP
>>> a.origins.head()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

import attrib.accessor  # noqa: F401  (registers DataFrame.attrib)
from attrib import __version__
from attrib._atomic import ensure_writable_dir
from attrib._progress import progress as _progress
from attrib._runstats import RunStats
from attrib.analysis import Analysis
from attrib.context import OrgContext
from attrib.errors import ConfigError
from attrib.io import ReadReport, iter_read
from attrib.pipeline_context import complete_context
from attrib.schema import conform_events, empty_events

__all__ = ["DEFAULT_THRESHOLD", "Analysis", "analyze"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
#: Score from which an origin or cluster is *flagged* (STIX export, report counts).
DEFAULT_THRESHOLD = 0.5
_ENRICH_BATCH = 200_000
_FEATURE_CHUNK = 500_000


def _timestamp(value: Any, name: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"--{name}: {value!r} is not a date or timestamp") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


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
) -> pd.DataFrame:
    if isinstance(inputs, pd.DataFrame):  # events already read (notebooks, df.attrib)
        return _in_window(conform_events(inputs), since, until).reset_index(drop=True)
    # Chunks are parked as Arrow tables (string columns are shared, not copied) and turned
    # into one frame with self_destruct, so the concatenation never holds two copies.
    tables = []
    for c in _progress(
        iter_read(inputs, skip_unreadable=True, report=report), "reading", unit="chunk",
        enabled=show,
    ):  # fmt: skip
        c = _in_window(c, since, until)
        if len(c):
            tables.append(pa.Table.from_pandas(c, preserve_index=False))
        del c
    if not tables:
        return empty_events()
    table = pa.concat_tables(tables, promote_options="default")
    tables.clear()
    df = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    return conform_events(_join_by_uid(df))


def _join_by_uid(df: pd.DataFrame) -> pd.DataFrame:
    """Zeek ssl/ssh/http rows onto their conn row (the reader contract's cross-file step)."""
    try:
        from attrib.io.zeek import join_by_uid
    except ImportError:  # pragma: no cover - the zeek reader ships with attrib
        return df
    return join_by_uid(df)


def _enrich(enricher: Any, events: pd.DataFrame, show: bool | None) -> pd.DataFrame:
    ips = pd.Series(pd.unique(events["src_ip"].dropna()), dtype="string")
    batches = [ips.iloc[i : i + _ENRICH_BATCH] for i in range(0, len(ips), _ENRICH_BATCH)]
    parts = [
        enricher.lookup(b)
        for b in _progress(batches, "enrichment", total=len(batches), unit="batch", enabled=show)
    ]
    if not parts:
        return enricher.lookup(ips)
    return pd.concat(parts, ignore_index=True)


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


def _cluster_scores(clusters: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """A cluster is as suspicious as its most suspicious member."""
    out = clusters.copy()
    best = origins.dropna(subset=["cluster"]).groupby("cluster", observed=True)["score"].max()
    out["score"] = out["cluster"].map(best).astype("Float64")
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _context(context: OrgContext | PathLike | None) -> OrgContext:
    if context is None:
        return OrgContext()
    if isinstance(context, OrgContext):
        return context
    return OrgContext.from_toml(Path(context))


def _context_dict(ctx: OrgContext) -> dict[str, Any]:
    return {
        "name": ctx.name, "home_countries": list(ctx.home_countries), "timezone": ctx.timezone,
        "work_hours": list(ctx.work_hours), "offices": [str(n) for n in ctx.offices],
        "services": [str(n) for n in ctx.services], "accounts": ctx.accounts,
        "inferred": list(ctx.inferred),
    }  # fmt: skip


def _versions() -> dict[str, str]:
    import numpy
    import pyarrow
    import sklearn

    return {"attrib": __version__, "python": platform.python_version(),
            "pandas": pd.__version__, "numpy": numpy.__version__,
            "pyarrow": pyarrow.__version__, "scikit-learn": sklearn.__version__}  # fmt: skip


def analyze(
    inputs: PathLike | Iterable[PathLike] | pd.DataFrame,
    *,
    out: PathLike | None = None,
    context: OrgContext | PathLike | None = None,
    model: PathLike | None = None,
    store: PathLike | None = None,
    since: Any = None,
    until: Any = None,
    geoip_dir: PathLike | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: bool | None = None,
    run_id: str | None = None,
) -> Analysis:
    """Analyse logs and captures: rank origins, find their infrastructure, explain why.

    Parameters
    ----------
    inputs
        Files, folders or globs of any supported format (sniffed), or an events DataFrame.
        Unreadable files are skipped and listed in ``Analysis.read_report.failed`` (and
        ``run.json``).
    out
        Folder for the batch outputs (``origins.csv``/``.parquet``, ``clusters.csv``,
        ``origins.ndjson``, ``stix.json``, ``report.html``, ``run.json``), written atomically.
    context
        The organisation's context, or a path to its TOML file; what it leaves empty is
        inferred from the data (see :mod:`attrib.pipeline_context`).
    model
        A scoring model file; default: the shipped model.
    store
        A sightings store (SQLite file): its history feeds lifetimes and first-seen, and the
        run is appended to it in one transaction.
    since, until
        Keep events with ``since <= ts < until`` (dates or timestamps; UTC unless given).
    geoip_dir
        A folder of MaxMind-format ``.mmdb`` files to use on top of the bundled data.
    threshold
        Score from which origins and clusters are flagged.
    progress
        Progress bars on (True), off (False) or on a terminal only (None).
    run_id
        Identifier of the run; generated when absent.

    Returns
    -------
    Analysis
        Events, origins, clusters, context and run metadata, with plotting and export helpers.

    Examples
    --------
    >>> a = analyze("data/samples/demo", out="out/")  # doctest: +SKIP
    >>> a.origins[["ip", "score", "cluster", "reasons"]].head()  # doctest: +SKIP
    """
    from attrib.store import SightingsStore

    created = datetime.now(UTC)
    run_id = run_id or f"{created:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    t_since, t_until = _timestamp(since, "since"), _timestamp(until, "until")
    configured = _context(context)
    if out is not None:  # fail before the heavy work
        ensure_writable_dir(out)
    sightings = SightingsStore(store) if store is not None else None
    try:
        return _run(
            inputs, out=out, configured=configured, model=model, sightings=sightings,
            since=t_since, until=t_until, geoip_dir=geoip_dir, threshold=threshold,
            show=progress, run_id=run_id, created=created,
        )  # fmt: skip
    finally:
        if sightings is not None:
            sightings.close()


def _run(
    inputs: PathLike | Iterable[PathLike] | pd.DataFrame,
    *,
    out: PathLike | None,
    configured: OrgContext,
    model: PathLike | None,
    sightings: Any,
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    geoip_dir: PathLike | None,
    threshold: float,
    show: bool | None,
    run_id: str,
    created: datetime,
) -> Analysis:
    from attrib.cluster import OriginClusterer
    from attrib.enrich import default_enricher
    from attrib.features import build_origins
    from attrib.score import load_model

    stats = RunStats()
    report = ReadReport()
    with stats.stage("read") as rec:
        events = _read(inputs, report, since, until, show)
        rec["rows"] = len(events)
    with stats.stage("enrich") as rec:
        enricher = default_enricher(geoip_dir)
        enrichment = _enrich(enricher, events, show)
        rec["rows"] = len(enrichment)
    ctx = complete_context(configured, events, enrichment)
    with stats.stage("features") as rec:
        history = sightings.history(enrichment["ip"].dropna()) if sightings is not None else None
        chunks = _progress(_slices(events), "features", total=_n_slices(events), unit="chunk",
                           enabled=show)  # fmt: skip
        origins = build_origins(chunks, enrichment, ctx, enricher=enricher, history=history)
        rec["rows"] = len(origins)
    with stats.stage("cluster") as rec, _step("clustering", show):
        clusterer = OriginClusterer().fit(origins)
        origins = origins.assign(cluster=clusterer.cluster_ids_.to_numpy())
        clusters = clusterer.clusters_
        rec["rows"] = len(clusters)
    with stats.stage("score") as rec, _step("scoring", show):
        scorer = load_model(model)
        origins = scorer.score_origins(origins)
        origins = origins.sort_values("rank", kind="stable").reset_index(drop=True)
        clusters = _cluster_scores(clusters, origins)
        rec["rows"] = len(origins)
    meta = {
        "run_id": run_id, "created": created.isoformat(), "versions": _versions(),
        "attrib_version": __version__, "inputs": _input_list(report),
        "read": report.as_dict(),
        "window": {
            "since": since.isoformat() if since is not None else None,
            "until": until.isoformat() if until is not None else None,
            "start": events["ts"].min() if len(events) else None,
            "end": events["ts"].max() if len(events) else None,
        },
        "context": _context_dict(ctx), "data_version": getattr(enricher, "version", None),
        "enrichment": enricher.info(), "model_id": _model_id(scorer, model),
        "model_path": str(model) if model else None,
        "store": str(sightings.path) if sightings is not None else None,
        "threshold": threshold,
        "counts": {
            "events": len(events), "origins": len(origins), "clusters": len(clusters),
            "flagged": int((origins["score"] >= threshold).sum()),
        },
    }  # fmt: skip
    analysis = Analysis(events=events, origins=origins, clusters=clusters, context=ctx,
                        read_report=report, meta=meta, scorer=scorer)  # fmt: skip
    _finish(analysis, stats, out, sightings, threshold)
    return analysis


def _finish(
    analysis: Analysis, stats: RunStats, out: PathLike | None, sightings: Any, threshold: float
) -> None:
    """Stage the outputs, append to the store, then publish the outputs."""
    from attrib.report.batch import stage_outputs

    meta = analysis.meta
    staged = None
    if out is not None:
        with stats.stage("outputs"):
            meta.update(stats.as_dict())
            staged = stage_outputs(out, analysis.origins, analysis.clusters, meta,
                                   threshold=threshold)  # fmt: skip
    try:
        if sightings is not None:
            with stats.stage("store"):
                days = _days(analysis.events, analysis.origins["ip"])
                sightings.append_run(meta["run_id"], analysis.origins, analysis.clusters,
                                     _store_meta(meta), days=days)  # fmt: skip
        meta.update(stats.as_dict())
        if staged is not None:
            staged.rewrite_run_json(meta)
            analysis.out = staged.out
            staged.publish()
    finally:
        if staged is not None:
            staged.discard()


def _store_meta(meta: dict[str, Any]) -> dict[str, Any]:
    keep = ("run_id", "created", "versions", "inputs", "window", "data_version", "model_id",
            "counts", "context")  # fmt: skip
    return {k: meta.get(k) for k in keep}


def _input_list(report: ReadReport) -> list[dict[str, Any]]:
    files = [{"path": f.path, "format": f.format, "rows": f.rows,
              "skipped": f.skipped_total} for f in report.files]  # fmt: skip
    return files + [{"path": p, "error": e} for p, e in report.failed]


def _model_id(scorer: Any, model: PathLike | None) -> str | None:
    for attr in ("model_id_", "model_id", "version_", "version"):
        v = getattr(scorer, attr, None)
        if isinstance(v, str) and v:
            return v
    return Path(model).name if model else None
