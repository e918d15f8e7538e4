"""Stream JSON records from JSON lines, JSON arrays and wrapper documents, in bounded memory.

Three layouts occur in the wild and are recognised from content:

* **lines** — one object per line (Suricata EVE, Azure Monitor diagnostic export to storage,
  Okta/M365 exports written as NDJSON);
* **array** — ``[{...}, {...}]`` (Okta System Log API, PowerShell ``ConvertTo-Json``);
* **wrapper** — ``{"records": [...]}`` (Azure Monitor blob export) or
  ``{"@odata.context": ..., "value": [...]}`` (Microsoft Graph), possibly several pages
  concatenated.

Lines are read one at a time with a length cap; arrays and wrappers are parsed incrementally
with ``ijson`` (C backend), so memory is bounded by the chunk size and the largest record,
never by the file size.

Hostile input is bounded too: every byte handed to ``ijson`` first passes a nesting-depth
guard (:mod:`attrib.io._jsondepth`; ``ijson`` costs O(depth²)), numbers are always parsed as
floats (``ijson``'s C backend crashes the process on an integer of more than 4,300 digits
when asked for exact integers), and single lines are parsed with ``orjson`` (depth limit
1,024; huge numbers rejected as errors).
"""

from __future__ import annotations

import codecs
import io
import logging
from collections.abc import Iterator
from typing import IO, Any

import ijson
import orjson

from attrib.errors import FormatError
from attrib.io._base import ReadContext
from attrib.io._jsondepth import DepthGuard, JsonTooDeepError, depth_cut
from attrib.io._latables import head_rows, iter_rows
from attrib.io._source import Source

__all__ = [
    "CONTAINER_KEYS",
    "DEFAULT_MAX_LINE_BYTES",
    "RECORD_BATCH",
    "Record",
    "head_records",
    "iter_record_batches",
    "json_layout",
    "open_utf8",
]

logger = logging.getLogger(__name__)

#: Keys whose array value holds the records of a wrapper document (``tables``: Log Analytics
#: query results, read row by row by :mod:`attrib.io._latables`).
CONTAINER_KEYS = ("records", "value", "tables")
#: Longest JSON line accepted (bytes); longer lines are skipped and counted.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
#: Records parsed into Python objects at a time. A parsed sign-in record costs several KiB
#: as dicts, so batches stay well below ``chunksize`` rows; readers turn each batch into a
#: compact typed frame before parsing the next.
RECORD_BATCH = 5_000

#: A record with its 1-based line number (lines) or record number (arrays and wrappers).
Record = tuple[int, dict[str, Any]]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bom_encoding(head: bytes) -> str | None:
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    return None


def utf8_head(head: bytes) -> bytes:
    """Return ``head`` as UTF-8 without a byte-order mark (UTF-16 files are transcoded).

    Parameters
    ----------
    head
        The first bytes of a file.

    Returns
    -------
    bytes
        UTF-8 bytes (a trailing partial character is dropped).
    """
    enc = _bom_encoding(head)
    if enc is None:
        return head
    if enc == "utf-8-sig":
        return head[len(codecs.BOM_UTF8) :]
    return head.decode("utf-16", errors="ignore").encode("utf-8")


def open_utf8(source: Source) -> IO[bytes]:
    """Open ``source`` as a UTF-8 byte stream (UTF-8 BOM skipped, UTF-16 transcoded).

    Parameters
    ----------
    source
        The input file.

    Returns
    -------
    IO[bytes]
        A binary stream of UTF-8 text.
    """
    enc = _bom_encoding(source.head(4))
    fh = source.open()
    if enc == "utf-8-sig":
        fh.read(len(codecs.BOM_UTF8))
    elif enc == "utf-16":
        return io.BufferedReader(_Utf16ToUtf8(fh))
    return fh


