r"""Zeek logs: ASCII (TSV) and JSON lines, any log type, into canonical events.

``conn`` rows become connection events; ``ssl`` (``server_name``, ``version``, ``ja3``/``ja4``/
``ja4s`` when a package added them), ``ssh`` (``hassh``, ``client``) and ``http``
(``user_agent``) rows carry their fingerprints and are merged onto their ``conn`` row by
:func:`join_by_uid`. Every other Zeek log (dns, kerberos, weird, x509, files, ...) reads too:
its ``ts``, ``uid`` and connection id are kept, the rest is dropped. ``event_type`` holds the
log type (``#path``, ``_path``/``@stream``, or inferred from the fields).

TSV honours ``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#fields``
and ``#types``, ``\\xNN`` escapes and several ``#open``/``#close`` sections per file; data lines
are parsed by Arrow in line-aligned blocks (memory bounded by the block and chunk sizes).
Rows whose field count disagrees with ``#fields`` are skipped and counted with their line.
btest's masked timestamps (``XXXXXXXXXX.XXXXXX``) are kept with a null ``ts`` and counted in
``stats.nulled["masked timestamp"]``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from attrib.errors import FormatError, InputError
from attrib.io._base import ReadContext
from attrib.io._prefetch import prefetch
from attrib.io._source import Source, open_source
from attrib.io._zeek_json import flatten, read_json_chunks
from attrib.io._zeek_logs import has_endpoints, looks_like_zeek_record, unused_reason
from attrib.io._zeek_map import APP_LOGS, SENSOR_FIELDS, field_map, infer_log_type, kind, to_frame
from attrib.io._zeek_tsv import (
    BLOCK_BYTES,
    MAX_LINE_BYTES,
    BlockResult,
    ZeekHeader,
    decode_strings,
    guarded,
    parse_block,
    split_stream,
    unescape,
)
from attrib.io._zeekjoin import JOIN_COLUMNS, join_by_uid, stream_join

__all__ = [
    "FORMATS",
    "JOIN_COLUMNS",
    "is_app_log",
    "join_by_uid",
    "read_chunks",
    "read_tsv_records",
    "sniff",
    "stream_join",
]

logger = logging.getLogger(__name__)

FORMATS = ("zeek",)

_TSV_HINT = re.compile(rb"(?m)^[ \t]*#(separator |fields\t|path\t)")
_JSON_KEYS = (b'"uid"', b'"id.orig_h"', b'"id_orig_h"', b'"_path"', b'"fuid"', b'"@stream"')


def sniff(head: bytes) -> str | None:
    """Return ``"zeek"`` for a Zeek ASCII or JSON-lines log, else ``None``.

    Parameters
    ----------
    head
        The first bytes of the (decompressed) content.

    Returns
    -------
    str or None
        ``"zeek"`` or ``None``.
    """
    if _TSV_HINT.search(head[:8192]):
        return "zeek"
    first = head.lstrip()[:65536].split(b"\n", 1)[0]
    if not first.startswith(b"{"):
        return None
    if b'"event_type"' in first and b'"timestamp"' in first:  # Suricata EVE, not Zeek
        return None
    if b'"ts"' in first and any(k in first for k in _JSON_KEYS):
        return "zeek"
    # logs without a connection id (x509, dhcp, software, stats, ...): Zeek's field layout
    try:
        rec = orjson.loads(first)  # not json: a deep line would raise RecursionError
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    try:
        return "zeek" if looks_like_zeek_record(flatten(rec)) else None
    except RecursionError:  # objects nested past flatten's bound: not a Zeek record
        return None


def read_chunks(source: Source, ctx: ReadContext, fmt: str = "zeek") -> Iterator[pd.DataFrame]:
    """Stream canonical event chunks from one Zeek log.

    Parameters
    ----------
    source
        The input file.
    ctx
        Read context (chunk size, bad-row accounting). Options ``block_bytes`` and
        ``max_line_bytes`` tune the TSV block size and the longest line accepted.
    fmt
        Always ``"zeek"``.

    Yields
    ------
    pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES`.
    """
    max_line = int(ctx.options.get("max_line_bytes", MAX_LINE_BYTES))
    block = int(ctx.options.get("block_bytes", min(BLOCK_BYTES, max(max_line // 2, 1 << 16))))
    is_json = source.head(4096).lstrip().startswith(b"{")
    with source.open() as raw:
        if is_json:
            chunks = read_json_chunks(raw, ctx, max_line)
        else:
            chunks = _TsvReader(source, ctx).run(raw, block, max_line)
        yield from guarded(str(source.path), chunks)


#: A section's column plan: log type, Zeek field -> canonical column, fields to parse, #empty_field
_Plan = tuple[str, dict[str, str], list[str], bytes]


class _TsvReader:
    """One TSV read: a parsing thread (split + Arrow parse) feeding conversion in the caller.

    Arrow releases the GIL while it parses, so block N+1 is parsed while block N is converted;
    at most ``_DEPTH`` parsed blocks wait in between (memory stays bounded).
    """

    def __init__(self, source: Source, ctx: ReadContext) -> None:
        self.path = str(source.path)
        self.ctx = ctx
        self.pending: list[BlockResult] = []
        self.rows = 0

    def run(self, raw: Any, block: int, max_line: int) -> Iterator[pd.DataFrame]:
        plan: _Plan | None = None
        for item in prefetch(self._parsed(raw, block, max_line), _DEPTH, "attrib-zeek-parse"):
            if item is None:  # a header line: the section (maybe its columns) changes
                if plan is not None:
                    yield from self.flush(plan, final=True)
                continue
            res, plan = item
            self.pending.append(res)
            self.rows += res.table.num_rows
            if self.rows >= self.ctx.chunksize:
                yield from self.flush(plan, final=False)
        if plan is not None:
            yield from self.flush(plan, final=True)

    def _parsed(
        self, raw: Any, block: int, max_line: int
    ) -> Iterator[tuple[BlockResult, _Plan] | None]:
        """Producer: header lines (as ``None``) and parsed blocks with their plan, in order."""
        header, plan = ZeekHeader(), None
        torn: tuple[int, int, int] | None = None  # a #types line that does not fit #fields
        saw_data = False
        long_lines: list[int] = []  # appended by the reading thread, reported from this one
        # reading and splitting run one more thread ahead, so the next block is read while
        # Arrow parses this one; the ring of buffers outlasts the queue (see split_stream)
        pieces = prefetch(
            split_stream(raw, long_lines.append, block, max_line, buffers=_DEPTH + 2),
            _DEPTH, "attrib-zeek-read",
        )  # fmt: skip
        for piece in pieces:
            while long_lines:
                self.ctx.bad("line too long", long_lines.pop(0))
            if piece.header is not None:
                header.apply(piece.header)
                if len(header.separator) != 1:
                    raise FormatError(
                        self.path, f"#separator {header.separator!r} is not one byte", piece.line
                    )
                if header.fields and header.types and len(header.types) != len(header.fields):
                    torn = torn or (piece.line, len(header.types), len(header.fields))
                plan = None
                yield None
                continue
            assert piece.data is not None
            saw_data = True
            plan = plan or self._plan(header, piece.line)
            if not has_endpoints(set(header.fields)):
                self.ctx.stats.unused[unused_reason(plan[0])] += _count_lines(piece.data)
                continue
            res = parse_block(
                piece.data, piece.line, header, plan[2], piece.utf8, text=not piece.backslash
            )
            res.backslash, res.paren = piece.backslash, piece.paren
            if res.bad_rows:
                expected = len(header.fields)
                self.ctx.bad(f"field count mismatch (expected {expected})", res.bad_rows[0][0],
                             count=len(res.bad_rows))  # fmt: skip
            yield res, plan
        while long_lines:
            self.ctx.bad("line too long", long_lines.pop(0))
        if torn is not None and not saw_data:  # rows would still read; none: a torn header
            line, ntypes, nfields = torn
            raise FormatError(
                self.path,
                f"#types names {ntypes} types but #fields names {nfields} fields and no "
                "rows follow (truncated header?)",
                line,
            )

    def _plan(self, h: ZeekHeader, line: int) -> _Plan:
        if not h.fields:
            raise FormatError(self.path, "data line before any #fields header", line)
        log_type = h.path or infer_log_type(set(h.fields))
        fmap = field_map(log_type, h.fields)
        keep = list(fmap) + [f for f in SENSOR_FIELDS if f in h.fields]
        return (log_type, fmap, keep, h.empty_field)

    def flush(self, plan: _Plan, final: bool) -> Iterator[pd.DataFrame]:
        if not self.pending:
            return
        size = self.ctx.chunksize
        schema = self.pending[0].table.schema
        if all(r.typed and r.table.schema.equals(schema) for r in self.pending):
            flags = (any(r.backslash for r in self.pending), any(r.paren for r in self.pending))
            table = pa.concat_tables([r.table for r in self.pending])
            self.pending, self.rows = [], 0
            start = 0
            while table.num_rows - start >= size or (final and start < table.num_rows):
                yield self._frame(plan, table.slice(start, size), *flags)
                start += size
            if start < table.num_rows:
                rest = table.slice(start)
                self.pending = [BlockResult(rest, [], True, *flags)]
                self.rows = rest.num_rows
            return
        pending, self.pending, self.rows = self.pending, [], 0
        for r in pending:
            for start in range(0, r.table.num_rows, size):
                yield self._frame(plan, r.table.slice(start, size), r.backslash, r.paren)

    def _frame(self, plan: _Plan, table: pa.Table, backslash: bool, paren: bool) -> pd.DataFrame:
        log_type, fmap, _, empty = plan
        nulled = self.ctx.stats.nulled
        cols: dict[str, pa.Array] = {}
        for zname, col in fmap.items():
            arr = table.column(zname)
            if kind(col) in ("str", "cat") and _raw_or_text(arr.type):
                arr = _strings(arr, empty, nulled, backslash, paren)
            cols[col] = arr
        sensor = None
        for sf in SENSOR_FIELDS:
            if sf in table.column_names:
                sensor = _strings(table.column(sf), empty, nulled, backslash, paren)
                break
        return to_frame(cols, table.num_rows, nulled, event_type=log_type, sensor=sensor)


def _count_lines(data: memoryview) -> int:
    """Data lines in a run of whole lines (the last one may lack its newline)."""
    n = bytes(data).count(b"\n")
    return n + (1 if len(data) and data[-1] != 10 else 0)


def _strings(
    arr: pa.Array, empty: bytes, nulled: Counter[str], backslash: bool, paren: bool
) -> pa.Array:
    out, replaced = decode_strings(arr, empty, backslash=backslash, paren=paren)
    if replaced:
        nulled["invalid utf-8 replaced"] += replaced
    return out


_DEPTH = 2


def _raw_or_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_string(t))


def read_tsv_records(data: bytes) -> list[tuple[ZeekHeader, list[dict[str, Any]]]]:
    """Decode a whole Zeek ASCII log into Python values, section by section (for small files).

    Strings are unescaped, ``#unset_field`` becomes ``None``, ``#empty_field`` an empty string
    or empty list, and ``set[...]``/``vector[...]`` fields lists. The streaming reader uses the
    same header and escaping rules; this function exists for tests and for inspecting logs.

    Parameters
    ----------
    data
        The log's bytes.

    Returns
    -------
    list of (ZeekHeader, list of dict)
        One entry per section.
    """
    out: list[tuple[ZeekHeader, list[dict[str, Any]]]] = []
    h = ZeekHeader()
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line.lstrip(b" \t").startswith(b"#"):
            line = line.lstrip(b" \t")
            if h.apply(line):
                h = ZeekHeader(h.separator, h.set_separator, h.empty_field, h.unset_field, h.path,
                               list(h.fields), [])  # fmt: skip
                out.append((h, []))
            continue
        values = line.split(h.separator)
        if not out or len(values) != len(h.fields):
            continue
        out[-1][1].append(
            {f: _decode(v, h.type_of(f), h) for f, v in zip(h.fields, values, strict=True)}
        )
    return out


def _decode(v: bytes, ztype: str, h: ZeekHeader) -> Any:
    if v == h.unset_field:
        return None
    if ztype.startswith(("set[", "vector[", "table[")):
        if v == h.empty_field:
            return []
        return [unescape(e).decode("utf-8", "replace") for e in v.split(h.set_separator)]
    if v == h.empty_field:
        return ""
    return unescape(v).decode("utf-8", "replace")


def is_app_log(path: str | Path) -> bool:
    """Whether a file's head says it is a Zeek ssl/ssh/http log (TSV ``#path`` or JSON keys).

    Parameters
    ----------
    path
        A file (plain or compressed).

    Returns
    -------
    bool
        True for a Zeek application log whose rows :func:`join_by_uid` merges onto conn rows.
    """
    try:
        head = open_source(path).head(64 * 1024).decode("utf-8", "replace")
    except InputError:
        return False
    for raw in head.splitlines()[:12]:
        line = raw.lstrip(" \t")  # blanks before a header line are tolerated (see split_stream)
        if line.startswith("#path"):
            return line.split(maxsplit=1)[-1].strip() in APP_LOGS
        if line.startswith("{"):
            try:
                rec = orjson.loads(line)
            except ValueError:
                return False
            log = rec.get("_path") or infer_log_type(set(rec))
            return "uid" in rec and log in APP_LOGS
    return False
