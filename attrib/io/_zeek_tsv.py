r"""Zeek ASCII (TSV) logs: header directives, splitting a stream into sections, Arrow parsing.

A Zeek ASCII log is a run of ``#`` header lines followed by data lines; a file may hold several
such sections (rotated or concatenated logs), and the header may change between them. The stream
is read in line-aligned blocks: ``#`` lines are parsed here in Python, the data lines between them
go to Arrow's CSV parser in one piece (no quoting, no escapes: Zeek escapes with ``\\xNN``).
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from attrib.errors import UnreadableFileError

__all__: list[str] = []

logger = logging.getLogger(__name__)

BLOCK_BYTES = 16 << 20
MAX_LINE_BYTES = 64 << 20
_HEX_ESC = re.compile(rb"\\x([0-9a-fA-F]{2})")

#: Zeek type -> Arrow type tried first (fast path); anything else is read as raw bytes.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "time": pa.float64(),
    "interval": pa.float64(),
    "double": pa.float64(),
    "count": pa.int64(),
    "int": pa.int64(),
    "port": pa.int64(),
}


def unescape(value: bytes) -> bytes:
    r"""Decode Zeek's ``\\xNN`` escapes (what Zeek's own ASCII input reader undoes)."""
    return _HEX_ESC.sub(lambda m: bytes((int(m.group(1), 16),)), value)


def guarded(path: str, chunks: Iterator[Any]) -> Iterator[Any]:
    """Re-raise a truncated or corrupt compressed stream as one ``UnreadableFileError``."""
    try:
        yield from chunks
    except (EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"{path}: truncated or corrupt compressed data ({exc})") from None
    except OSError as exc:  # gzip/bz2 raise OSError subclasses (BadGzipFile, "Invalid data stream")
        raise UnreadableFileError(f"{path}: cannot read: {exc}") from None
    except Exception as exc:
        if type(exc).__name__ == "ZstdError":
            raise UnreadableFileError(f"{path}: corrupt zstd data ({exc})") from None
        raise


@dataclass
class ZeekHeader:
    """The directives of one section of a Zeek ASCII log."""

    separator: bytes = b"\t"
    set_separator: bytes = b","
    empty_field: bytes = b"(empty)"
    unset_field: bytes = b"-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def apply(self, line: bytes) -> bool:
        """Apply one ``#`` line; return True when it starts new data columns (``#fields``)."""
        body = line[1:]
        if body.startswith(b"separator "):
            self.separator = unescape(body[len(b"separator ") :].strip(b"\r"))
            return False
        key, _, value = body.partition(self.separator)
        if key == b"set_separator":
            self.set_separator = unescape(value)
        elif key == b"empty_field":
            self.empty_field = unescape(value)
        elif key == b"unset_field":
            self.unset_field = unescape(value)
        elif key == b"path":
            self.path = unescape(value).decode("utf-8", "replace")
        elif key == b"fields":
            self.fields = [
                unescape(f).decode("utf-8", "replace") for f in value.split(self.separator)
            ]
            self.types = []
            return True
        elif key == b"types":
            self.types = [t.decode("ascii", "replace") for t in value.split(self.separator)]
        return False

    def type_of(self, name: str) -> str:
        """Zeek type of field ``name`` (``""`` when ``#types`` is missing)."""
        if len(self.types) == len(self.fields) and name in self.fields:
            return self.types[self.fields.index(name)]
        return ""


@dataclass
class Piece:
    """Either one header line or a run of whole data lines, with its first line number."""

    line: int
    header: bytes | None = None
    data: memoryview | None = None
    #: whether the data holds a backslash (possible ``\\xNN`` escape) / a "(" (``(empty)``)
    backslash: bool = True
    paren: bool = True
    #: whether the data is valid UTF-8 (Arrow cannot report a non-UTF-8 invalid row)
    utf8: bool = True


class LineTooLong(Exception):  # noqa: N818 - internal signal, never escapes the reader
    """Raised inside the splitter for a line over the limit; carries its line number."""


