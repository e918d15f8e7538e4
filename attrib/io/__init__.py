"""Readers: every supported input format into canonical *events* chunks.

>>> import attrib
>>> events = attrib.read(["conn.log", "signins.json"])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attrib.errors import FormatError, InputError, UnknownFormatError, UnreadableFileError
from attrib.io._assemble import EventsBuilder, expected_rows
from attrib.io._base import DEFAULT_CHUNKSIZE, DEFAULT_MAX_BAD_ROWS, FileStats, ReadContext
from attrib.io._registry import format_names, module_for
from attrib.io._source import Source, expand_inputs, expand_paths, open_source
from attrib.io._zeekjoin import DEFAULT_JOIN_WINDOW_S, JoinStats, joined_stream
from attrib.io.detect import detect_format
from attrib.schema import conform_events, empty_events

__all__ = [
    "DEFAULT_CHUNKSIZE",
    "DEFAULT_JOIN_WINDOW_S",
    "DEFAULT_MAX_BAD_ROWS",
    "FileStats",
    "JoinStats",
    "ReadContext",
    "ReadReport",
    "Source",
    "detect_format",
    "expand_paths",
    "format_names",
    "iter_read",
    "join_events",
    "open_source",
    "read",
]

logger = logging.getLogger(__name__)

#: :func:`read`'s chunk size: only the transient memory depends on it (see ``_assemble``).
READ_CHUNKSIZE = 1 << 18

PathLike = str | os.PathLike[str]


@dataclass
class ReadReport:
    """What a read did: per-file statistics, unreadable files skipped, side files passed over.

    ``side`` lists files found beside the logs that are not logs (``org.toml``, ground truth,
    READMEs): recognised by name, never read, not failures. ``join`` holds what the streamed
    Zeek ``uid`` join held and evicted (``iter_read(..., join=True)``).
    """

    files: list[FileStats] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    side: list[str] = field(default_factory=list)
    join: JoinStats = field(default_factory=JoinStats)

    @property
    def rows(self) -> int:
        """Rows read over all files."""
        return sum(f.rows for f in self.files)

    @property
    def skipped(self) -> int:
        """Rows skipped over all files."""
        return sum(f.skipped_total for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form for ``run.json`` and ``--json``.

        Returns
        -------
        dict
            Totals, per-file statistics and failed files.
        """
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "files": [f.as_dict() for f in self.files],
            "failed": [{"path": p, "error": e} for p, e in self.failed],
            "side_files": list(self.side),
            "zeek_join": self.join.as_dict(),
        }


def _read_file(
    path: os.PathLike[str] | str,
    fmt: str | None,
    chunksize: int,
    max_bad_rows: int,
    options: dict[str, Any],
) -> tuple[FileStats, Iterator[pd.DataFrame]]:
    src = open_source(path)
    detected = fmt or detect_format(src)
    try:
        mod = module_for(detected)
    except KeyError:
        raise UnknownFormatError(
            f"unknown format {detected!r}; choose one of: {', '.join(format_names())}"
        ) from None
    if fmt:
        sniffed = mod.sniff(src.head())
        if sniffed is None or sniffed not in mod.FORMATS:
            raise UnknownFormatError(f"{src.path}: content is not {fmt} (forced with --format)")
    stats = FileStats(path=str(src.path), format=detected)
    ctx = ReadContext(stats=stats, chunksize=chunksize, max_bad_rows=max_bad_rows, options=options)
    return stats, mod.read_chunks(src, ctx, detected)


def iter_read(
    inputs: PathLike | Iterable[PathLike],
    format: str | None = None,
    *,
    chunksize: int = DEFAULT_CHUNKSIZE,
    max_bad_rows: int = DEFAULT_MAX_BAD_ROWS,
    skip_unreadable: bool | None = None,
    report: ReadReport | None = None,
    options: dict[str, Any] | None = None,
    on_chunk: Callable[[FileStats, int], None] | None = None,
    where: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    join: bool = False,
    join_window_s: float = DEFAULT_JOIN_WINDOW_S,
) -> Iterator[pd.DataFrame]:
    """Stream canonical event chunks from files, folders or globs.

    Memory is bounded by ``chunksize`` (plus what a reader must keep per live connection, and
    with ``join`` the Zeek application rows of one join window).

    Parameters
    ----------
    inputs
        One or more files, folders or glob patterns; plain or .gz/.bz2/.zst.
    format
        Force a format instead of sniffing it from content.
    chunksize
        Rows per chunk at most.
    max_bad_rows
        Skipped rows allowed per file before the read fails.
    skip_unreadable
        When true, an unreadable, unrecognised or malformed file is recorded in
        ``report.failed`` and skipped; when false its error is raised. ``None`` (default):
        skip files found inside folders or by globs (e.g. a README beside the logs), raise
        for files named explicitly.
    report
        Filled with per-file statistics as files are read.
    options
        Reader-specific options (e.g. ``{"flow_mapping": "argus.toml"}``).
    on_chunk
        Called with the file's statistics and the chunk's row count after each chunk.
    where
        A row filter applied to every chunk as it is read (before any join), e.g. a time
        window.
    join
        Yield *join-complete* chunks: Zeek ssl/ssh/http rows are read in step with the conn
        logs of their folder and merged onto their conn row by ``uid`` (what :func:`read` does
        on the whole table, within a time window; see :mod:`attrib.io._zeekjoin`). What was
        held and evicted goes to ``report.join``.
    join_window_s
        How long, in seconds of log time, an application row waits for its conn row once the
        conn log is past it (a connection lasting longer after it loses the join, counted in
        ``report.join.evicted_unmatched``).

    Yields
    ------
    pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES`.
    """
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    rep = report if report is not None else ReadReport()
    args = (format, chunksize, max_bad_rows, skip_unreadable, rep, options or {}, on_chunk)
    side: list[Path] = []
    items = list(expand_inputs(inputs, side))
    rep.side.extend(str(p) for p in side if str(p) not in rep.side)
    if not join:
        yield from _filtered(_iter_files(items, *args), where)
        return
    from attrib.io.zeek import is_app_log

    app = [it for it in items if is_app_log(it[0])]
    other = [it for it in items if it not in app]
    rep.join.window_s = join_window_s
    yield from joined_stream(app, other, lambda its: _filtered(_iter_files(its, *args), where),
                             rep.join)  # fmt: skip


