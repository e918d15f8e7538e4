"""attrib's own events tables: what ``attrib read --out events.parquet|events.csv`` writes.

A table read once (a large pcap, a mapped flow export) can be analysed again without reading
the original: ``attrib analyze events.parquet``. Parquet is recognised by its magic bytes and
its columns (canonical event names, ``ts`` and ``src_ip`` among them); CSV by a header line of
canonical names only that includes ``ts``, ``src_ip`` and ``source``. Values keep their
canonical types (:data:`attrib.schema.EVENT_DTYPES`); a value that cannot take its column's type
is nulled and counted in ``FileStats.nulled``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pandas as pd

from attrib.errors import FormatError, UnknownFormatError
from attrib.io._base import ReadContext
from attrib.io._source import Source
from attrib.schema import EVENT_DTYPES, conform_events

__all__ = ["FORMATS", "read_chunks", "sniff"]

FORMATS = ("events",)
_MAGIC = b"PAR1"
_NEED = {"ts", "src_ip"}
_CSV_NEED = {"ts", "src_ip", "source"}


def sniff(head: bytes) -> str | None:
    """Return ``"events"`` for a Parquet file or an events CSV, else ``None``.

    Parameters
    ----------
    head
        The first bytes of the (decompressed) content.

    Returns
    -------
    str or None
        ``"events"`` or ``None``.
    """
    if head.startswith(_MAGIC):
        return "events"
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    names = first.decode("ascii", "replace").split(",")
    if _CSV_NEED <= set(names) and set(names) <= set(EVENT_DTYPES):
        return "events"
    return None


def read_chunks(source: Source, ctx: ReadContext, fmt: str = "events") -> Iterator[pd.DataFrame]:
    """Canonical chunks from an events table written by ``attrib read``.

    Parameters
    ----------
    source
        The input file.
    ctx
        Read context (chunk size, counters).
    fmt
        Always ``"events"``.

    Returns
    -------
    iterator of pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES`; a Parquet file that is not an
        events table is an :class:`~attrib.errors.UnknownFormatError` raised here.
    """
    if source.head(4) == _MAGIC:
        return _parquet_chunks(source, ctx)
    return _csv_chunks(source, ctx)


def _parquet_chunks(source: Source, ctx: ReadContext) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if source.compression is None:
            pf = pq.ParquetFile(source.path)
        else:
            with source.open() as fh:
                pf = pq.ParquetFile(io.BytesIO(fh.read()))
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(str(source.path), f"not a readable Parquet file ({exc})") from None
    names = set(pf.schema_arrow.names)
    if not (_NEED <= names <= set(EVENT_DTYPES)):
        raise UnknownFormatError(
            f"{source.path}: a Parquet file that is not an attrib events table "
            f"(needs canonical columns incl. ts and src_ip; has {', '.join(sorted(names)[:6])})"
        )

    def batches() -> Iterator[pd.DataFrame]:
        for b in pf.iter_batches(batch_size=ctx.chunksize):
            yield _conformed(b.to_pandas(), ctx)

    return batches()


def _csv_chunks(source: Source, ctx: ReadContext) -> Iterator[pd.DataFrame]:
    with source.open() as fh:
        header = fh.readline().decode("utf-8", "replace").lstrip("\ufeff").strip().split(",")
    dtypes = {c: _csv_dtype(c) for c in header}

    def chunks() -> Iterator[pd.DataFrame]:
        with source.open() as fh:
            reader = pd.read_csv(fh, dtype=dtypes, chunksize=ctx.chunksize, keep_default_na=False,
                                 na_values=[""], on_bad_lines="skip")  # fmt: skip
            for chunk in reader:
                yield _conformed(chunk, ctx)

    return chunks()


def _csv_dtype(col: str) -> Any:
    dt = str(EVENT_DTYPES[col])
    if dt in ("UInt16", "Int64", "Float64"):
        return "Float64"  # cast (and checked) per column in _conformed
    return "string"


def _conformed(df: pd.DataFrame, ctx: ReadContext) -> pd.DataFrame:
    """Cast column by column; values that do not fit their type are nulled and counted."""
    nulled = ctx.stats.nulled
    for col in df.columns:
        want: Any = EVENT_DTYPES[col]
        s = df[col]
        if str(s.dtype) == str(want):
            continue
        out: pd.Series[Any]
        if col == "ts":
            out = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        elif str(want) in ("UInt16", "Int64"):
            num = pd.to_numeric(s, errors="coerce").astype("Float64")
            lo, hi = (0, 65535) if str(want) == "UInt16" else (-(2**63), 2**63 - 1)
            ok = num.notna() & (num == num.round()) & (num >= lo) & (num <= hi)
            out = num.where(ok).astype(want)
        elif str(want) == "Float64":
            out = pd.to_numeric(s, errors="coerce").astype("Float64")
        elif isinstance(want, pd.CategoricalDtype):
            text = s.astype("string")
            out = text.where(text.isin(want.categories)).astype(want)
        else:
            out = s.astype("string").astype(want)
        bad = int((s.notna() & out.isna()).sum())
        if bad:
            nulled[f"invalid {col}"] += bad
        df[col] = out
    return conform_events(df.reset_index(drop=True))
