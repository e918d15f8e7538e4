"""The Zeek ``uid`` join: on a whole table, and streamed within a bounded time window.

Zeek writes an ssl/ssh/http row while its connection is live and the conn row when the
connection ends (or times out), so an application row and its conn row lie close together in
the logs of one sensor: the conn row follows within the connection's remaining lifetime.
:func:`stream_join` therefore holds the application rows only while the conn stream can still
bring their conn row: they are pulled in step with the conn chunks (up to the conn rows' end
time, ``ts + duration``, plus :data:`LEAD`) and evicted once the conn stream's end times have
moved ``window`` + :data:`LEAD` past them. An evicted row that met no conn row is yielded as an
event of its own (as :func:`join_by_uid` keeps unmatched rows) and counted in
:class:`JoinStats` (``evicted_unmatched``): a connection that outlives the window after its
application row loses the join, and the count says how often that happened. Memory is the rows
of one window, not of the input.

:func:`joined_stream` scopes the join per folder, as Zeek writes one folder per sensor and
day: the application logs of a folder join the conn logs of that folder only (unless some
folder holds application logs and nothing else, then every file is one group, as before).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib.io._uidjoin import HeldAppRows, uid_hash
from attrib.io._zeek_map import APP_LOGS
from attrib.schema import conform_events

__all__ = [
    "DEFAULT_JOIN_WINDOW_S",
    "JOIN_COLUMNS",
    "LEAD",
    "JoinStats",
    "JoinWindow",
    "join_by_uid",
    "joined_stream",
    "stream_join",
]

logger = logging.getLogger(__name__)

#: Columns an app-layer row (ssl/ssh/http) contributes to its conn row.
JOIN_COLUMNS = ("ja3", "ja4", "ja4s", "tls_sni", "tls_version", "hassh", "ssh_client", "user_agent")
#: How long (seconds) an application row waits for its conn row once the conn log is past it.
DEFAULT_JOIN_WINDOW_S = 3600.0
#: Slack on both sides of the window: Zeek's default TCP inactivity timeout (5 minutes).
LEAD = pd.Timedelta(minutes=5)

_ALL = Path("\0all")  # the one group key when the join is not scoped per folder


@dataclass
class JoinStats:
    """What the streamed ``uid`` join held and what it let go (``run.json`` ``read.zeek_join``).

    ``evicted_unmatched`` counts application rows evicted by the window before any conn row
    met them (their conn row, if it came later, was not joined); ``unmatched_at_end`` those
    still unmatched when their group's conn logs ended. ``held_peak`` is the most application
    rows held at once.
    """

    window_s: float = DEFAULT_JOIN_WINDOW_S
    groups: int = 0
    app_rows: int = 0
    merged: int = 0
    evicted_unmatched: int = 0
    unmatched_at_end: int = 0
    held_peak: int = 0

    def add(self, other: JoinStats) -> None:
        """Fold another (sequential) join's figures into these (peaks by max, counts summed).

        Parameters
        ----------
        other
            The statistics of a join over other files.
        """
        for f in fields(self):
            if f.name in ("groups", "app_rows", "merged", "evicted_unmatched", "unmatched_at_end"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.held_peak = max(self.held_peak, other.held_peak)

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form for ``run.json``.

        Returns
        -------
        dict
            Every field.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


def join_by_uid(df: pd.DataFrame) -> pd.DataFrame:
    """Merge Zeek ssl/ssh/http rows onto their conn row by ``uid``.

    The conn row receives the app rows' :data:`JOIN_COLUMNS` (first non-null value per ``uid``
    and column; a value the conn row already has is kept). Merged app rows are dropped;
    app rows without a conn row stay as events of their own.

    Parameters
    ----------
    df
        A canonical events table (any sources).

    Returns
    -------
    pandas.DataFrame
        The joined table (a new frame; the input is not modified).

    Examples
    --------
    >>> import attrib
    >>> ev = attrib.read(["conn.log", "ssl.log"])  # doctest: +SKIP  (calls join_by_uid)
    """
    if df.empty or not {"event_type", "uid", "source"} <= set(df.columns):
        return df
    zeek = (df["source"] == "zeek").fillna(False).to_numpy(dtype=bool)
    if not zeek.any():
        return df
    et = df["event_type"]
    has_uid = df["uid"].notna().to_numpy(dtype=bool)
    app = zeek & has_uid & et.isin(APP_LOGS).fillna(False).to_numpy(dtype=bool)
    if not app.any():
        return df
    conn = zeek & has_uid & (et == "conn").fillna(False).to_numpy(dtype=bool)
    conn_uids = df["uid"][conn]
    merged = app & df["uid"].isin(conn_uids).to_numpy(dtype=bool)
    if not merged.any():
        return df
    cols = [c for c in JOIN_COLUMNS if c in df.columns]
    firsts = df.loc[merged, ["uid", *cols]].groupby("uid", sort=False, observed=True)[cols].first()
    out = df.loc[~merged].copy()
    keep_conn = conn[~merged]
    uids = out["uid"][keep_conn]
    for c in cols:
        filled = out[c][keep_conn].fillna(uids.map(firsts[c]).astype(out[c].dtype))
        out.loc[keep_conn, c] = filled
    return out.reset_index(drop=True)


class JoinWindow:
    """The application rows of one group, pulled in step with its conn chunks, evicted by time.

    Parameters
    ----------
    app
        Chunks of the group's application logs (read lazily, in order).
    window_s
        Seconds an application row waits once the conn stream's end times are past it.
    stats
        Receives the figures.
    """

    def __init__(self, app: Iterable[pd.DataFrame], window_s: float, stats: JoinStats) -> None:
        self._app = iter(app)
        self._window = pd.Timedelta(seconds=window_s)
        self._stats = stats
        self._segs: list[tuple[HeldAppRows, pd.Timestamp]] = []
        self._pulled: pd.Timestamp | None = None
        self._mark: pd.Timestamp | None = None
        self._done = False

    def feed(self, c: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """Join one chunk of the group's other files; yields it and any rows evicted after it."""
        if len(c) and c["uid"].notna().any():
            c = conform_events(join_by_uid(c))  # app rows inside the chunk itself, if any
            conn = _zeek_conn(c)
            if conn.any():
                end = self._end(c, conn)
                self._pull(end)
                c = self._merge(c, conn)
                if end is not None:
                    self._mark = end if self._mark is None else max(self._mark, end)
        if len(c):
            yield c
        yield from self._evict()

    def close(self) -> Iterator[pd.DataFrame]:
        """The group's conn logs ended: yield every application row that met no conn row."""
        for seg, _ in self._segs:
            yield from self._release(seg, at_end=True)
        self._segs.clear()
        for c in self._app:
            c = _lean(c)
            self._stats.app_rows += len(c)
            self._stats.unmatched_at_end += len(c)
            if len(c):
                yield conform_events(c)

    def _end(self, c: pd.DataFrame, conn: np.ndarray) -> pd.Timestamp | None:
        """The latest conn end time of the chunk (duration capped at the window)."""
        ts = c["ts"][conn]
        cap = self._window.total_seconds()
        dur = c["duration"][conn].astype("float64").fillna(0.0).clip(0.0, cap)
        end = (ts + pd.to_timedelta(dur.to_numpy(), unit="s")).max()
        return None if pd.isna(end) else end

    def _pull(self, end: pd.Timestamp | None) -> None:
        """Read application chunks until they are past ``end`` + :data:`LEAD`."""
        need = None if end is None else end + LEAD
        got = []
        while not self._done and (self._pulled is None or need is None or self._pulled <= need):
            try:
                chunk = next(self._app)
            except StopIteration:
                self._done = True
                break
            chunk = _lean(chunk)
            if not len(chunk):
                continue
            got.append(chunk)
            top = chunk["ts"].max()  # _lean keeps ts
            if not pd.isna(top):
                self._pulled = top if self._pulled is None else max(self._pulled, top)
        if got:
            rows = _compact(pd.concat(got, ignore_index=True))
            self._stats.app_rows += len(rows)
            cols = [c for c in JOIN_COLUMNS if c in rows.columns]
            self._segs.append((HeldAppRows(rows, cols), rows["ts"].max()))
            held = sum(len(s.rows) for s, _ in self._segs)
            self._stats.held_peak = max(self._stats.held_peak, held)

    def _merge(self, c: pd.DataFrame, conn: np.ndarray) -> pd.DataFrame:
        # oldest segment first: fillna keeps the first non-null value in row order
        if not self._segs:
            return c
        hashes = uid_hash(c["uid"][conn])
        for seg, _ in self._segs:
            c = seg.merge_into(c, conn, hashes)
        return c

    def _evict(self) -> Iterator[pd.DataFrame]:
        if self._mark is None:
            return
        limit = self._mark - self._window - LEAD
        keep = []
        for seg, top in self._segs:
            if pd.isna(top) or top >= limit:
                keep.append((seg, top))
            else:
                yield from self._release(seg, at_end=False)
        self._segs = keep

    def _release(self, seg: HeldAppRows, *, at_end: bool) -> Iterator[pd.DataFrame]:
        rest = seg.rest()
        self._stats.merged += len(seg.rows) - len(rest)
        if at_end:
            self._stats.unmatched_at_end += len(rest)
        else:
            self._stats.evicted_unmatched += len(rest)
        if len(rest):
            yield conform_events(rest)