class _Utf16ToUtf8(io.RawIOBase):
    """Raw stream of UTF-8 bytes transcoded from a UTF-16 (BOM) byte stream."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(fh, encoding="utf-16", errors="replace")
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            s = self._text.read(1 << 16)
            if not s:
                return 0
            self._buf = s.encode("utf-8")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._text.close()
        super().close()


def json_layout(head: bytes) -> tuple[str, str] | None:
    """Return the layout of a JSON file head and the ijson prefix of its records.

    Parameters
    ----------
    head
        The first bytes (UTF-8, no BOM).

    Returns
    -------
    tuple or None
        ``("lines", "")``, ``("array", "item")`` or ``("wrapper", "<key>.item")``; ``None``
        when the head does not start like JSON.
    """
    s = _depth_bounded(head.lstrip())
    if s.startswith(b"["):
        return "array", "item"
    if not s.startswith(b"{"):
        return None
    container: str | None = None
    try:
        for prefix, event, value in ijson.parse(
            io.BytesIO(s), multiple_values=True, use_float=True
        ):
            if container is not None and prefix == container:
                if event == "start_array":
                    kind = "tables" if container == "tables" else "wrapper"
                    return kind, f"{container}.item"
                container = None
            elif prefix == "" and event == "map_key" and value in CONTAINER_KEYS:
                container = value
            elif prefix == "" and event == "end_map":
                break
    except ijson.common.IncompleteJSONError:
        pass
    except ijson.common.JSONError:
        return None
    return "lines", ""


def head_records(head: bytes, limit: int = 20) -> list[dict[str, Any]]:
    """Parse the first records of a JSON file head, tolerating a cut-off last record.

    A record cut by the end of the head is returned partially built, so a sniffer still sees
    its leading keys even when one record is longer than the head.

    Parameters
    ----------
    head
        The first bytes of the (decompressed) file.
    limit
        At most this many records.

    Returns
    -------
    list of dict
        Records (possibly the last one partial); empty when the head is not JSON.
    """
    head = utf8_head(head)
    layout = json_layout(head)
    if layout is None:
        return []
    if layout[0] == "lines":
        return _head_lines(head, limit)
    if layout[0] == "tables":
        return head_rows(head, limit)
    return _partial_items(head, {layout[1]}, limit)


def _head_lines(head: bytes, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    lines = head.split(b"\n")
    complete, last = lines[:-1], lines[-1]
    for line in complete:
        if len(out) >= limit:
            return out
        try:
            obj = orjson.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    if not out and last.strip():
        out.extend(_partial_items(last, {""}, 1))
    return out


def _depth_bounded(data: bytes) -> bytes:
    """``data`` cut where its nesting first passes the depth limit (whole if it never does)."""
    cut = depth_cut(data)
    return data if cut is None else data[:cut]


def _partial_items(data: bytes, prefixes: set[str], limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    builder: Any = None
    item_prefix = ""
    data = _depth_bounded(data)
    try:
        for prefix, event, value in ijson.parse(
            io.BytesIO(data), multiple_values=True, use_float=True
        ):
            if builder is None:
                if prefix in prefixes and event == "start_map":
                    builder, item_prefix = ijson.ObjectBuilder(), prefix
                    builder.event(event, value)
                continue
            builder.event(event, value)
            if prefix == item_prefix and event == "end_map":
                out.append(builder.value)
                builder = None
                if len(out) >= limit:
                    break
    except ijson.common.JSONError:
        if builder is not None and isinstance(builder.value, dict):
            out.append(builder.value)
    return out


def iter_record_batches(
    source: Source, ctx: ReadContext, batch_size: int = RECORD_BATCH
) -> Iterator[list[Record]]:
    """Yield batches of at most ``min(ctx.chunksize, batch_size)`` JSON object records.

    Lines that are not JSON, not an object, or longer than ``ctx.options["max_line_bytes"]``
    (default :data:`DEFAULT_MAX_LINE_BYTES`) are skipped and counted with their line number.
    A line that is not valid UTF-8 is decoded as Latin-1 and counted in ``ctx.stats.nulled``.
    In arrays and wrappers, a syntax error ends the document: the records before it are kept
    and the rest is counted as one skipped ``"truncated or invalid JSON document"``.

    Parameters
    ----------
    source
        The input file.
    ctx
        The read context.
    batch_size
        Records per batch at most (small records such as EVE lines can afford more).

    Yields
    ------
    list of Record
        ``(line_or_record_number, record)`` pairs.
    """
    layout = json_layout(utf8_head(source.head()))
    if layout is None:
        raise FormatError(str(source.path), "not JSON (no object or array at the start)", 1)
    if layout[0] == "lines":
        records = _iter_lines(source, ctx)
    elif layout[0] == "tables":
        records = _iter_table_rows(source, ctx)
    else:
        records = _iter_items(source, ctx, layout[1])
    size = max(1, min(ctx.chunksize, batch_size))
    batch: list[Record] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _iter_lines(source: Source, ctx: ReadContext) -> Iterator[Record]:
    cap = int(ctx.options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
    with open_utf8(source) as fh:
        lineno = 0
        while True:
            line = fh.readline(cap + 1)
            if not line:
                return
            lineno += 1
            if len(line) > cap and not line.endswith(b"\n"):
                _discard_rest_of_line(fh)
                ctx.bad("line too long", lineno)
                continue
            obj = _loads_line(line, lineno, ctx)
            if obj is not None:
                yield lineno, obj


def _discard_rest_of_line(fh: IO[bytes]) -> None:
    while True:
        piece = fh.readline(1 << 20)
        if not piece or piece.endswith(b"\n"):
            return


def _loads_line(line: bytes, lineno: int, ctx: ReadContext) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = _loads_legacy(line)
        if obj is None:
            ctx.bad("invalid JSON", lineno)
            return None
        ctx.stats.nulled["non-UTF-8 line decoded as Latin-1"] += 1
    if not isinstance(obj, dict):
        ctx.bad("not a JSON object", lineno)
        return None
    return obj


def _loads_legacy(line: bytes) -> Any:
    """Parse a line that is not valid UTF-8 JSON as Latin-1 text; ``None`` if still invalid."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return orjson.loads(line.decode("latin-1"))
        except orjson.JSONDecodeError:
            return None
    return None


def _iter_table_rows(source: Source, ctx: ReadContext) -> Iterator[Record]:
    n = 0
    with open_utf8(source) as fh:
        try:
            for n, rec in iter_rows(fh):
                if rec is None:
                    ctx.bad("row width differs from columns", n)
                else:
                    yield n, rec
        except ijson.common.JSONError:
            ctx.bad("truncated or invalid JSON document", n + 1)


def _iter_items(source: Source, ctx: ReadContext, prefix: str) -> Iterator[Record]:
    n = 0
    with open_utf8(source) as fh:
        try:
            for value in ijson.items(DepthGuard(fh), prefix, multiple_values=True, use_float=True):
                n += 1
                if isinstance(value, dict):
                    yield n, value
                else:
                    ctx.bad("not a JSON object", n)
        except JsonTooDeepError:
            ctx.bad("JSON nested too deeply", n + 1)
        except ijson.common.JSONError as exc:
            logger.debug("%s: JSON error after record %d: %s", source.path, n, exc)
            ctx.bad("truncated or invalid JSON document", n + 1)
        except UnicodeDecodeError:
            ctx.bad("truncated or invalid JSON document (not UTF-8)", n + 1)
