"""Nesting-depth guard for JSON bytes, in linear time and constant memory per chunk.

``ijson`` keeps one prefix string per open container (``item.item.item...``), so a document
nested ``d`` levels deep costs O(d²) memory and time: an unterminated line of 64 KiB of ``[``
asks for ~10 GB. Every JSON byte attrib hands to ``ijson`` therefore passes through this
guard first, which stops at :data:`MAX_JSON_DEPTH` levels. Real logs nest fewer than 20.

The scan is vectorised (numpy): quotes preceded by an odd run of backslashes are escaped,
the others toggle the in-string state, and brackets outside strings move the depth. The
state (inside a string, trailing backslashes, depth) carries from one chunk to the next.
"""

from __future__ import annotations

import io
from typing import IO, Any

import ijson
import numpy as np

__all__ = ["MAX_JSON_DEPTH", "DepthGuard", "JsonTooDeepError", "depth_cut"]

#: Deepest nesting accepted in any JSON attrib reads (orjson's own limit is 1,024; Python's
#: recursion limit is 1,000, so walkers of parsed records stay safe too).
MAX_JSON_DEPTH = 256

_QUOTE, _BSLASH = 34, 92
_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1
#: every byte but ``"``, brackets and braces (deleted before the fast scan)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


class JsonTooDeepError(ijson.common.JSONError):
    """JSON nested deeper than :data:`MAX_JSON_DEPTH` (an ``ijson`` JSON error)."""


class _Scan:
    """Depth state carried across chunks."""

    __slots__ = ("depth", "in_str", "max_depth", "odd_bs")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.in_str = False
        self.odd_bs = False  # the previous chunk ended in an odd run of backslashes

    def feed(self, chunk: bytes | bytearray | memoryview) -> int | None:
        """Scan ``chunk``; return the offset where the depth first exceeds the limit, if any.

        Fast path: escaped backslashes and escaped quotes are removed, then everything but
        quotes and brackets (``bytes`` methods, C speed), and only that short remainder is
        scanned. Only when it shows the limit passed is the chunk scanned byte by byte for
        the exact offset.
        """
        data = bytes(chunk)
        if not data:
            return None
        state = (self.depth, self.in_str, self.odd_bs)
        s = (b"\\" + data) if self.odd_bs else data
        s = s.replace(b"\\\\", b"")
        self.odd_bs = s.endswith(b"\\")
        s = s.replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
        if not s:
            return None
        a = np.frombuffer(s, np.uint8)
        quote = a == _QUOTE
        inside = (np.cumsum(quote, dtype=np.int64) + int(self.in_str)) & 1  # 1 from an opening "
        moves = np.where(quote | (inside == 1), 0, _OPEN[a])
        self.in_str = bool(inside[-1])
        if not moves.any():
            return None
        depth = np.cumsum(moves, dtype=np.int64) + self.depth
        if int(depth.max()) > self.max_depth:
            self.depth, self.in_str, self.odd_bs = state
            return self._feed_exact(data)
        self.depth = int(depth[-1])
        return None

    def _feed_exact(self, chunk: bytes) -> int | None:
        """Byte-exact scan of ``chunk`` (positions kept), for the offset of the limit."""
        a = np.frombuffer(chunk, np.uint8)
        n = len(a)
        if n == 0:
            return None
        quotes = np.flatnonzero(a == _QUOTE)
        bs = np.flatnonzero(a == _BSLASH)
        if len(quotes) and (len(bs) or self.odd_bs):
            quotes = quotes[~self._escaped(quotes, bs)]
        self._update_bs(bs, n)
        moves = _OPEN[a]
        where = np.flatnonzero(moves)
        if len(where) == 0:
            self.in_str ^= bool(len(quotes) & 1)
            return None
        before = np.searchsorted(quotes, where) + int(self.in_str)
        outside = (before & 1) == 0
        where = where[outside]
        self.in_str ^= bool(len(quotes) & 1)
        if len(where) == 0:
            return None
        depth = np.cumsum(moves[where], dtype=np.int64) + self.depth
        over = np.flatnonzero(depth > self.max_depth)
        if len(over):
            return int(where[over[0]])
        self.depth = int(depth[-1])
        return None

    def _escaped(self, quotes: np.ndarray[Any, Any], bs: np.ndarray[Any, Any]) -> Any:
        """Whether each quote follows an odd run of backslashes (runs may start before chunk)."""
        esc = np.zeros(len(quotes), bool)
        if len(bs):
            brk = np.flatnonzero(np.diff(bs) != 1)
            starts = bs[np.concatenate(([0], brk + 1))]
            ends = bs[np.concatenate((brk, [len(bs) - 1]))]
            k = np.searchsorted(ends, quotes - 1)
            k = np.minimum(k, len(ends) - 1)
            hit = ends[k] == quotes - 1
            run = ends[k] - starts[k] + 1 + ((starts[k] == 0) & self.odd_bs)
            esc = hit & ((run & 1) == 1)
        if self.odd_bs and quotes[0] == 0:
            esc[0] = True
        return esc

    def _update_bs(self, bs: np.ndarray[Any, Any], n: int) -> None:
        if len(bs) == 0 or bs[-1] != n - 1:
            self.odd_bs = False
            return
        run = 1
        i = len(bs) - 1
        while i > 0 and bs[i - 1] == bs[i] - 1:
            i -= 1
            run += 1
        whole = run == n
        self.odd_bs = bool(run & 1) ^ (self.odd_bs and whole)


def depth_cut(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> int | None:
    """Return the offset where nesting first exceeds ``max_depth``, or ``None``.

    Parameters
    ----------
    data
        JSON bytes (one or more values).
    max_depth
        Deepest nesting allowed.

    Returns
    -------
    int or None
        Offset of the first bracket past the limit.
    """
    return _Scan(max_depth).feed(data)


class DepthGuard(io.RawIOBase):
    """Binary stream that raises :class:`JsonTooDeepError` once nesting passes the limit.

    Parameters
    ----------
    fh
        The JSON byte stream to guard.
    max_depth
        Deepest nesting allowed.
    """

    def __init__(self, fh: IO[bytes], max_depth: int = MAX_JSON_DEPTH) -> None:
        self._fh = fh
        self._scan = _Scan(max_depth)
        self._tripped = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """The next bytes; those before the first too-deep bracket, then the error.

        The bytes before the limit are handed out first, so every record before the deep
        one is still parsed.
        """
        if self._tripped:
            raise JsonTooDeepError(f"JSON nested deeper than {self._scan.max_depth} levels")
        data = self._fh.read(size)
        cut = self._scan.feed(data) if data else None
        if cut is not None:
            self._tripped = True
            if cut == 0:
                return self.read(size)
            return data[:cut]
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()