def _filtered(
    chunks: Iterator[pd.DataFrame], where: Callable[[pd.DataFrame], pd.DataFrame] | None
) -> Iterator[pd.DataFrame]:
    return chunks if where is None else (where(c) for c in chunks)


def _iter_files(
    items: Iterable[tuple[Path, bool]],
    format: str | None,
    chunksize: int,
    max_bad_rows: int,
    skip_unreadable: bool | None,
    rep: ReadReport,
    options: dict[str, Any],
    on_chunk: Callable[[FileStats, int], None] | None,
) -> Iterator[pd.DataFrame]:
    for path, explicit in items:
        skip = (not explicit) if skip_unreadable is None else skip_unreadable
        stats = None
        try:
            stats, chunks = _read_file(path, format, chunksize, max_bad_rows, options)
            rep.files.append(stats)
            for chunk in chunks:
                stats.rows += len(chunk)
                if on_chunk is not None:
                    on_chunk(stats, len(chunk))
                yield chunk
        except (UnreadableFileError, UnknownFormatError, FormatError) as exc:
            # a malformed file inside a folder costs that file (named in the report), not
            # the whole read; rows it yielded before the error stay
            if not skip:
                raise
            logger.info("skipping %s", exc)
            if stats is not None and not stats.rows and stats in rep.files:
                rep.files.remove(stats)  # refused after opening (e.g. a pcap's link type)
            rep.failed.append((str(path), str(exc)))
        except InputError:
            raise


def read(
    inputs: PathLike | Iterable[PathLike],
    format: str | None = None,
    *,
    chunksize: int = READ_CHUNKSIZE,
    max_bad_rows: int = DEFAULT_MAX_BAD_ROWS,
    skip_unreadable: bool | None = None,
    report: ReadReport | None = None,
    options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Read inputs into one canonical *events* table.

    Zeek ``ssl``/``ssh``/``http`` rows are joined onto their ``conn`` row by ``uid`` when both
    are present.

    Parameters
    ----------
    inputs
        Files, folders or glob patterns.
    format
        Force a format instead of sniffing it.
    chunksize
        Rows per chunk while reading. The result is one table either way; smaller chunks
        keep the transient memory beside it small (hence a smaller default than
        :func:`iter_read`'s).
    max_bad_rows, skip_unreadable, report, options
        As for :func:`iter_read`.

    Returns
    -------
    pandas.DataFrame
        The events table.

    Examples
    --------
    >>> import attrib
    >>> ev = attrib.read("data/samples/demo")  # doctest: +SKIP
    """
    if not isinstance(inputs, str | os.PathLike):
        inputs = list(inputs)  # walked twice: for the size estimate, then to read
    # appends each chunk as it comes, so the table is never held twice
    builder = EventsBuilder(_expected_rows(inputs))
    for chunk in iter_read(
        inputs, format, chunksize=chunksize, max_bad_rows=max_bad_rows,
        skip_unreadable=skip_unreadable, report=report, options=options,
    ):  # fmt: skip
        builder.add(chunk)
    if not builder.rows:
        return empty_events()
    return join_events(builder.build())


def _expected_rows(inputs: PathLike | Iterable[PathLike]) -> int:
    """Upper estimate of the rows ``inputs`` hold (0 when the paths cannot be listed yet)."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else inputs
    try:
        return expected_rows([p for p, _ in expand_inputs(items)])
    except (InputError, OSError):
        return 0


def join_events(df: pd.DataFrame) -> pd.DataFrame:
    """The cross-file steps that need the whole events table: Zeek rows joined by ``uid``.

    :func:`read` applies it to what it read; a caller that assembles the events table from
    :func:`iter_read` chunks itself applies it once at the end (streamed callers use
    ``iter_read(..., join=True)`` instead).

    Parameters
    ----------
    df
        Canonical events, possibly from several files.

    Returns
    -------
    pandas.DataFrame
        The joined, conformed events table.
    """
    from attrib.io.zeek import join_by_uid

    return conform_events(join_by_uid(df))
