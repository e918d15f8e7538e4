"""Per-stage wall time and peak memory for ``run.json``.

Peak RSS *per stage* is sampled by a background thread (``/proc/self/statm`` every 20 ms on
Linux); the process-wide peak comes from ``getrusage``. Elsewhere only the latter is reported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from attrib.pipeline._progress import StageProgress

__all__ = ["RunStats", "release_memory", "rss_mb"]

logger = logging.getLogger("attrib.pipeline")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float | None:
    """Current resident set size in MB, or None where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Give memory freed by a finished stage back to the operating system.

    Stages free their intermediate tables when they end, but glibc's and Arrow's allocators
    keep freed pages for reuse; a later stage's imports and tables then come on top of them.
    Collecting cycles, ``malloc_trim`` and Arrow's ``release_unused`` return them (tens of MB
    on the demo). Cheap: a few milliseconds.
    """
    import gc

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Any:
    if "trim" not in _LIBC:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None).malloc_trim  # glibc; absent on musl
            except (OSError, AttributeError):
                fn = None
        _LIBC["trim"] = fn
    return _LIBC["trim"]


_LIBC: dict[str, Any] = {}


def _maxrss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class _Sampler(threading.Thread):
    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="attrib-rss-sampler")
        self.interval = interval
        self.peak = rss_mb() or 0.0
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.wait(self.interval):
            cur = rss_mb()
            if cur is not None and cur > self.peak:
                self.peak = cur

    def stop(self) -> float:
        self._stop_evt.set()
        self.join()
        cur = rss_mb()
        return max(self.peak, cur or 0.0)


@dataclass
class RunStats:
    """Collects one record per pipeline stage."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    #: the terminal's progress line (None: none shown)
    progress: StageProgress | None = None

    @contextlib.contextmanager
    def stage(
        self, name: str, done: Callable[[], float | None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Time a stage and sample its peak RSS; yields a dict for extra figures (rows...).

        ``done()`` gives the fraction of the stage done, for the progress line's ETA. The
        record gets ``rows_per_s`` when the stage set ``rows``.
        """
        rec: dict[str, Any] = {"stage": name}
        sampler = _Sampler() if rss_mb() is not None else None
        if sampler is not None:
            sampler.start()
        if self.progress is not None:
            self.progress.start(name, done)
        t0 = time.perf_counter()
        logger.info("stage %s: started", name)
        try:
            yield rec
        finally:
            dt = time.perf_counter() - t0
            rec["seconds"] = round(dt, 3)
            rows = rec.get("rows_in", rec.get("rows"))  # rows_in: a stage that reduces
            if isinstance(rows, int):
                rec["rows_per_s"] = round(rows / dt) if dt > 0 else None
            if self.progress is not None:
                self.progress.finish(rec.get("rows"))
            release_memory()
            rec["peak_rss_mb"] = round(sampler.stop() if sampler else _maxrss_mb(), 1)
            self.stages.append(rec)
            logger.info("stage %s: %.2f s, peak %.0f MB", name, rec["seconds"], rec["peak_rss_mb"])

    def as_dict(self) -> dict[str, Any]:
        """Stages, total wall time and process peak RSS."""
        return {
            "stages": self.stages,
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "peak_rss_mb": round(_maxrss_mb(), 1),
        }
