"""Log Analytics query API results: ``{"tables": [{"columns": [...], "rows": [[...], ...]}]}``.

The REST API (and scripts built on it) return query results column-wise: a list of column
descriptors, then rows as arrays. Rows are streamed one at a time with ``ijson`` events and
turned into ``{column: value}`` records, so a large result never sits in memory whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import ijson

from attrib.io._jsondepth import DepthGuard

__all__ = ["head_rows", "iter_rows"]

_TABLE = "tables.item"
_COLUMN_NAME = "tables.item.columns.item.name"
_ROW = "tables.item.rows.item"


def iter_rows(fh: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Yield ``(row_number, record)``; ``record`` is ``None`` when the row's width is wrong.

    Parameters
    ----------
    fh
        The UTF-8 byte stream of the result document.

    Yields
    ------
    tuple
        1-based row number over all tables, and the row as a mapping.

    Raises
    ------
    ijson.common.JSONError
        On a syntax error or truncation (the caller counts it).
    """
    columns: list[str] = []
    builder: Any = None
    n = 0
    for prefix, event, value in ijson.parse(DepthGuard(fh), use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == _ROW and event == "end_array":
                n += 1
                row = builder.value
                builder = None
                yield n, dict(zip(columns, row, strict=True)) if len(row) == len(columns) else None
        elif prefix == _ROW and event == "start_array":
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
        elif prefix == _TABLE and event == "start_map":
            columns = []
        elif prefix == _COLUMN_NAME and event == "string":
            columns.append(value)


def head_rows(head: bytes, limit: int) -> list[dict[str, Any]]:
    """The first complete rows of a result document's head (for sniffing).

    Parameters
    ----------
    head
        The first bytes of the document (UTF-8).
    limit
        At most this many rows.

    Returns
    -------
    list of dict
        Rows as mappings; empty if none is complete within the head.
    """
    out: list[dict[str, Any]] = []
    try:
        for _, rec in iter_rows(io.BytesIO(head)):
            if rec is not None:
                out.append(rec)
            if len(out) >= limit:
                break
    except ijson.common.JSONError:
        pass
    return out
