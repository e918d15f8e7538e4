"""``attrib read``: read inputs into the canonical events table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attrib._atomic import write_table
from attrib.errors import OutputError
from attrib.io import DEFAULT_MAX_BAD_ROWS, ReadReport, read
from attrib.pipeline import byte_fraction, for_run

__all__ = ["read_cmd"]


@click.command("read")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Output .parquet or .csv.")
@click.option("-f", "--format", "fmt", default=None, help="Force the input format.")
@click.option(
    "--max-bad-rows",
    default=DEFAULT_MAX_BAD_ROWS,
    show_default=True,
    help="Skipped rows allowed per file before the read fails.",
)
@click.option(
    "--flow-mapping",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML mapping for generic flow CSV/JSON exports.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the read summary as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="A progress line on stderr (default: on a terminal).")  # fmt: skip
def read_cmd(
    inputs: tuple[str, ...],
    out: str | None,
    fmt: str | None,
    max_bad_rows: int,
    flow_mapping: str | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Read INPUTS (files, folders, globs; any supported format) into canonical events."""
    if out and Path(out).suffix.lower() not in (".parquet", ".csv"):
        raise OutputError(f"{out}: --out must end in .parquet or .csv")
    report = ReadReport()
    options = {"flow_mapping": flow_mapping} if flow_mapping else {}
    bar = for_run(progress)  # elapsed time and share of the input bytes done
    if bar is not None:
        bar.start("read", byte_fraction(report, inputs))
    try:
        df = read(list(inputs), fmt, max_bad_rows=max_bad_rows, report=report, options=options)
    finally:
        if bar is not None:
            bar.finish(report.rows)
    if out:
        write_table(df, out)
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "out": out}, indent=2))
        return
    for f in report.files:
        line = f"{f.path}: {f.format}, {f.rows} rows"
        if f.skipped_total:
            reasons = ", ".join(f"{k}: {v}" for k, v in f.skipped.most_common())
            line += f", {f.skipped_total} skipped ({reasons})"
        if f.nulled:
            line += ", " + ", ".join(f"{v} {k}" for k, v in f.nulled.items())
        if f.unused:
            line += ", not used: " + ", ".join(f"{v} rows ({k})" for k, v in f.unused.items())
        click.echo(line)
    for path, why in report.failed:
        click.echo(f"skipped file {path}: {why.removeprefix(path + ': ')}", err=True)
    files = f", {len(report.failed)} file(s) not read" if report.failed else ""
    click.echo(
        f"total: {report.rows} rows, {report.skipped} skipped{files}"
        + (f" -> {out}" if out else "")
    )
    if not out and not df.empty:
        click.echo(df.dropna(axis=1, how="all").head(20).to_string())
