"""Bounded-memory analysis input: stream chunks into the feature accumulator.

Materialising the whole events table costs ~400 bytes per row (45 canonical columns, mostly
null); a ``large`` scenario has > 10M rows before the Zeek join, more than fits in 4 GB with
the copies the join makes. The batch CLI therefore streams: chunks go straight into
:class:`attrib.features.OriginAccumulator` and only small aggregates stay in memory.

The Zeek join (:func:`attrib.io.zeek.join_by_uid`: ssl/ssh/http rows onto their conn row) needs
the application rows before the conn rows: files whose head says they are Zeek application logs
are read first and kept in lean form (non-null columns only); every later chunk is joined with
the application rows of its uids using the reader's own ``join_by_uid``. Application rows that
never meet their conn row are analysed as events of their own, as ``join_by_uid`` does.

Context inference needs the data before the accumulator can start (it uses the organisation's
offices, services and hours), so when the context is incomplete one extra reading pass collects
what inference looks at (identity rows and distinct connection pairs).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.errors import InputError
from attrib.io import ReadReport, iter_read
from attrib.io._source import expand_paths, open_source
from attrib.pipeline._progress import progress as _progress
from attrib.schema import conform_events, empty_events

__all__ = ["StreamResult", "inference_events", "stream_origins"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Window = Callable[[pd.DataFrame], pd.DataFrame]
_APP = ("ssl", "ssh", "http")


def _is_zeek_app_log(path: Path) -> bool:
    """Whether a file's head says it is a Zeek ssl/ssh/http log (TSV ``#path`` or JSON keys)."""
    try:
        head = open_source(path).head(64 * 1024).decode("utf-8", "replace")
    except InputError:
        return False
    for line in head.splitlines()[:12]:
        if line.startswith("#path"):
            return line.split(maxsplit=1)[-1].strip() in _APP
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except ValueError:
                return False
            from attrib.io._zeek_map import infer_log_type

            kind = rec.get("_path") or infer_log_type(set(rec))
            return "uid" in rec and kind in _APP
    return False


def _lean(df: pd.DataFrame) -> pd.DataFrame:
    """Only the columns that hold a value (null columns cost ~5-9 bytes a row each)."""
    return df[[c for c in df.columns if df[c].notna().any()]]


@dataclass
class StreamResult:
    """What streaming produced besides the accumulator's state."""

    src_ips: set[str] = field(default_factory=set)
    days: list[pd.DataFrame] = field(default_factory=list)
    events: int = 0
    ts_min: pd.Timestamp | None = None
    ts_max: pd.Timestamp | None = None

    def note(self, chunk: pd.DataFrame) -> None:
        """Record a chunk's addresses, per-day counts, size and time span."""
        self.events += len(chunk)
        src = chunk["src_ip"].dropna()
        self.src_ips.update(pd.unique(src))
        ev = chunk.loc[chunk["src_ip"].notna() & chunk["ts"].notna(), ["src_ip", "ts"]]
        if len(ev):
            g = ev.groupby([ev["src_ip"], ev["ts"].dt.floor("D")], observed=True).size()
            self.days.append(g.rename("events").rename_axis(["ip", "day"]).reset_index())
            lo, hi = ev["ts"].min(), ev["ts"].max()
            self.ts_min = lo if self.ts_min is None else min(self.ts_min, lo)
            self.ts_max = hi if self.ts_max is None else max(self.ts_max, hi)

    def day_table(self) -> pd.DataFrame:
        """Per-origin, per-UTC-day event counts."""
        if not self.days:
            return pd.DataFrame({"ip": [], "day": [], "events": []})
        d = pd.concat(self.days, ignore_index=True)
        g = d.groupby(["ip", "day"], observed=True)["events"].sum()
        return g.reset_index()


def _chunks(
    paths: Iterable[Path],
    report: ReadReport,
    desc: str,
    show: bool | None,
    read_kw: dict[str, Any] | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of every path; ``read_kw``: ``format`` and ``options`` for :func:`iter_read`."""
    yield from _progress(
        iter_read(list(paths), skip_unreadable=True, report=report, **(read_kw or {})), desc,
        unit="chunk", enabled=show,
    )  # fmt: skip


def inference_events(
    inputs: Iterable[PathLike],
    window: Window,
    show: bool | None,
    read_kw: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One reading pass keeping what context inference looks at, in bounded memory.

    Identity rows (``src_ip``, ``user``, ``outcome``; no destination) are kept whole, since
    inference counts them; connections are reduced to distinct (source, destination) pairs.

    Parameters
    ----------
    inputs
        The analysis inputs.
    window
        The ``--since``/``--until`` filter.
    show
        Progress bars.
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read` (``--format``,
        ``--flow-mapping``).

    Returns
    -------
    pandas.DataFrame
        Events with ``src_ip``, ``dst_ip``, ``user``, ``outcome``.
    """
    ident, pairs = [], []
    cols = ["src_ip", "dst_ip", "user", "outcome"]
    for c in _chunks(expand_paths(inputs), ReadReport(), "reading (context)", show, read_kw):
        c = window(c)[cols]
        is_id = c["dst_ip"].isna() & c["src_ip"].notna()
        ident.append(c[is_id])
        pairs.append(c.loc[~is_id & c["dst_ip"].notna(), ["src_ip", "dst_ip"]].drop_duplicates())
    parts = ident + ([pd.concat(pairs).drop_duplicates()] if pairs else [])
    if not parts:
        return empty_events()
    return pd.concat(parts, ignore_index=True)


def stream_origins(
    inputs: Iterable[PathLike],
    report: ReadReport,
    context: OrgContext,
    window: Window,
    show: bool | None,
    accumulator: Any,
    read_kw: dict[str, Any] | None = None,
) -> StreamResult:
    """Read every input once, joined as ``join_by_uid`` would, into ``accumulator``.

    Parameters
    ----------
    inputs
        Files, folders or globs.
    report
        Receives rows read/skipped per file and unreadable files.
    context
        The organisation (for logging only; the accumulator holds its own).
    window
        The ``--since``/``--until`` filter.
    show
        Progress bars.
    accumulator
        An :class:`attrib.features.OriginAccumulator` (``update(chunk)``).
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read`.

    Returns
    -------
    StreamResult
        Source addresses, per-day counts, event count and time span.
    """
    from attrib.io.zeek import join_by_uid

    paths = list(expand_paths(inputs))
    app_paths = [p for p in paths if _is_zeek_app_log(p)]
    other = [p for p in paths if p not in set(app_paths)]
    res = StreamResult()
    held: list[pd.DataFrame] = []
    for c in _chunks(app_paths, report, "reading (Zeek application logs)", show, read_kw):
        held.append(_lean(window(c)))
    app = pd.concat(held, ignore_index=True) if held else pd.DataFrame({"uid": []})
    held.clear()
    app_uid = app["uid"].astype("string") if len(app) else pd.Series([], dtype="string")
    used = np.zeros(len(app), dtype=bool)
    logger.info("%s: %d Zeek application rows held for the join", context.name, len(app))
    for c in _chunks(other, report, "reading", show, read_kw):
        c = window(c)
        if len(app) and c["uid"].notna().any():
            hit = app_uid.isin(c["uid"].dropna()).to_numpy(dtype=bool)
            if hit.any():
                used |= hit
                c = conform_events(join_by_uid(pd.concat([c, app[hit]], ignore_index=True)))
        if len(c):
            accumulator.update(c)
            res.note(c)
    rest = app[~used]
    if len(rest):  # application rows without their conn row: events of their own
        rest = conform_events(rest)
        accumulator.update(rest)
        res.note(rest)
    return res