def split_stream(
    raw: IO[bytes],
    on_long_line: Callable[[int], None],
    block_bytes: int = BLOCK_BYTES,
    max_line: int = MAX_LINE_BYTES,
    buffers: int = 1,
) -> Iterator[Piece]:
    """Split a byte stream into header lines and runs of data lines (line-aligned blocks).

    Lines longer than ``max_line`` are dropped (``on_long_line(line_number)``) so memory stays
    bounded by the block size plus one line. Blocks are read (``readinto``) into a ring of
    ``buffers`` reused buffers, so no memory is allocated per block: a piece's ``data`` view
    stays valid while the next ``buffers - 1`` pieces are produced (a consumer may lag that
    far behind, e.g. behind a queue); with ``buffers=1`` callers must parse or copy a piece
    before asking for the next.
    """
    ring = [bytearray(block_bytes)]
    slot = 0  # ring[slot]: the buffer being filled
    prev, cs, ce = ring[0], 0, 0  # the unfinished line carried over: prev[cs:ce]
    lineno = 0  # lines emitted so far
    skipping = False
    readinto = getattr(raw, "readinto", None)
    newlines = _Newlines()
    while True:
        have = ce - cs
        if len(ring) < slot + 1:
            ring.append(bytearray(have + block_bytes))
        buf = ring[slot]
        if len(buf) < have + block_bytes:  # a long unfinished line: room for one more block
            buf = ring[slot] = bytearray(have + block_bytes)
        if have:  # same length slice assignment: allowed while the buffer has views
            buf[:have] = prev[cs:ce]
        with memoryview(buf) as view:
            if readinto is not None:
                got = readinto(view[have : have + block_bytes]) or 0
            else:
                chunk = raw.read(block_bytes)
                got = len(chunk)
                view[have : have + got] = chunk
        eof = got == 0
        total = have + got
        prev, cs, ce = buf, 0, 0
        start = 0
        if skipping:
            nl = buf.find(b"\n", 0, total)
            if nl < 0:
                if eof:
                    return
                continue
            start, skipping = nl + 1, False
            lineno += 1
        end = total
        if not eof:
            end = buf.rfind(b"\n", start, total) + 1
            if end == 0:
                if total - start > max_line:
                    on_long_line(lineno + 1)
                    skipping = True
                else:
                    cs, ce = start, total
                continue
            if total - end > max_line:
                skipping = True
        if start < end:
            lineno = yield from _pieces(buf, start, end, lineno, newlines)
            slot = (slot + 1) % max(buffers, 1)  # views of this buffer are out: use the next
        if skipping:
            on_long_line(lineno + 1)
        if eof:
            return
        if not skipping:
            cs, ce = end, total


def _next_header(buf: bytearray, pos: int, n: int) -> int:
    """Offset of the next header line (or ``n``); memchr on ``#`` is fast.

    A header line starts with ``#``, possibly after spaces or tabs (real logs have been seen
    with a stray tab before ``#separator``); ``pos`` is the start of a data line.
    """
    start = pos
    while True:
        j = buf.find(b"#", pos, n)
        if j < 0:
            return n
        if buf[j - 1] == 10:  # preceded by a newline: a header line
            return j
        k = j - 1
        while k > start and buf[k] in _BLANKS:
            k -= 1
        if buf[k] == 10:
            return k + 1
        pos = j + 1


_BLANKS = (9, 32)


def _header_at(buf: bytearray, pos: int, n: int) -> int:
    """Offset of the ``#`` when the line at ``pos`` is a header line, else -1."""
    k = pos
    while k < n and buf[k] in _BLANKS:
        k += 1
    return k if k < n and buf[k] == 35 else -1


