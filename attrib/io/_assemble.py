"""One events table from a stream of canonical chunks, without holding the table twice.

``pandas.concat`` of N chunks keeps every chunk alive until it has copied all of them into new
arrays: the table is in memory twice at its peak, and every byte of the copy lands in freshly
mapped pages (on a virtual machine each page fault can cost the host a page allocation, so
that second copy is most of ``concat``'s time). :class:`EventsBuilder` instead appends each
chunk's fixed-width columns to growing buffers as the chunk arrives and drops the chunk, so the
next chunk's conversion reuses the memory just freed. The buffers are reserved at an
upper estimate of the row count as anonymous memory maps (not ``np.empty``: numpy asks for
transparent huge pages on large arrays, and on a virtual machine a huge page fault is costly
once the host has reclaimed free 2 MB blocks); an outgrown buffer is doubled. Text columns
are Arrow arrays already: their chunks are gathered into one ``ChunkedArray`` (no copy).
All-null columns (most canonical columns of any one source) are built once at full length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attrib.io._zeek_map import lazy_zeros, null_masked
from attrib.schema import EVENT_DTYPES, conform_events, empty_events

__all__ = ["MAX_RESERVE_ROWS", "EventsBuilder", "expected_rows"]

_MIN_CAPACITY = 1 << 16
#: Upper bound of the up-front reservation (larger inputs grow their buffers by doubling).
MAX_RESERVE_ROWS = 1 << 25
#: Fewest bytes an input row takes in any supported format (a short flow CSV line); the
#: estimate errs high on purpose, since reserved but unwritten rows cost no memory.
_MIN_ROW_BYTES = 48
_COMPRESSED = {".gz": 8, ".bz2": 10, ".zst": 10, ".xz": 10}


def expected_rows(paths: list[Path]) -> int:
    """Upper estimate of the rows in ``paths`` from their sizes (0 when unknown)."""
    total = 0
    for p in paths:
        try:
            size = p.stat().st_size
        except OSError:
            continue
        total += size * _COMPRESSED.get(p.suffix.lower(), 1)
    return total // _MIN_ROW_BYTES


class _Grow:
    """An append-only numpy buffer: reserved once at the expected size, doubled if outgrown.

    The reservation is virtual memory: pages are mapped as values are written, so an
    over-estimate costs address space, not RAM. :meth:`take` returns a view of the filled part.
    """

    def __init__(self, dtype: np.dtype[Any], capacity: int) -> None:
        self.buf: np.ndarray[Any, Any] = lazy_zeros(max(capacity, _MIN_CAPACITY), dtype.str)
        self.n = 0

    def _reserve(self, k: int) -> int:
        need = self.n + k
        if need > len(self.buf):
            grown = lazy_zeros(max(need, 2 * len(self.buf)), self.buf.dtype.str)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        return need

    def append(self, values: np.ndarray[Any, Any]) -> None:
        need = self._reserve(len(values))
        self.buf[self.n : need] = values
        self.n = need

    def fill(self, value: Any, k: int) -> None:
        need = self._reserve(k)
        self.buf[self.n : need] = value
        self.n = need

    def take(self) -> np.ndarray[Any, Any]:
        """The filled part; the builder forgets the buffer."""
        buf, self.buf = self.buf, np.empty(0, self.buf.dtype)
        return buf[: self.n]


class _Masked:
    """A nullable numeric column (``Int64``, ``UInt16``, ``Float64``)."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.dtype = dtype
        self.capacity = capacity
        self.nulls = 0  # leading all-null rows not yet written (most columns stay all-null)
        self.data: _Grow | None = None
        self.mask: _Grow | None = None

    def add(self, arr: Any) -> None:
        values, mask = arr._data, arr._mask
        if self.data is None:
            if mask.all():
                self.nulls += len(mask)
                return
            self.data = _Grow(values.dtype, self.capacity)
            self.mask = _Grow(np.dtype(bool), self.capacity)
            self.data.fill(0, self.nulls)
            self.mask.fill(True, self.nulls)
        assert self.mask is not None
        self.data.append(values)
        self.mask.append(mask)

    def build(self, n: int) -> Any:
        if self.data is None or self.mask is None:  # all null
            return null_masked(self.dtype, n)
        return self.dtype.construct_array_type()(self.data.take(), self.mask.take())


