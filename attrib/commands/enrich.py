"""``attrib enrich``: ASN, geolocation, network type and tags for addresses."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from attrib.errors import InputError, OutputError, UnreadableFileError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["enrich_cmd"]


def _read_input(path: str, column: str | None) -> pd.Series:
    import pandas as pd

    p = Path(path)
    suffix = "".join(p.suffixes[-2:]).lower() if p.suffix == ".gz" else p.suffix.lower()
    try:
        if suffix.startswith(".parquet"):
            df = pd.read_parquet(p)
        elif suffix.startswith((".ndjson", ".jsonl")):
            df = pd.read_json(p, lines=True, dtype=False)
        elif suffix.startswith(".json"):
            df = pd.read_json(p, dtype=False)
        elif column is not None:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
        else:  # one address per line
            lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
            return pd.Series([x for x in lines if x.strip() and not x.lstrip().startswith("#")])
    except FileNotFoundError:
        raise UnreadableFileError(f"{p}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(f"{p}: cannot read: {str(exc).splitlines()[0]}") from None
    col = column or next((c for c in ("src_ip", "ip", "source.ip") if c in df.columns), None)
    if col is None or col not in df.columns:
        raise InputError(
            f"{p}: no column {column or 'ip'!r} (have {', '.join(map(str, df.columns[:12]))})"
        )
    return df[col]


def _write_records(recs: list[dict[str, Any]], fmt: str, fh: TextIO) -> None:
    """The quick path's records, written as :func:`_write` writes the frame."""
    if fmt == "csv":
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(list(recs[0]) if recs else [])
        w.writerows([["" if v is None else v for v in r.values()] for r in recs])
        return
    for r in recs:
        fh.write(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False))
        fh.write("\n")


def _quick(values: list[Any], gdir: str | None, ecs: bool) -> list[dict[str, Any]] | None:
    """A few addresses: the single-address rules over the memory-mapped bundle (no full load)."""
    from attrib._paths import default_data_dir, user_cache_dir
    from attrib.enrich.compact import quick_lookup
    from attrib.schema import ENRICH_ECS_FIELDS

    found = quick_lookup(values, geoip_dir=gdir, data_dir=default_data_dir(),
                         cache_dir=user_cache_dir())  # fmt: skip
    if found is None:
        return None
    name = (lambda c: ENRICH_ECS_FIELDS.get(c, f"attrib.{c}")) if ecs else (lambda c: c)
    return [{name(_INPUT): _text(v), **{name(k): x for k, x in r.items()}}
            for v, r in zip(values, found, strict=True)]  # fmt: skip


#: the value as given (kept beside the normalised ``ip``, so an invalid one is not lost)
_INPUT = "input"


def _text(v: Any) -> str | None:
    return None if v is None or v != v else str(v)  # v != v: NaN/NA from a file


def _write(df: pd.DataFrame, fmt: str, fh: TextIO) -> None:
    if fmt == "csv":
        df.to_csv(fh, index=False)
    elif fmt == "json":
        fh.write(df.to_json(orient="records", indent=2, force_ascii=False))
        fh.write("\n")
    else:
        for rec in json.loads(df.to_json(orient="records", force_ascii=False)):
            fh.write(
                json.dumps({k: v for k, v in rec.items() if v is not None}, ensure_ascii=False)
            )
            fh.write("\n")


@click.command("enrich")
@click.argument("ips", nargs=-1)
@click.option(
    "-i",
    "--input",
    "input_",
    type=click.Path(dir_okay=False),
    help="File of addresses (text, CSV, JSON, NDJSON, Parquet).",
)
@click.option("-c", "--column", help="Address column of --input (default src_ip/ip/source.ip).")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "ndjson"]),
    default="ndjson",
    show_default=True,
)
@click.option("-o", "--out", default="-", show_default=True, help="Output file or - for stdout.")
@click.option(
    "--geoip-dir", type=click.Path(), help="Folder of your .mmdb databases (or ATTRIB_GEOIP_DIR)."
)
@click.option("--ecs/--no-ecs", default=True, show_default=True, help="Elastic ECS field names.")
def enrich_cmd(
    ips: tuple[str, ...],
    input_: str | None,
    column: str | None,
    fmt: str,
    out: str,
    geoip_dir: str | None,
    ecs: bool,
) -> None:
    """Enrich IP addresses (arguments, --input FILE, or one per line on stdin)."""
    values: list[object] = list(ips)
    if input_:
        values += _read_input(input_, column).tolist()
    if not values:
        if sys.stdin.isatty():
            raise click.UsageError("give IP addresses, --input FILE, or pipe addresses on stdin")
        values = [x for x in sys.stdin.read().splitlines() if x.strip()]
    gdir = geoip_dir or os.environ.get("ATTRIB_GEOIP_DIR") or None
    recs = _quick(values, gdir, ecs) if fmt != "json" else None
    if recs is not None:
        emit = lambda fh: _write_records(recs, fmt, fh)  # noqa: E731
    else:
        from attrib.enrich import enrich

        res = enrich(values, geoip_dir=gdir, ecs=ecs)
        res.insert(0, f"attrib.{_INPUT}" if ecs else _INPUT, [_text(v) for v in values])
        emit = lambda fh: _write(res, fmt, fh)  # noqa: E731
    if out == "-":
        emit(sys.stdout)
        return
    from attrib._atomic import atomic_path

    try:
        with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            emit(fh)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror or exc}") from None