def _valid_utf8(view: memoryview) -> bool:
    try:
        str(view, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Newlines:
    """Count newlines in a range of a buffer.

    With numpy, which (unlike ``bytes.count``) lets go of the GIL, so the thread converting
    earlier blocks keeps running meanwhile.
    """

    def __init__(self) -> None:
        self.scratch = np.empty(0, bool)

    def __call__(self, buf: bytearray, pos: int, end: int) -> int:
        k = end - pos
        if k < 1 << 16:
            return buf.count(b"\n", pos, end)
        if len(self.scratch) < k:
            self.scratch = np.empty(k, bool)
        out = self.scratch[:k]
        np.equal(np.frombuffer(buf, np.uint8, count=k, offset=pos), 10, out=out)
        return int(np.count_nonzero(out))


def _ascii(buf: bytearray, pos: int, end: int) -> bool:
    """Whether ``buf[pos:end]`` is ASCII, without copying the range out of the buffer."""
    if end - pos < 1 << 16:
        return buf[pos:end].isascii()
    return bool(np.frombuffer(buf, np.uint8, count=end - pos, offset=pos).max() < 128)


def _pieces(
    buf: bytearray,
    pos: int,
    n: int,
    lineno: int,
    count_newlines: Callable[[bytearray, int, int], int],
) -> Generator[Piece, None, int]:
    view = memoryview(buf)
    ascii_block = _ascii(buf, pos, n)  # the buffer is reused: only [pos, n) is this block's
    while pos < n:
        hash_at = pos if buf[pos] == 35 else _header_at(buf, pos, n) if buf[pos] in _BLANKS else -1
        if hash_at >= 0:  # a "#" header line
            nl = buf.find(b"\n", pos, n)
            end = n if nl < 0 else nl
            yield Piece(lineno + 1, header=bytes(view[hash_at:end]).rstrip(b"\r"))
            lineno += 1
            pos = end + 1
        else:
            end = _next_header(buf, pos, n)
            yield Piece(
                lineno + 1,
                data=view[pos:end],
                backslash=buf.find(b"\\", pos, end) >= 0,
                paren=buf.find(b"(", pos, end) >= 0,
                utf8=ascii_block or _valid_utf8(view[pos:end]),
            )
            lineno += count_newlines(buf, pos, end)
            if end == n and buf[n - 1] != 10:
                lineno += 1
            pos = end
    return lineno


@dataclass
class BlockResult:
    """Arrow columns of one data block plus the rows skipped in it."""

    table: pa.Table
    bad_rows: list[tuple[int, int]]  # (line number, actual field count)
    typed: bool
    backslash: bool = True
    paren: bool = True


def parse_block(
    data: memoryview,
    first_line: int,
    header: ZeekHeader,
    keep: list[str],
    utf8: bool = True,
    text: bool = False,
) -> BlockResult:
    r"""Parse whole data lines of one section with Arrow; typed first, raw bytes on failure.

    Columns in ``keep`` are returned; numeric Zeek types come back as numbers when every value
    of the block parses (the fast path), otherwise as raw bytes for the caller to coerce.
    With ``text`` (the caller knows the block is valid UTF-8 without ``\xNN`` escapes) the
    other columns come back as ``large_string`` straight from the parser, saving a cast (and
    a copy of every string) per block.
    """
    if not utf8:
        return _parse_dropping_bad_lines(data, first_line, header, keep)
    try:
        try:
            return _parse(data, first_line, header, keep, typed=True, text=text)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) and "block size" not in str(exc):
                raise
            # a line longer than Arrow's block: the whole block at once, still typed first
            return _parse(data, first_line, header, keep, typed=True, text=text, whole=True)
    except pa.ArrowInvalid as exc:  # a value that does not parse as its type: coerce
        logger.debug("typed parse failed at line %s (%s); coercing", first_line, exc)
    try:
        return _parse(data, first_line, header, keep, typed=False)
    except pa.ArrowInvalid:
        return _parse(data, first_line, header, keep, typed=False, whole=True)


def _parse_dropping_bad_lines(
    data: memoryview, first_line: int, header: ZeekHeader, keep: list[str]
) -> BlockResult:
    """Slow path: drop lines with the wrong field count in Python, then parse the rest."""
    n = len(header.fields)
    good: list[bytes] = []
    bad: list[tuple[int, int]] = []
    for i, line in enumerate(bytes(data).split(b"\n")):
        if not line.strip(b"\r"):
            continue
        count = line.count(header.separator) + 1
        if count == n and b"\r" in line.rstrip(b"\r"):
            count = -1  # Arrow ends lines at a bare CR too: the line would not parse as one
        if count == n:
            good.append(line)
        else:
            bad.append((first_line + i, count))
    clean = memoryview(b"\n".join(good) + b"\n") if good else memoryview(b"")
    if not good:
        return BlockResult(_empty_table(keep), bad, False)
    res = _parse(clean, first_line, header, keep, typed=False, whole=True)
    res.bad_rows = bad + res.bad_rows
    return res


def _empty_table(keep: list[str]) -> pa.Table:
    return pa.table({k: pa.array([], pa.binary()) for k in keep})


