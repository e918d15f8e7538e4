"""When the pcap reader runs its compiled (numba) code, and loading that code on demand.

numba is part of the ``pcap`` extra. Importing it costs about a second and ~50 MB, loading its
cached machine code another ~100 MB, and compiling it on first use after an install takes one
to two minutes on a small machine. The plain Python/numpy path gives the same connections
(``tests/io/test_pcap_fast.py``) and is faster below :data:`SMALL_CAPTURE_BYTES`
(``bench/pcap_crossover.py``), so a small capture never imports numba; a large one uses the
compiled code, with one line on stderr the first time it has to be compiled.

The choice travels with the read in ``ctx.options["pcap_compiled"]`` (the record walk and the
decoder may run in a prefetch thread, so it cannot be a context variable).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "SMALL_CAPTURE_BYTES",
    "available",
    "choose",
    "kernels",
    "note_compiled",
    "wanted",
]

logger = logging.getLogger(__name__)
#: one-line notices for the terminal (the CLI prints them plainly, without a timestamp)
notice = logging.getLogger("attrib.notice")

#: captures smaller than this (bytes on disk) are read without numba in ``auto`` mode
SMALL_CAPTURE_BYTES = 48 << 20
_WALK = "attrib.io.pcap._walk"
_state: dict[str, Any] = {}


def available() -> bool:
    """Whether numba is installed (found without importing it)."""
    if "available" not in _state:
        _state["available"] = importlib.util.find_spec("numba") is not None
    return bool(_state["available"])


def kernels() -> ModuleType | None:
    """The compiled record walk and decoder (:mod:`attrib.io.pcap._walk`), or None without numba."""
    if not available():
        return None
    try:
        return importlib.import_module(_WALK)
    except ImportError:  # a broken numba install: the plain path gives the same result
        _state["available"] = False
        return None


def wanted(ctx: Any) -> bool:
    """Whether this read (its ``ReadContext``) runs the compiled code."""
    options = getattr(ctx, "options", None) or {}
    return bool(options.get("pcap_compiled", True)) and available()


def _marker() -> Path:
    from attrib._paths import user_cache_dir

    try:
        from importlib.metadata import version

        nv = version("numba")
    except Exception:  # noqa: BLE001 - metadata of an odd install: any stable name does
        nv = "unknown"
    py = f"{sys.version_info.major}{sys.version_info.minor}"
    return user_cache_dir() / f"pcap-compiled-numba{nv}-py{py}.ok"


def choose(engine: str, nbytes: int | None) -> bool:
    """Compiled code or not for one capture.

    Parameters
    ----------
    engine
        ``"python"`` (never), ``"numba"`` (whenever numba is installed) or ``"auto"``
        (for captures of :data:`SMALL_CAPTURE_BYTES` or more, or once numba is loaded anyway).
    nbytes
        The capture's size on disk (None: unknown, treated as large).

    Returns
    -------
    bool
        True for the compiled path.
    """
    large = nbytes is None or nbytes >= SMALL_CAPTURE_BYTES
    if engine == "python":
        return False
    if not available():
        if large and "hinted" not in _state:
            _state["hinted"] = True
            notice.info("large captures read several times faster with numba "
                        "(pip install 'attrib[pcap]')")  # fmt: skip
        return False
    if engine != "numba" and not large and _WALK not in sys.modules:
        return False
    if "announced" not in _state:
        _state["announced"] = True
        if not _marker().exists():  # a progress line: the first compile is long and silent
            notice.info("compiling the fast pcap reader (first use after install: about 1-2 "
                        "minutes, then cached)")  # fmt: skip
    return True


def note_compiled() -> None:
    """Remember that the compiled code was built (so the next first read says nothing)."""
    try:
        m = _marker()
        m.parent.mkdir(parents=True, exist_ok=True)
        m.touch()
    except OSError as exc:  # an unwritable cache folder only costs the line next time
        logger.debug("cannot write %s: %s", exc.filename, exc.strerror)