class _Datetime:
    """A UTC timestamp column (nanoseconds)."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.dtype = dtype
        self.values = _Grow(np.dtype("int64"), capacity)

    def add(self, arr: Any) -> None:
        self.values.append(arr.asi8)

    def build(self, n: int) -> Any:
        values = self.values.take().view("M8[ns]")
        simple_new = getattr(pd.arrays.DatetimeArray, "_simple_new", None)
        if simple_new is not None:  # wraps the buffer as is
            return simple_new(values, dtype=self.dtype)
        return pd.Series(values, copy=False).dt.tz_localize("UTC").array  # pragma: no cover


class _Categorical:
    """A categorical column with the canonical (fixed) categories: only codes are stored."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.dtype = dtype
        self.capacity = capacity
        self.codes: _Grow | None = None
        self.nulls = 0

    def add(self, arr: Any) -> None:
        codes = arr.codes
        if self.codes is None:
            if (codes < 0).all():
                self.nulls += len(codes)
                return
            self.codes = _Grow(codes.dtype, self.capacity)
            self.codes.fill(-1, self.nulls)
        self.codes.append(codes)

    def build(self, n: int) -> Any:
        codes = np.full(n, -1, np.int8) if self.codes is None else self.codes.take()
        return pd.Categorical.from_codes(codes, dtype=self.dtype)


class _Text:
    """A ``string[pyarrow]`` column: the chunks' Arrow arrays, gathered without a copy."""

    def __init__(self, dtype: Any, capacity: int) -> None:
        self.dtype = dtype
        self.chunks: list[pa.Array] = []

    def add(self, arr: Any) -> None:
        data = getattr(arr, "_pa_array", None)
        if data is None:  # pragma: no cover - other pandas versions
            data = pa.chunked_array([pa.array(arr)])
        self.chunks.extend(data.chunks)

    def build(self, n: int) -> Any:
        return pd.arrays.ArrowStringArray(pa.chunked_array(self.chunks, pa.large_string()))


def _column(spec: Any, capacity: int) -> Any:
    dtype = pd.api.types.pandas_dtype(spec)
    if isinstance(dtype, pd.CategoricalDtype):
        return _Categorical(dtype, capacity)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _Datetime(dtype, capacity)
    if isinstance(dtype, pd.StringDtype):
        return _Text(dtype, capacity)
    return _Masked(dtype, capacity)


class EventsBuilder:
    """Collect canonical event chunks into one table, copying each fixed-width value once.

    >>> b = EventsBuilder()
    >>> for chunk in chunks:  # doctest: +SKIP
    ...     b.add(chunk)
    >>> events = b.build()  # doctest: +SKIP
    """

    def __init__(self, expected_rows: int = 0) -> None:
        self.rows = 0
        #: rows to reserve room for (virtual memory; pages are mapped only as rows arrive)
        self.expected_rows = min(max(expected_rows, 0), MAX_RESERVE_ROWS)
        self._first: pd.DataFrame | None = None
        self._cols: dict[str, Any] | None = None

    def add(self, chunk: pd.DataFrame) -> None:
        """Append one chunk (conformed to :data:`attrib.schema.EVENT_DTYPES` first)."""
        if chunk.empty:
            return
        chunk = conform_events(chunk)
        if self._first is None and self._cols is None:
            self._first = chunk  # a single-chunk read returns its chunk untouched
        else:
            if self._cols is None:
                cap = max(self.expected_rows, 4 * (self.rows + len(chunk)))
                self._cols = {c: _column(t, cap) for c, t in EVENT_DTYPES.items()}
                first, self._first = self._first, None
                assert first is not None
                self._append(first)
            self._append(chunk)
        self.rows += len(chunk)

    def _append(self, chunk: pd.DataFrame) -> None:
        assert self._cols is not None
        for (name, col), (got, series) in zip(self._cols.items(), chunk.items(), strict=True):
            assert name == got
            col.add(series.array)

    def build(self) -> pd.DataFrame:
        """The events table (conforming, ``RangeIndex``); the builder is empty afterwards."""
        if self._cols is None:
            first, self._first = self._first, None
            if first is None:
                return empty_events()
            return first
        cols, self._cols = self._cols, None
        out: dict[str, pd.Series] = {}
        for name in list(cols):
            out[name] = pd.Series(cols.pop(name).build(self.rows), copy=False)
        return pd.DataFrame(out, copy=False)
