"""CSV rows for the identity-log readers (Sentinel ``SigninLogs`` exports, Purview audit CSV).

Rows are read line by line from bytes, so a file mixing UTF-8 with legacy-encoded lines still
reads (such lines are decoded as Latin-1 and counted), quoted fields may span lines, and no
line longer than the cap is ever held in memory.

A quoted field that spans lines but yields a malformed row (an unbalanced ``"``) would
swallow every following line: the reader instead counts the row's first line as bad and
reads again from the next line (resynchronisation), so one stray quote costs one row.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import deque
from collections.abc import Iterator

from attrib.errors import FormatError
from attrib.io._base import ReadContext
from attrib.io._jsonlines import DEFAULT_MAX_LINE_BYTES, RECORD_BATCH, open_utf8, utf8_head
from attrib.io._source import Source

__all__ = ["CsvRow", "csv_header", "iter_csv_batches", "normalize_header"]

#: ``(line number, {column: value})``.
CsvRow = tuple[int, dict[str, str]]

_SUFFIX = re.compile(r"^(?P<name>.*?)\s*\[(?P<tz>[^\]]*)\]\s*$")


def normalize_header(name: str) -> str:
    """Return a column name without the Log Analytics time-zone suffix (``" [UTC]"``).

    Parameters
    ----------
    name
        A header cell, e.g. ``"TimeGenerated [UTC]"``.

    Returns
    -------
    str
        ``"TimeGenerated"``.

    Raises
    ------
    ValueError
        When the suffix names a time zone other than UTC (``[Local Time]``): such timestamps
        carry no offset and cannot be placed in UTC.
    """
    name = name.strip().lstrip("\ufeff")
    m = _SUFFIX.match(name)
    if m is None:
        return name
    if m.group("tz").strip().upper() != "UTC":
        raise ValueError(f"column {name!r} is not in UTC; export with the UTC time zone")
    return m.group("name")


def csv_header(head: bytes) -> list[str] | None:
    """Return the raw header cells of a CSV head, or ``None`` if it does not look like CSV.

    Parameters
    ----------
    head
        The first bytes of the file.

    Returns
    -------
    list of str or None
        Header cells (at least two).
    """
    text = utf8_head(head)
    first = text.split(b"\n", 1)[0].rstrip(b"\r")
    if b"," not in first or first.lstrip().startswith((b"{", b"[")):
        return None
    try:
        cells = next(csv.reader([first.decode("utf-8", errors="replace")]))
    except csv.Error:
        return None
    return [c.strip() for c in cells] if len(cells) >= 2 else None


def iter_csv_batches(source: Source, ctx: ReadContext) -> Iterator[list[CsvRow]]:
    """Yield batches of CSV rows (at most ``min(ctx.chunksize, RECORD_BATCH)``) as dicts.

    Rows whose field count differs from the header, and lines past the length cap, are
    skipped and counted with their line number.

    Parameters
    ----------
    source
        The input file.
    ctx
        The read context.

    Yields
    ------
    list of CsvRow
        ``(line_number, row)`` pairs.
    """
    cap = int(ctx.options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
    csv.field_size_limit(max(csv.field_size_limit(), min(cap, sys.maxsize)))
    lines = _LineFeed(source, ctx, cap)
    reader = csv.reader(lines)
    try:
        raw_header = next(reader)
    except StopIteration:
        return
    try:
        header = [normalize_header(h) for h in raw_header]
    except ValueError as exc:
        raise FormatError(str(source.path), str(exc), 1) from None
    size = max(1, min(ctx.chunksize, RECORD_BATCH))
    batch: list[CsvRow] = []
    while True:
        lines.mark()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            ctx.bad(f"malformed CSV ({exc})", lines.record_start)
            lines.resync()
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            ctx.bad("field count mismatch", lines.record_start)
            lines.resync()
            continue
        batch.append((lines.lineno, dict(zip(header, row, strict=True))))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _LineFeed:
    """Iterator of decoded lines for :func:`csv.reader`, with line numbers and a length cap.

    The lines of the record being read are kept, so that :meth:`resync` can serve all but
    the first again after a malformed multi-line record.
    """

    def __init__(self, source: Source, ctx: ReadContext, cap: int) -> None:
        self._fh = open_utf8(source)
        self._ctx = ctx
        self._cap = cap
        self._eof = False
        self._again: deque[tuple[int, str]] = deque()
        self._record: list[tuple[int, str]] = []
        self.lineno = 0

    @property
    def record_start(self) -> int:
        """Line number of the first line of the record just read."""
        return self._record[0][0] if self._record else self.lineno

    def mark(self) -> None:
        """A new record starts: forget the lines of the previous one."""
        self._record.clear()

    def resync(self) -> None:
        """Serve the lines of the record just read, all but its first, again."""
        if len(self._record) > 1:
            self._again.extendleft(reversed(self._record[1:]))
        self._record.clear()

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._again:
            self.lineno, text = self._again.popleft()
            self._record.append((self.lineno, text))
            return text
        while not self._eof:
            line = self._fh.readline(self._cap + 1)
            if not line:
                self._eof = True  # csv may ask again after the end (open quote at EOF)
                self._fh.close()
                break
            self.lineno += 1
            if len(line) > self._cap and not line.endswith(b"\n"):
                self._skip_rest()
                self._ctx.bad("line too long", self.lineno)
                continue
            text = self._decode(line)
            self._record.append((self.lineno, text))
            return text
        raise StopIteration

    def _skip_rest(self) -> None:
        while True:
            piece = self._fh.readline(1 << 20)
            if not piece or piece.endswith(b"\n"):
                return

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self._ctx.stats.nulled["non-UTF-8 line decoded as Latin-1"] += 1
            return line.decode("latin-1")