def stream_join(
    app: Iterable[pd.DataFrame],
    other: Iterable[pd.DataFrame],
    *,
    window_s: float = DEFAULT_JOIN_WINDOW_S,
    stats: JoinStats | None = None,
) -> Iterator[pd.DataFrame]:
    """Join-complete chunks in bounded memory: :func:`join_by_uid` applied while streaming.

    The application rows (``app``) are read in step with the conn rows of ``other`` and held
    for ``window_s`` seconds past the conn stream (see the module notes); application rows that
    never meet their conn row are yielded as events of their own (as :func:`join_by_uid` keeps
    them), when evicted or at the end.

    Parameters
    ----------
    app
        Chunks of the Zeek application logs (see :func:`attrib.io.zeek.is_app_log`), in order.
    other
        Chunks of every other input of the same group.
    window_s
        How long an application row waits for its conn row, in seconds of log time.
    stats
        Receives what was held, merged and evicted.

    Yields
    ------
    pandas.DataFrame
        Non-empty canonical chunks.
    """
    st = stats if stats is not None else JoinStats(window_s=window_s)
    st.groups += 1
    w = JoinWindow(app, window_s, st)
    for c in other:
        yield from w.feed(c)
    yield from w.close()
    logger.info("Zeek uid join: %s", st.as_dict())


