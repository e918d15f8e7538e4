"""What every reader shares: the read context, bad-row accounting and per-file statistics."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from attrib.errors import TooManyBadRowsError

__all__ = ["DEFAULT_CHUNKSIZE", "DEFAULT_MAX_BAD_ROWS", "FileStats", "ReadContext", "utc_ns"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNKSIZE = 500_000
#: Default bad-row threshold: an absolute count, or a fraction of rows read when < 1.
DEFAULT_MAX_BAD_ROWS = 10_000


_TS_NS = "datetime64[ns, UTC]"
_NS_MIN = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX = pd.Timestamp.max.tz_localize("UTC")


def utc_ns(ts: pd.Series) -> pd.Series:
    """``ts`` as ``datetime64[ns, UTC]``, values outside 1677-2262 nulled (never an error).

    pandas parses timestamps at the unit the text needs (seconds, microseconds), where year
    2423 is valid; the events schema is nanoseconds, where it overflows. One flipped digit in
    one record must cost that record's timestamp, not the file.

    Parameters
    ----------
    ts
        A tz-aware (UTC) datetime series of any unit.

    Returns
    -------
    pandas.Series
        Nanosecond UTC timestamps; out-of-range values are ``NaT``.
    """
    if str(ts.dtype) == _TS_NS:
        return ts
    ok = ts.isna() | ((ts >= _NS_MIN) & (ts <= _NS_MAX))
    if not bool(ok.all()):
        ts = ts.where(ok)
    return ts.astype("datetime64[ns, UTC]")


@dataclass
class FileStats:
    """Row counts of one input file."""

    path: str
    format: str = ""
    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: rows kept but with a value nulled (e.g. btest's masked timestamps), by reason
    nulled: Counter[str] = field(default_factory=Counter)
    first_bad_line: dict[str, int] = field(default_factory=dict)
    #: well-formed rows not turned into events, by reason (e.g. a Zeek ``x509`` log's rows
    #: carry no connection endpoints); not bad rows, so they never count toward the limit
    unused: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        """Number of skipped rows, all reasons together."""
        return sum(self.skipped.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form, for ``run.json`` and ``--json`` output.

        Returns
        -------
        dict
            Path, format, rows read, skipped rows by reason, rows not used by reason.
        """
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "skipped": dict(self.skipped),
            "skipped_total": self.skipped_total,
            "nulled": dict(self.nulled),
            "first_bad_line": dict(self.first_bad_line),
            "unused": dict(self.unused),
        }


@dataclass
class ReadContext:
    """Options and accounting handed to a reader for one file.

    Readers call :meth:`bad` for every row they skip; it raises
    :class:`~attrib.errors.TooManyBadRowsError` past ``max_bad_rows``.
    """

    stats: FileStats
    chunksize: int = DEFAULT_CHUNKSIZE
    max_bad_rows: int = DEFAULT_MAX_BAD_ROWS
    options: dict[str, Any] = field(default_factory=dict)

    def bad(self, reason: str, line: int | None = None, count: int = 1) -> None:
        """Count ``count`` skipped rows for ``reason`` (first line kept for the report).

        Parameters
        ----------
        reason
            Short reason, e.g. ``"field count mismatch"``.
        line
            1-based line or record number of the (first) bad row.
        count
            How many rows this call accounts for.
        """
        st = self.stats
        st.skipped[reason] += count
        if line is not None and reason not in st.first_bad_line:
            st.first_bad_line[reason] = line
            logger.debug("%s:%s: skipped row: %s", st.path, line, reason)
        if st.skipped_total > self.max_bad_rows:
            where = f"{st.path}:{st.first_bad_line.get(reason, '?')}"
            raise TooManyBadRowsError(
                f"{where}: more than {self.max_bad_rows} bad rows "
                f"({', '.join(f'{k}: {v}' for k, v in st.skipped.items())}); "
                "is this the right format? (raise the limit with --max-bad-rows)"
            )
