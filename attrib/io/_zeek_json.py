"""Zeek JSON-lines logs (Zeek's own JSON writer and what log shippers make of it)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import orjson
import pandas as pd
import pyarrow as pa

from attrib.io._base import ReadContext
from attrib.io._zeek_logs import has_endpoints, unused_reason
from attrib.io._zeek_map import ALIASES, BY_LOG, COMMON, SENSOR_FIELDS, infer_log_type, to_frame

__all__: list[str] = []

_TYPE_KEYS = ("_path", "@stream", "_log", "log_type")


def _json_map(log_type: str) -> dict[str, str]:
    wanted = {**COMMON, **BY_LOG.get(log_type, {})}
    out = dict(wanted)
    out.update({alias: wanted[name] for alias, name in ALIASES.items() if name in wanted})
    return out


_MAPS: dict[str, dict[str, str]] = {}


def _map_for(log_type: str) -> dict[str, str]:
    m = _MAPS.get(log_type)
    if m is None:
        m = _MAPS[log_type] = _json_map(log_type)
    return m


#: Deepest object nesting flattened: Zeek nests one or two levels (``id.orig_h``); deeper is
#: hostile or not Zeek. An explicit bound, not the interpreter's recursion limit (which depends
#: on the caller's stack and on whatever raised it).
MAX_FLATTEN_DEPTH = 64


def flatten(rec: dict[str, Any], _depth: int = 0) -> dict[str, Any]:
    """Flatten nested objects (``{"id": {"orig_h": ...}}``) into Zeek's dotted names.

    Raises
    ------
    RecursionError
        The record nests objects deeper than :data:`MAX_FLATTEN_DEPTH`.
    """
    if not any(isinstance(v, dict) for v in rec.values()):
        return rec
    if _depth >= MAX_FLATTEN_DEPTH:
        raise RecursionError(f"JSON objects nested deeper than {MAX_FLATTEN_DEPTH}")
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if isinstance(v, dict):
            for k2, v2 in flatten(v, _depth + 1).items():
                out[f"{k}.{k2}"] = v2
        else:
            out[k] = v
    return out


def iter_lines(raw: IO[bytes], ctx: ReadContext, max_line: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line)``; lines over ``max_line`` bytes are skipped and counted."""
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw, 1 << 20)
    lineno = 0
    while True:
        line = buffered.readline(max_line + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            ctx.bad("line too long", lineno)
            while line and not line.endswith(b"\n"):
                line = buffered.readline(max_line + 1)
            continue
        yield lineno, line


def parse_line(line: bytes, lineno: int, ctx: ReadContext) -> dict[str, Any] | None:
    """One JSON-lines record, flattened; ``None`` (counted) when the line is not one.

    ``orjson`` bounds the nesting (1,024 levels) and rejects lone surrogates and numbers
    that overflow a double, so any line is either a record or one counted bad row.

    Parameters
    ----------
    line
        The raw line.
    lineno
        Its 1-based number, for the bad-row report.
    ctx
        The read context.

    Returns
    -------
    dict or None
        The flattened record.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", "replace")
        ctx.stats.nulled["invalid utf-8 replaced"] += 1
    try:
        rec = orjson.loads(text)
    except ValueError:
        ctx.bad("invalid JSON", lineno)
        return None
    if not isinstance(rec, dict):
        ctx.bad("not a JSON object", lineno)
        return None
    try:
        return flatten(rec)
    except RecursionError:
        ctx.bad("JSON nested too deeply", lineno)
        return None


def read_json_chunks(raw: IO[bytes], ctx: ReadContext, max_line: int) -> Iterator[pd.DataFrame]:
    """Canonical chunks from a Zeek JSON-lines stream."""
    recs: list[dict[str, Any]] = []
    nulled = ctx.stats.nulled
    for lineno, line in iter_lines(raw, ctx, max_line):
        if not line.strip():
            continue
        rec = parse_line(line, lineno, ctx)
        if rec is None:
            continue
        if not has_endpoints(rec.keys()):  # x509, dhcp, software, ...: nothing to analyse
            ctx.stats.unused[unused_reason(_log_type(rec))] += 1
            continue
        recs.append(rec)
        if len(recs) >= ctx.chunksize:
            yield _frame(recs, nulled)
            recs = []
    if recs:
        yield _frame(recs, nulled)


_TYPE_CACHE: dict[frozenset[str], str] = {}


def _log_type(rec: dict[str, Any]) -> str:
    for k in _TYPE_KEYS:
        v = rec.get(k)
        if isinstance(v, str) and v:
            return v
    keys = frozenset(rec)
    t = _TYPE_CACHE.get(keys)
    if t is None:
        t = infer_log_type(set(keys))
        if len(_TYPE_CACHE) < 4096:
            _TYPE_CACHE[keys] = t
    return t


def scalar(v: Any) -> Any:
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, bool):
        return "T" if v else "F"
    return v


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, UnicodeError):
        return pa.array([_text(v) for v in values], pa.string())


def _text(v: Any) -> str | None:
    """``v`` as text Arrow can encode (lone surrogates replaced)."""
    if v is None:
        return None
    return str(v).encode("utf-8", "replace").decode("utf-8")


def _frame(recs: list[dict[str, Any]], nulled: Counter[str]) -> pd.DataFrame:
    n = len(recs)
    types = [_log_type(r) for r in recs]
    cols: dict[str, list[Any]] = {}
    sensors: list[Any] = [None] * n
    for i, (rec, t) in enumerate(zip(recs, types, strict=True)):
        for zname, col in _map_for(t).items():
            v = rec.get(zname)
            if v is not None:
                cols.setdefault(col, [None] * n)[i] = scalar(v)
        for sf in SENSOR_FIELDS:
            if rec.get(sf) is not None:
                sensors[i] = str(rec[sf])
                break
    arrays = {c: _column(v) for c, v in cols.items()}
    sensor = pa.array(sensors, pa.string()) if any(s is not None for s in sensors) else None
    return to_frame(arrays, n, nulled, event_type=pa.array(types, pa.string()), sensor=sensor)