Item = tuple[Path, bool]


def joined_stream(
    app: list[Item],
    other: list[Item],
    read: Callable[[list[Item]], Iterator[pd.DataFrame]],
    stats: JoinStats,
) -> Iterator[pd.DataFrame]:
    """Read ``other`` in order, each folder's files joined with that folder's application logs.

    Parameters
    ----------
    app
        The application-log files.
    other
        Every other file, read in this order.
    read
        Chunks of some files.
    stats
        Receives the join's figures (``window_s`` sets the window).

    Yields
    ------
    pandas.DataFrame
        Join-complete chunks.
    """
    key = _group_key([p for p, _ in app], [p for p, _ in other])
    app_by: dict[Path, list[Item]] = {}
    for it in app:
        app_by.setdefault(key(it[0]), []).append(it)
    last = {key(p): i for i, (p, _) in enumerate(other)}
    live: dict[Path, JoinWindow] = {}
    for i, it in enumerate(other):
        k = key(it[0])
        if k not in app_by:
            yield from read([it])
            continue
        if k not in live:
            stats.groups += 1
            live[k] = JoinWindow(read(app_by[k]), stats.window_s, stats)
        for c in read([it]):
            yield from live[k].feed(c)
        if last[k] == i:
            yield from live.pop(k).close()
    for k, items in app_by.items():
        if k not in last:  # application logs with nothing to join onto
            stats.groups += 1
            yield from JoinWindow(read(items), stats.window_s, stats).close()


def _group_key(app: list[Path], other: list[Path]) -> Callable[[Path], Path]:
    """Group by folder when every folder holding application logs holds something else too."""
    folders = {p.parent for p in app}
    if folders <= {p.parent for p in other}:
        return lambda p: p.parent
    return lambda p: _ALL


def _lean(df: pd.DataFrame) -> pd.DataFrame:
    """Only the columns that hold a value (null columns cost ~5-9 bytes a row each)."""
    return df[[c for c in df.columns if c in ("ts", "uid") or df[c].notna().any()]]


def _compact(rows: pd.DataFrame) -> pd.DataFrame:
    """Held rows with their repetitive text columns dictionary-encoded (~90 bytes a row less)."""
    cols = [c for c in ("event_type", *JOIN_COLUMNS) if c in rows.columns]
    for c in cols:
        if rows[c].dtype != "category":
            rows[c] = rows[c].astype("category")
    return rows


def _zeek_conn(df: pd.DataFrame) -> np.ndarray:
    """Zeek conn rows with a uid: the rows application rows merge onto."""
    zeek = (df["source"] == "zeek").fillna(False).to_numpy(dtype=bool)
    conn = (df["event_type"] == "conn").fillna(False).to_numpy(dtype=bool)
    return zeek & conn & df["uid"].notna().to_numpy(dtype=bool)
