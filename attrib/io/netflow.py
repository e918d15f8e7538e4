"""Flow exports: nfdump CSV (``nfdump -o csv``) and generic flow CSV/JSON through a TOML mapping.

nfdump's columns have fixed meanings (see :data:`attrib.io._flow_mapping.NFDUMP`); its summary
trailer (``Summary`` and the totals after the data) is recognised and not counted as bad rows.
Any other flow export (Argus ``ra -c ,``, goflow2 JSON, vendor CSV) is read with a mapping
file naming which of its columns holds each canonical column: ``--format flow --flow-mapping
FILE`` (``options={"flow_mapping": FILE}`` in Python). Examples ship in ``data/mappings/``.

A generic table cannot be recognised reliably from its content, so ``flow`` is sniffed for any
text table no other reader claims (this module is last in the sniffing order) and reading it
without a mapping fails with a one-line hint.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, cast

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from attrib.errors import FormatError, UnknownFormatError
from attrib.io._base import ReadContext, utc_ns
from attrib.io._flow_mapping import NFDUMP, FlowMapping, load_mapping, mapping_from_dict, sources
from attrib.io._source import Source
from attrib.io._zeek_json import iter_lines, parse_line, scalar
from attrib.io._zeek_map import to_frame, to_ts
from attrib.io._zeek_tsv import MAX_LINE_BYTES, guarded, parse_pool, split_stream

__all__ = ["FORMATS", "NFDUMP_COLUMNS", "load_mapping", "read_chunks", "sniff"]

FORMATS = ("nfdump", "flow")
#: The leading columns of ``nfdump -o csv`` output (1.6 and 1.7).
NFDUMP_COLUMNS = ("ts", "te", "td", "sa", "da", "sp", "dp", "pr")

_BLOCK = 8 << 20
_NAME = re.compile(rb'^\s*"?[A-Za-z_@][\w.@/()\-]*(?: [\w.@/()\-]+){0,2}(?<!\.)"?\s*$')
_PROTO_NUM = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
_PROTO_NAME = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmp6": "icmp", "icmpv6": "icmp",
               "ipv6-icmp": "icmp"}  # fmt: skip
_NS_PER = {"ms": 1_000_000, "us": 1_000, "ns": 1}
_MAX_DURATION_S = 1e8  # about three years: longer is a counter wrap, not a flow


def sniff(head: bytes) -> str | None:
    """Return ``"nfdump"`` for nfdump CSV, ``"flow"`` for another unclaimed text table, else None.

    Parameters
    ----------
    head
        The first bytes of the (decompressed) content.

    Returns
    -------
    str or None
        A format name.
    """
    if b"\x00" in head[:4096]:
        return None
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0].rstrip(b"\r")
    names = first.split(b",")
    if tuple(n.decode("ascii", "replace") for n in names[: len(NFDUMP_COLUMNS)]) == NFDUMP_COLUMNS:
        return "nfdump"
    if first.startswith(b"{"):
        try:
            return "flow" if isinstance(orjson.loads(first), dict) else None
        except ValueError:
            return None
    for delim in (b",", b"\t", b";", b"|"):
        cols = first.split(delim)
        if len(cols) >= 3 and all(_NAME.match(c) for c in cols):
            return "flow"
    return None


def read_chunks(source: Source, ctx: ReadContext, fmt: str) -> Iterator[pd.DataFrame]:
    """Stream canonical event chunks from an nfdump CSV or a mapped flow export.

    Parameters
    ----------
    source
        The input file.
    ctx
        Read context; ``ctx.options["flow_mapping"]`` (a path, a dict or a ``FlowMapping``)
        is required for ``fmt == "flow"``.
    fmt
        ``"nfdump"`` or ``"flow"``.

    Returns
    -------
    iterator of pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES` (a missing mapping is an
        :class:`~attrib.errors.UnknownFormatError` raised here, before any chunk).
    """
    mapping = NFDUMP if fmt == "nfdump" else _mapping(source, ctx)
    return _chunks(source, ctx, fmt, mapping)


def _chunks(
    source: Source, ctx: ReadContext, fmt: str, mapping: FlowMapping
) -> Iterator[pd.DataFrame]:
    max_line = int(ctx.options.get("max_line_bytes", MAX_LINE_BYTES))
    with source.open() as raw:
        if mapping.format == "json":
            chunks = _json_chunks(raw, ctx, mapping, fmt, max_line)
        else:
            chunks = _csv_chunks(raw, source, ctx, mapping, fmt, max_line)
        yield from guarded(str(source.path), chunks)


def _mapping(source: Source, ctx: ReadContext) -> FlowMapping:
    m = ctx.options.get("flow_mapping")
    if m is None:  # raised before reading, so a folder read skips the file with this reason
        raise UnknownFormatError(
            f"{source.path}: a table no reader recognises (a generic flow export needs a "
            "mapping: --format flow --flow-mapping FILE; examples in data/mappings/, see "
            "docs/formats.md)"
        )
    if isinstance(m, FlowMapping):
        return m
    if isinstance(m, dict):
        return mapping_from_dict(m)
    return load_mapping(m)


# --- CSV --------------------------------------------------------------------------------------


def _csv_chunks(
    raw: Any, source: Source, ctx: ReadContext, m: FlowMapping, fmt: str, max_line: int
) -> Iterator[pd.DataFrame]:
    path = str(source.path)
    names: list[str] | None = None
    pending: list[pa.Table] = []
    rows = 0

    def long_line(line: int) -> None:
        ctx.bad("line too long", line)

    for piece in split_stream(raw, long_line, _BLOCK, max_line):
        if piece.data is None:
            continue  # "#" comment lines
        data, first = bytes(piece.data), piece.line
        if names is None:
            head, _, data = data.partition(b"\n")
            names, m = _header(head, m, path)
            first += 1
        cut = _trailer_at(data) if fmt == "nfdump" else -1
        if cut >= 0:
            data = data[:cut]
        if data.strip():
            if not data.isascii():
                data = _utf8_or_replaced(data, ctx)
            data = _blank_unbalanced(data, first, ctx)
        if data.strip():  # (a block of nothing but stray quotes is blank now)
            table = _parse_csv(data, first, names, m, ctx)
            pending.append(table)
            rows += table.num_rows
        if rows >= ctx.chunksize:
            yield from _emit(pending, ctx, m, fmt, final=False)
            rows = sum(t.num_rows for t in pending)
        if cut >= 0:
            break
    if names is None:
        raise FormatError(path, "no header line (empty file?)", 1)
    yield from _emit(pending, ctx, m, fmt, final=True)


def _header(line: bytes, m: FlowMapping, path: str) -> tuple[list[str], FlowMapping]:
    """Column names of the header line, and the mapping restricted to the columns present."""
    text = line.rstrip(b"\r").decode("utf-8", "replace").lstrip("\ufeff")
    names = [n.strip().strip('"') for n in text.split(m.delimiter)]
    required = m.columns if m.required is None else {c: m.columns[c] for c in m.required}
    missing = [s for v in required.values() for s in sources(v) if s not in names]
    if missing:
        raise FormatError(
            path, f"column(s) {', '.join(missing)} of mapping {m.name!r} not in the header", 1
        )
    present = {c: v for c, v in m.columns.items() if all(s in names for s in sources(v))}
    return names, replace(m, columns=present)


def _utf8_or_replaced(data: bytes, ctx: ReadContext) -> bytes:
    """Valid UTF-8 as is; otherwise invalid bytes become U+FFFD, counted per line.

    (Arrow cannot hand a non-UTF-8 malformed row to its invalid-row handler.)
    """
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    out = []
    for line in data.split(b"\n"):
        try:
            line.decode("utf-8")
            out.append(line)
        except UnicodeDecodeError:
            ctx.stats.nulled["invalid utf-8 replaced"] += 1
            out.append(line.decode("utf-8", "replace").encode("utf-8"))
    return b"\n".join(out)


def _blank_unbalanced(data: bytes, first_line: int, ctx: ReadContext) -> bytes:
    """Blank (and count) lines with an odd number of ``"``, so a stray quote costs its line.

    Flow exports are line-oriented (no value spans lines); left alone, Arrow's parser would
    run the open quote over every following line and count them all as one bad row.
    """
    if b'"' not in data:
        return data
    lines = data.split(b"\n")
    bad = [i for i, line in enumerate(lines) if line.count(b'"') & 1]
    if not bad:
        return data
    for i in bad:
        lines[i] = b""
    ctx.bad("unbalanced quote", first_line + bad[0], count=len(bad))
    return b"\n".join(lines)


def _trailer_at(data: bytes) -> int:
    """Offset of nfdump's summary trailer (``Summary`` line) in a block, or -1."""
    if data.startswith(b"Summary"):
        return 0
    i = data.find(b"\nSummary")
    return i + 1 if i >= 0 else -1


def _parse_csv(
    data: bytes, first_line: int, names: list[str], m: FlowMapping, ctx: ReadContext
) -> pa.Table:
    bad: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is not None:
            bad.append(first_line + row.number - 1)
        else:
            at = data.find(row.text.encode("utf-8", "surrogateescape"))
            bad.append(first_line + data.count(b"\n", 0, max(at, 0)))
        return "skip"

    keep = sorted({s for v in m.columns.values() for s in sources(v)})
    table = pacsv.read_csv(
        pa.BufferReader(data),
        pacsv.ReadOptions(column_names=names, block_size=max(len(data) + 1, 1 << 20)),
        pacsv.ParseOptions(delimiter=m.delimiter, quote_char='"', invalid_row_handler=on_invalid),
        pacsv.ConvertOptions(
            column_types=dict.fromkeys(keep, pa.binary()),
            include_columns=keep,
            null_values=[""],
            strings_can_be_null=True,
            check_utf8=False,
        ),
        memory_pool=parse_pool(),
    )
    if bad:
        ctx.bad(f"field count mismatch (expected {len(names)})", min(bad), count=len(bad))
    return table


def _emit(
    pending: list[pa.Table], ctx: ReadContext, m: FlowMapping, fmt: str, final: bool
) -> Iterator[pd.DataFrame]:
    if not pending:
        return
    table = pa.concat_tables(pending)
    pending.clear()
    size, start = ctx.chunksize, 0
    while table.num_rows - start >= size or (final and start < table.num_rows):
        part = table.slice(start, size)
        cols = {c: _mapped(v, functools.partial(_column, part)) for c, v in m.columns.items()}
        yield _frame(cols, part.num_rows, ctx.stats.nulled, m, fmt)
        start += size
    if start < table.num_rows:
        pending.append(table.slice(start))


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


# --- JSON lines -------------------------------------------------------------------------------


def _json_chunks(
    raw: Any, ctx: ReadContext, m: FlowMapping, fmt: str, max_line: int
) -> Iterator[pd.DataFrame]:
    recs: list[dict[str, Any]] = []
    for lineno, line in iter_lines(raw, ctx, max_line):
        if not line.strip():
            continue
        rec = parse_line(line, lineno, ctx)
        if rec is None:
            continue
        recs.append(rec)
        if len(recs) >= ctx.chunksize:
            yield _json_frame(recs, ctx, m, fmt)
            recs = []
    if recs:
        yield _json_frame(recs, ctx, m, fmt)


def _json_frame(
    recs: list[dict[str, Any]], ctx: ReadContext, m: FlowMapping, fmt: str
) -> pd.DataFrame:
    def column(src: str) -> pa.Array:
        vals = [scalar(r.get(src)) for r in recs]
        try:
            return pa.array(vals)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            return pa.array([None if v is None else str(v) for v in vals], pa.string())

    cols = {col: _mapped(v, column) for col, v in m.columns.items()}
    return _frame(cols, len(recs), ctx.stats.nulled, m, fmt)


def _mapped(value: str, column: Callable[[str], pa.Array]) -> pa.Array:
    """One mapped column: an export column, or the difference of two (``"A - B"``)."""
    names = sources(value)
    if len(names) == 1:
        return column(names[0])
    diff = pc.subtract(_number(column(names[0])), _number(column(names[1])))
    return pc.if_else(pc.fill_null(pc.less(diff, 0), False), pa.nulls(len(diff), diff.type), diff)


# --- mapped columns -> canonical ----------------------------------------------------------------


def _frame(
    cols: dict[str, pa.Array], n: int, nulled: Counter[str], m: FlowMapping, fmt: str
) -> pd.DataFrame:
    ts = _time(cols.pop("ts"), m, nulled) if "ts" in cols else None
    end = _time(cols.pop("ts_end"), m, nulled) if "ts_end" in cols else None
    if "duration" in cols:
        dur = _duration(cols.pop("duration"), m.duration_scale, nulled)
    elif ts is not None and end is not None:
        dur = _check_duration((end - ts).dt.total_seconds().astype("Float64"), nulled)
    else:
        dur = None
    if "proto" in cols:
        cols["proto"] = _proto(cols["proto"])
    for c in ("src_ip", "dst_ip"):
        if c in cols:
            cols[c] = _addresses(cols[c], c, nulled)
    for c in ("src_port", "dst_port"):
        if c in cols and not (pa.types.is_integer(cols[c].type) or pa.types.is_null(cols[c].type)):
            cols[c] = _ports(cols[c])
    if fmt == "nfdump":
        _null_unexported_reverse(cols)
    sensor = cols.pop("sensor", None)
    df = to_frame(cols, n, nulled, event_type="flow", sensor=sensor, source=fmt)
    if ts is not None:
        df["ts"] = ts.reset_index(drop=True)
    if dur is not None:
        df["duration"] = dur.reset_index(drop=True)
    return df


def _text(arr: pa.Array | None) -> pa.Array | None:
    if arr is None:
        return None
    if pa.types.is_binary(arr.type):
        return pa.array(
            [None if v is None else v.decode("utf-8", "replace") for v in arr.to_pylist()],
            pa.string(),
        )
    return arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr


def _time(arr: pa.Array, m: FlowMapping, nulled: Counter[str]) -> pd.Series:
    if m.ts_format and m.ts_format.lower() != "iso8601":
        text = _objects(arr)
        out = pd.to_datetime(text, format=m.ts_format, utc=True, errors="coerce")
        bad = int((text.notna() & out.isna()).sum())
        if bad:
            nulled["invalid timestamp"] += bad
        return utc_ns(out)
    if m.ts_unit and m.ts_unit != "s":
        if pa.types.is_integer(arr.type):  # exact integer arithmetic down to nanoseconds
            ns = pc.multiply(arr.cast(pa.int64()), _NS_PER[m.ts_unit])
            ts = ns.cast(pa.timestamp("ns", tz="UTC"))
            return pd.Series(ts.to_pandas(), dtype="datetime64[ns, UTC]")
        num = _number(arr)
        return to_ts(pc.multiply(num, m.ts_scale), nulled)
    if pa.types.is_binary(arr.type):
        arr = _text(arr)
    return to_ts(arr, nulled)


def _objects(arr: pa.Array) -> pd.Series:
    text = _text(arr)
    assert text is not None
    return pd.Series(text.to_pandas(), dtype=cast(Any, object))


def _number(arr: pa.Array) -> pa.Array:
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return arr.cast(pa.float64(), safe=False)
    text = _objects(arr)
    return pa.array(pd.to_numeric(text, errors="coerce").astype("float64"), from_pandas=True)


def _duration(arr: pa.Array, scale: float, nulled: Counter[str]) -> pd.Series:
    num = _number(arr)
    raw_valid = pc.is_valid(arr)
    nbad = int(pc.sum(pc.and_(raw_valid, pc.is_null(num))).as_py() or 0)
    if nbad:
        nulled["invalid duration"] += nbad
    secs = pd.Series(num.to_pandas(), dtype="Float64") * scale
    return _check_duration(secs, nulled)


def _check_duration(secs: pd.Series, nulled: Counter[str]) -> pd.Series:
    bad = (secs < 0) | (secs > _MAX_DURATION_S)
    nbad = int(bad.fillna(False).sum())
    if nbad:
        nulled["invalid duration"] += nbad
        secs = secs.mask(bad.fillna(False))
    return secs


def _addresses(arr: pa.Array, col: str, nulled: Counter[str]) -> pa.Array:
    """IP address text; anything else ("0", a MAC address, a name) becomes null, counted.

    Checked once per distinct value (flows repeat their addresses).
    """
    text = _text(arr)
    assert text is not None
    enc = pc.utf8_trim_whitespace(text).dictionary_encode()
    ok = []
    for v in enc.dictionary.to_pylist():
        try:
            ok.append(str(ipaddress.ip_address(v.split("%", 1)[0])) if v else None)
        except ValueError:
            ok.append(None)
    good = pa.array(ok, pa.string())
    out = pc.take(good, enc.indices)
    bad = int(pc.sum(pc.and_(pc.is_valid(text), pc.is_null(out))).as_py() or 0)
    if bad:
        nulled[f"invalid {col}"] += bad
    return out


def _ports(arr: pa.Array) -> pa.Array:
    """Port text, decimal or Argus's hex (``0x0303``: ICMP type and code); others left to fail."""
    text = _text(arr)
    assert text is not None
    enc = pc.utf8_trim_whitespace(text).dictionary_encode()
    vals: list[str | None] = []
    for v in enc.dictionary.to_pylist():
        if v and v[:2].lower() == "0x":
            try:
                v = str(int(v, 16))
            except ValueError:
                pass
        vals.append(v)
    return pc.take(pa.array(vals, pa.string()), enc.indices)


def _proto(arr: pa.Array) -> pa.Array:
    """IANA numbers or names -> Zeek's proto names (others: ``unknown_transport``)."""
    text = _text(arr)
    assert text is not None
    enc = pc.utf8_lower(pc.utf8_trim_whitespace(text)).dictionary_encode()
    names = []
    for v in enc.dictionary.to_pylist():
        names.append(_PROTO_NUM.get(v) or _PROTO_NAME.get(v) or "unknown_transport")
    return pc.take(pa.array(names, pa.string()), enc.indices)


def _null_unexported_reverse(cols: dict[str, pa.Array]) -> None:
    """Null nfdump's reverse counters when both are 0: unidirectional exports do not carry them.

    nfdump prints 0 for reverse counters a unidirectional export does not carry.
    """
    if "pkts_in" not in cols or "ip_bytes_in" not in cols:
        return
    p, b = _number(cols["pkts_in"]), _number(cols["ip_bytes_in"])
    unexported = pc.fill_null(pc.and_(pc.equal(p, 0.0), pc.equal(b, 0.0)), False)
    nulls = pa.nulls(len(p), pa.float64())
    cols["pkts_in"] = pc.if_else(unexported, nulls, p)
    cols["ip_bytes_in"] = pc.if_else(unexported, nulls, b)
