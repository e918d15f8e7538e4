"""``attrib analyze``: the batch run."""

from __future__ import annotations

import json

import click

__all__ = ["analyze_cmd"]


@click.command("analyze")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder.")
@click.option("-c", "--config", type=click.Path(dir_okay=False),
              help="Organisation context (TOML); inferred from the data when absent.")  # fmt: skip
@click.option("--since", help="Only events at or after this date/time (UTC).")
@click.option("--until", help="Only events before this date/time (UTC).")
@click.option("--model", type=click.Path(dir_okay=False), help="Scoring model file.")
@click.option("--store", type=click.Path(dir_okay=False),
              help="Sightings store (SQLite) for history across runs.")  # fmt: skip
@click.option("--geoip-dir", type=click.Path(file_okay=False),
              help="Folder of MaxMind .mmdb files (on top of the bundled data).")  # fmt: skip
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Score from which origins are flagged.")  # fmt: skip
@click.option("-f", "--format", "fmt", default=None,
              help="Force the input format (as for read; e.g. flow, events).")  # fmt: skip
@click.option("--flow-mapping", type=click.Path(exists=True, dir_okay=False),
              help="TOML mapping for generic flow CSV/JSON exports (data/mappings/).")  # fmt: skip
@click.option("--direction", type=click.Choice(["inbound", "outbound", "both"]), default=None,
              help="Origins are the public sources reaching the organisation (inbound), the "
                   "public peers its internal hosts reach (outbound), or both; default: "
                   "inferred from the data and the context.")  # fmt: skip
@click.option(
    "--engine",
    type=click.Choice(["stream", "memory", "dask"]),
    default="stream",
    show_default=True,
    help="stream: one process, bounded memory; memory: keep the events table; dask: "
    "partitions on dask.distributed workers (pip install 'attrib[dask]').",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="With --engine dask: a running scheduler (default: a local cluster).",
)
@click.option("--workers", type=click.IntRange(min=1),
              help="With --engine dask and no --scheduler: local worker processes "
                   "(default: the CPUs).")  # fmt: skip
@click.option("--top", default=10, show_default=True, help="Origins in the printed summary.")
@click.option("--json", "as_json", is_flag=True, help="Print run.json instead of the summary.")
@click.option("--progress/--no-progress", default=None,
              help="A progress line per stage on stderr (default: on a terminal).")  # fmt: skip
def analyze_cmd(
    inputs: tuple[str, ...],
    out: str | None,
    config: str | None,
    since: str | None,
    until: str | None,
    model: str | None,
    store: str | None,
    geoip_dir: str | None,
    threshold: float,
    fmt: str | None,
    flow_mapping: str | None,
    direction: str | None,
    engine: str,
    scheduler: str | None,
    workers: int | None,
    top: int,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Analyse INPUTS (files, folders, globs; any supported format) and rank the origins.

    With --out, writes origins.csv/.parquet, clusters.csv, origins.ndjson (ECS), stix.json
    (STIX 2.1), report.html and run.json into the folder, atomically. Inputs may also be
    what `attrib read --out` wrote (events .parquet or .csv).
    """
    from attrib.enrich.compact import ensure_compact

    ensure_compact()  # a first run on this machine compiles it here, before the heavy imports
    from attrib.pipeline import analyze

    result = analyze(
        list(inputs), out=out, context=config, model=model, store=store, since=since,
        until=until, geoip_dir=geoip_dir, threshold=threshold, keep_events=False, format=fmt,
        flow_mapping=flow_mapping, direction=direction, progress=progress, engine=engine,
        scheduler=scheduler, workers=workers,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result.meta, indent=2, default=str))
        return
    click.echo(result.summary(top))
