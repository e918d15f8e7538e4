"""Progress of a run on the terminal: one line per stage that takes more than a second.

:class:`StageProgress` is driven by :class:`attrib.pipeline._runstats.RunStats` (a stage
starts and ends) and by :func:`progress` (chunks pass by: their rows are counted). A ticker
thread redraws the line of the running stage twice a second once it has run for
:data:`SHOW_AFTER` seconds: stage name, rows so far, rows/s and, where the total is known
(bytes of the input files read so far), percent done and ETA. On a terminal the line is
redrawn in place; with ``--progress`` on a pipe or file it is written once a second. It goes
to stderr only, so ``--json`` output stays clean. When off, start and end are logged at INFO.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

__all__ = [
    "SHOW_AFTER",
    "StageProgress",
    "active",
    "byte_fraction",
    "for_run",
    "is_tty",
    "progress",
]

logger = logging.getLogger("attrib.progress")
T = TypeVar("T")

#: a stage shorter than this prints nothing
SHOW_AFTER = 1.0
#: below this fraction done an ETA is mostly noise (files of very different sizes)
_ETA_FROM = 0.2
_ACTIVE: list[StageProgress] = []


def is_tty() -> bool:
    """Whether stderr is an interactive terminal.

    Returns
    -------
    bool
        True on a terminal.
    """
    return sys.stderr.isatty()


def for_run(show: bool | None) -> StageProgress | None:
    """The progress line of a run: on (True), off (False), on a terminal only (None)."""
    return StageProgress() if (is_tty() if show is None else show) else None


def active() -> StageProgress | None:
    """The progress line of the running stage, if one is shown."""
    return _ACTIVE[-1] if _ACTIVE else None


def _num(x: float) -> str:
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div * 10:
            return f"{x / div:,.0f}{unit}"
    return f"{x:,.0f}"


def _clock(s: float) -> str:
    s = max(0, int(round(s)))
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class StageProgress:
    """The progress line of one run (one stage at a time).

    Parameters
    ----------
    stream
        Where the line goes (default: stderr).
    tty
        Redraw in place (True) or write a new line each second (False); default: whether
        ``stream`` is a terminal.
    interval
        Seconds between redraws.
    """

    def __init__(
        self, stream: IO[str] | None = None, tty: bool | None = None, interval: float = 0.5
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if self.tty else max(interval, 1.0)
        self._lock = threading.Lock()
        self._name: str | None = None
        self._t0 = 0.0
        self._rows = 0
        self._done: Callable[[], float | None] | None = None
        self._shown = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- driven by RunStats.stage ---------------------------------------------------------
    def start(self, name: str, done: Callable[[], float | None] | None = None) -> None:
        """A stage starts; ``done()`` gives its fraction done (0-1) when that is known."""
        with self._lock:
            self._name, self._t0, self._rows, self._done, self._shown = (
                name, time.perf_counter(), 0, done, False,
            )  # fmt: skip
        _ACTIVE.append(self)
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, daemon=True, name="attrib-progress")
        self._thread.start()

    def add(self, rows: int) -> None:
        """Rows the running stage has handled since the last call."""
        with self._lock:
            self._rows += rows

    def finish(self, rows: int | None = None) -> None:
        """The stage ended; if its line was shown, it is completed with the totals."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        with self._lock:
            if rows is not None:
                self._rows = rows
            if self._shown:
                dt = time.perf_counter() - self._t0
                rate = f", {_num(self._rows / dt)} rows/s" if self._rows and dt > 0 else ""
                self._write(f"{self._name}: {self._rows:,} rows in {dt:.1f} s{rate}", end=True)
            self._name = None

    # -- the line -------------------------------------------------------------------------
    def line(self) -> str:
        """The current line (without the ``attrib:`` prefix)."""
        dt = time.perf_counter() - self._t0
        parts = [f"{self._name}:"]
        if self._rows:  # stages that count nothing while they run show their time only
            parts.append(f"{self._rows:,} rows, {_num(self._rows / dt)} rows/s,")
        frac = self._done() if self._done is not None else None
        if frac is not None and frac > 0:
            eta = f" ETA {_clock(dt * (1 - frac) / frac)}" if frac >= _ETA_FROM else ""
            parts.append(f"{min(frac, 1.0):.0%}{eta},")
        parts.append(_clock(dt))
        return " ".join(parts)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._name is None or time.perf_counter() - self._t0 < SHOW_AFTER:
                    continue
                try:
                    text = self.line()
                except Exception:  # noqa: BLE001 - a progress line never breaks a run
                    continue
                self._shown = True
                self._write(text)

    def _write(self, text: str, end: bool = False) -> None:
        try:
            if self.tty:
                self.stream.write(f"\r\x1b[2Kattrib: {text}" + ("\n" if end else ""))
            else:
                self.stream.write(f"attrib: {text}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stderr: nothing to show
            pass


def progress(
    iterable: Iterable[T],
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Count the rows of the chunks that pass by into the running stage's progress line.

    Parameters
    ----------
    iterable
        What to iterate (DataFrame chunks count their rows; other items count nothing).
    desc
        Step name, e.g. ``"reading"`` (logged at INFO when no line is shown).
    total
        Expected number of items, if known (logged).
    unit
        Unit name of the items (logged).
    enabled
        Kept for callers; whether a line is shown is the run's choice (``analyze(progress=)``).

    Yields
    ------
    object
        The items of ``iterable``.
    """
    line = active()
    logger.info("%s: started", desc)
    n = 0
    for item in iterable:
        n += 1
        if line is not None and hasattr(item, "columns"):
            line.add(len(item))  # type: ignore[arg-type]
        yield item
    logger.info("%s: done (%d %s)", desc, n, unit)


def byte_fraction(report: Any, paths: Iterable[Any]) -> Callable[[], float | None]:
    """``done()`` for the read stage: bytes of the input files read so far over their total."""
    import os
    from pathlib import Path

    sizes: dict[str, int] = {}
    for p in paths:
        p = Path(p)
        files = [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p]
        for f in files:
            try:
                sizes[str(f)] = f.stat().st_size
            except OSError:
                continue
    total = sum(sizes.values())

    def done() -> float | None:
        if not total:
            return None
        seen = [s.path for s in list(report.files)[:-1]] + [p for p, _ in list(report.failed)]
        got = sum(sizes.get(str(p), sizes.get(os.path.normpath(str(p)), 0)) for p in seen)
        return min(got / total, 0.99)

    return done