def _parse(
    data: memoryview,
    first_line: int,
    header: ZeekHeader,
    keep: list[str],
    *,
    typed: bool,
    text: bool = False,
    whole: bool = False,
) -> BlockResult:
    bad: list[tuple[int, int]] = []
    buf = pa.py_buffer(data)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        number = row.number
        if number is None:  # threaded parse: locate the row text for its line number
            at = bytes(data).find(row.text.encode("utf-8", "surrogateescape"))
            number = bytes(data).count(b"\n", 0, max(at, 0)) + 1
        bad.append((first_line + number - 1, row.actual_columns))
        return "skip"

    other = pa.large_string() if text else pa.binary()
    types: dict[str, pa.DataType] = {}
    for name in keep:
        zt = header.type_of(name)
        types[name] = _ARROW_TYPES.get(zt, other) if typed else pa.binary()
    read = pacsv.ReadOptions(
        column_names=_unique(header.fields),
        block_size=max(len(data) + 1, 1 << 20) if whole else 4 << 20,
        use_threads=True,
    )
    parse = pacsv.ParseOptions(
        delimiter=header.separator.decode("latin-1"),
        quote_char=False,
        escape_char=False,
        double_quote=False,
        newlines_in_values=False,
        ignore_empty_lines=True,
        invalid_row_handler=on_invalid,
    )
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=keep,
        null_values=[header.unset_field.decode("latin-1")],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        check_utf8=False,
    )
    table = pacsv.read_csv(pa.BufferReader(buf), read, parse, convert, memory_pool=parse_pool())
    return BlockResult(table, bad, typed)


_POOL: list[pa.MemoryPool] = []


def parse_pool() -> pa.MemoryPool:
    """Arrow memory pool for parsed blocks: jemalloc where pyarrow has it, else the default.

    Measured on the 5M-row conn.log bench (Linux VM): with pyarrow's default mimalloc pool
    the read spends about twice the kernel time on page faults (mimalloc's segments are
    backed by transparent huge pages, each a 2 MB fault) and takes ~10% longer.
    """
    if not _POOL:
        try:
            _POOL.append(pa.jemalloc_memory_pool())
        except (NotImplementedError, pa.ArrowNotImplementedError):
            _POOL.append(pa.default_memory_pool())
    return _POOL[0]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}.{k}")
    return out


def decode_strings(
    col: pa.Array | pa.ChunkedArray, empty: bytes, *, backslash: bool = True, paren: bool = True
) -> tuple[pa.Array, int]:
    r"""Raw Zeek string bytes -> UTF-8 strings: undo ``\\xNN`` escapes, map ``(empty)`` to "".

    Invalid UTF-8 (e.g. latin-1 bytes in a UTF-8 log) is replaced with U+FFFD; returns the
    strings and how many values needed a replacement. Text the parser already returned as
    ``large_string`` (a block without escapes, see :func:`parse_block`) only has its
    ``#empty_field`` values blanked.
    """
    if pa.types.is_large_string(col.type):
        if paren or not empty.startswith(b"("):
            col = _blank(col, empty)
        return col, 0
    if not (backslash or paren or not empty.startswith(b"(")):
        try:  # fast path: nothing to unescape in this block; stays chunked, no copy
            return col.cast(pa.large_string()), 0
        except pa.ArrowInvalid:
            pass
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.type != pa.binary():
        arr = arr.cast(pa.binary())
    arr = _unescape_array(arr, empty)
    try:
        return arr.cast(pa.large_string()), 0
    except pa.ArrowInvalid:
        return _replace_invalid(arr)


def _blank(col: pa.Array | pa.ChunkedArray, empty: bytes) -> pa.Array | pa.ChunkedArray:
    """Map the ``#empty_field`` marker to "" in text columns (vectorised)."""
    marker = pa.scalar(empty.decode("utf-8", "replace"), pa.large_string())
    hit = pc.equal(col, marker)
    if not pc.any(hit).as_py():
        return col
    return pc.if_else(hit, pa.scalar("", pa.large_string()), col)


def _unescape_array(arr: pa.Array, empty: bytes) -> pa.Array:
    needs = pc.fill_null(pc.match_substring(arr, "\\x"), False)
    is_empty = pc.fill_null(pc.equal(arr, pa.scalar(empty, pa.binary())), False)
    if pc.any(needs).as_py() or pc.any(is_empty).as_py():
        values = arr.to_pylist()
        flags = needs.to_pylist()
        empties = is_empty.to_pylist()
        for i, (v, f, e) in enumerate(zip(values, flags, empties, strict=True)):
            if e:
                values[i] = b""
            elif f:
                values[i] = unescape(v)
        arr = pa.array(values, pa.binary())
    return arr


def _replace_invalid(arr: pa.Array) -> tuple[pa.Array, int]:
    replaced = 0
    out: list[str | None] = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            replaced += 1
            out.append(v.decode("utf-8", "replace"))
    return pa.array(out, pa.large_string()), replaced
