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

import logging
import os
import platform
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from attrib._version import __version__
from attrib.analysis import Analysis
from attrib.context import OrgContext
from attrib.errors import ConfigError, InputError
from attrib.features.direction import DIRECTIONS
from attrib.io import ReadReport
from attrib.pipeline._front import _step, materialised_front, streamed_front
from attrib.pipeline._progress import for_run
from attrib.pipeline._runstats import RunStats
from attrib.pipeline.options import RunOptions

__all__ = ["DEFAULT_THRESHOLD", "Analysis", "analyze"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
#: Score from which an origin or cluster is *flagged* (STIX export, report counts).
DEFAULT_THRESHOLD = 0.5


def _timestamp(value: Any, name: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"--{name}: {value!r} is not a date or timestamp") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _read_kw(fmt: str | None, flow_mapping: PathLike | None) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if fmt:
        kw["format"] = fmt
    if flow_mapping is not None:
        from attrib.io.netflow import load_mapping

        # loaded here, so that a bad mapping fails before any reading
        kw["options"] = {"flow_mapping": load_mapping(os.fspath(flow_mapping))}
    return kw


_MODES = {"memory": "materialised", "stream": "streamed", "dask": "dask"}


def _cluster_scores(clusters: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """Score clusters: a cluster is as suspicious as its most suspicious member.

    One whose members share no trait is no infrastructure and gets no score (listed last).
    """
    out = clusters.copy()
    best = origins.dropna(subset=["cluster"]).groupby("cluster", observed=True)["score"].max()
    out["score"] = out["cluster"].map(best).astype("Float64")
    if "infrastructure" in out.columns:
        out["score"] = out["score"].where(out["infrastructure"].astype(bool))
    out = out.sort_values("score", ascending=False, kind="stable", na_position="last")
    return out.reset_index(drop=True)


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
    keep_events: bool = True,
    format: str | None = None,
    flow_mapping: PathLike | None = None,
    direction: str | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
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
        inferred from the data (see :mod:`attrib.context.infer`).
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
    keep_events
        Keep the events table (``Analysis.events``). False streams the inputs into the feature
        accumulator in bounded memory (what ``attrib analyze`` does); ``Analysis.events`` is
        then empty.
    format
        Force the input format instead of sniffing it (as ``attrib read --format``).
    flow_mapping
        A TOML flow mapping for generic flow exports (``format="flow"``; see
        ``data/mappings/``).
    direction
        Which side is the origin: ``"inbound"`` (public sources reaching the organisation),
        ``"outbound"`` (public peers its internal hosts reach; each origin lists those hosts
        in ``internal_hosts``) or ``"both"``; None infers it from the data and the context
        (see :mod:`attrib.features.direction`). The choice is in ``meta["direction"]``.
    engine
        ``"memory"`` (keep the events table), ``"stream"`` (bounded memory, one process) or
        ``"dask"`` (partitions read, enriched and aggregated on ``dask.distributed`` workers,
        partial states merged in a tree; needs ``attrib[dask]``); None: ``"memory"`` when
        ``keep_events`` else ``"stream"``. All three give the same origins and scores.
    scheduler
        With ``engine="dask"``: a running scheduler's address (``tcp://host:port``) whose
        workers see the input paths; None starts a LocalCluster on this machine.
    workers
        With ``engine="dask"`` and no scheduler: worker processes (default: the CPUs).

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
    if direction is not None and direction not in DIRECTIONS:
        raise ConfigError(f"--direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    engine = _engine(engine, keep_events, inputs, scheduler, workers)
    configured = _context(context)
    from attrib.report.batch import check_output_dir, recover_outputs

    if out is not None:  # fail before the heavy work, creating nothing
        check_output_dir(out)
    opts = RunOptions(
        context=configured, window=(t_since, t_until), run_id=run_id, created=created, out=out,
        model=model, geoip_dir=geoip_dir, threshold=threshold, show=progress,
        keep_events=keep_events, read_kw=_read_kw(format, flow_mapping), direction=direction,
        engine=engine, scheduler=scheduler, workers=workers,
    )  # fmt: skip
    sightings = SightingsStore(store) if store is not None else None
    if out is not None:  # finish (or undo) what a run killed mid-publish left
        committed = None if sightings is None else _committed(sightings)
        recover_outputs(out, committed)
    try:
        return _run(inputs, opts, sightings)
    finally:
        if sightings is not None:
            sightings.close()


ENGINES = ("memory", "stream", "dask")


def _engine(
    engine: str | None, keep_events: bool, inputs: Any, scheduler: str | None, workers: int | None
) -> str:
    """The engine to run: the one asked for, checked, or the one ``keep_events`` implies."""
    if isinstance(inputs, pd.DataFrame):
        if engine not in (None, "memory"):
            raise ConfigError(f"--engine {engine}: an events DataFrame runs in memory only")
        return "memory"
    if engine is None:
        engine = "memory" if keep_events else "stream"
    if engine not in ENGINES:
        raise ConfigError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if engine != "dask" and (scheduler or workers):
        raise ConfigError("--scheduler/--workers: only with --engine dask")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: {workers} (at least 1)")
    return engine


def _committed(sightings: Any) -> Any:
    def committed(run_id: str) -> bool:
        return run_id in set(sightings.runs()["run_id"])

    return committed


def _run(
    inputs: PathLike | Iterable[PathLike] | pd.DataFrame, opts: RunOptions, sightings: Any
) -> Analysis:
    from attrib.cluster import OriginClusterer, chain_clusters
    from attrib.features.token_evidence import apply_token_evidence
    from attrib.score import load_model

    stats = RunStats(progress=for_run(opts.show))
    report = ReadReport()
    show, window, model = opts.show, opts.window, opts.model
    fronts = {"memory": materialised_front, "stream": streamed_front}
    if opts.engine == "dask":
        from attrib.pipeline._dask import dask_front

        fronts["dask"] = dask_front
    front_of = fronts[opts.engine or "memory"]
    f = front_of(inputs, report, opts, stats, sightings)  # type: ignore[arg-type]
    if report.failed and not report.files:
        path, why = report.failed[0]
        raise InputError(f"no readable input: {len(report.failed)} file(s) skipped ({why})")
    origins = f.origins
    with stats.stage("cluster") as rec, _step("clustering", show):
        rec["rows_in"] = len(origins)
        clusterer = OriginClusterer().fit(origins)
        origins = origins.assign(cluster=clusterer.cluster_ids_.to_numpy())
        clusters = clusterer.clusters_
        rec["rows"] = len(clusters)
    with stats.stage("score") as rec, _step("scoring", show):
        scorer = load_model(model)
        origins = apply_token_evidence(scorer.score_origins(origins))
        origins = origins.sort_values("rank", kind="stable").reset_index(drop=True)
        clusters = _cluster_scores(clusters, origins)
        rec["rows"] = len(origins)
    chains = chain_clusters(f.edges, origins)
    if len(chains):
        clusters = pd.concat(
            [clusters, chains.astype(clusters.dtypes.to_dict())], ignore_index=True
        )
    meta = {
        "run_id": opts.run_id, "created": opts.created.isoformat(), "versions": _versions(),
        "attrib_version": __version__, "inputs": _input_list(report),
        "read": report.as_dict(), "mode": _MODES[opts.engine or "memory"],
        "window": {
            "since": window[0].isoformat() if window[0] is not None else None,
            "until": window[1].isoformat() if window[1] is not None else None,
            "start": f.ts_min, "end": f.ts_max,
        },
        "context": _context_dict(f.context), "data_version": getattr(f.enricher, "version", None),
        "enrichment": f.enricher.info(), "model_id": _model_id(scorer, model),
        "model_path": str(model) if model else None,
        "store": str(sightings.path) if sightings is not None else None,
        "threshold": opts.threshold,
        "direction": {"mode": f.direction, "inferred": f.direction_inferred,
                      "evidence": f.direction_counts},
        "counts": {
            "events": f.n_events, "origins": len(origins), "clusters": len(clusters),
            "relay_chains": len(chains), "chain_edges": len(f.edges),
            "flagged": int((origins["score"] >= opts.threshold).sum()),
        },
    }  # fmt: skip
    if f.no_origins_reason:
        meta["no_origins_reason"] = f.no_origins_reason
    analysis = Analysis(events=f.events, origins=origins, clusters=clusters, context=f.context,
                        read_report=report, meta=meta, scorer=scorer)  # fmt: skip
    _finish(analysis, f.days, stats, opts.out, sightings, opts.threshold)
    return analysis


def _finish(
    analysis: Analysis,
    days: pd.DataFrame,
    stats: RunStats,
    out: PathLike | None,
    sightings: Any,
    threshold: float,
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
            if staged is not None:  # complete: published by the next run if killed from here
                staged.ready(meta["run_id"])
            with stats.stage("store"):
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
