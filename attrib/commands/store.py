"""``attrib store info|export|prune``: look after the sightings store."""

from __future__ import annotations

import json

import click

__all__ = ["store_cmd"]


@click.group("store")
def store_cmd() -> None:
    """Inspect, export or prune a sightings store."""


@store_cmd.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--check", is_flag=True, help="Also run SQLite's integrity check.")
def info_cmd(path: str, as_json: bool, check: bool) -> None:
    """Summarise the store at PATH (read-only; safe while a run writes)."""
    from attrib.store import SightingsStore

    with SightingsStore(path, read_only=True) as s:
        if check:
            s.check()
        info = s.info()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for k, v in info.items():
        click.echo(f"{k}: {v}")


@store_cmd.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("target", type=click.Path(dir_okay=False))
def export_cmd(path: str, target: str) -> None:
    """Export the store at PATH to TARGET (.db copy, or .parquet/.csv/.ndjson history)."""
    from attrib.store import SightingsStore

    with SightingsStore(path, read_only=True) as s:
        click.echo(str(s.export(target)))


@store_cmd.command("prune")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--before", required=True, help="Forget what was last seen before this date (UTC).")
def prune_cmd(path: str, before: str) -> None:
    """Delete sightings older than --before from the store at PATH (one transaction)."""
    from pathlib import Path

    from attrib.errors import StoreError
    from attrib.store import SightingsStore

    if not Path(path).is_file():
        raise StoreError(f"{path}: no such sightings store")
    with SightingsStore(path) as s:
        n = s.prune(before)
    click.echo(", ".join(f"{v} {k}" for k, v in n.items()) + " deleted")
