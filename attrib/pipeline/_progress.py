"""Progress reporting: a bar on a terminal, quiet structured log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["is_tty", "progress"]

logger = logging.getLogger("attrib.progress")
T = TypeVar("T")


def is_tty() -> bool:
    """Whether stderr is an interactive terminal.

    Returns
    -------
    bool
        True on a terminal.
    """
    return sys.stderr.isatty()


def progress(
    iterable: Iterable[T],
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on a TTY; log start and end otherwise.

    Parameters
    ----------
    iterable
        What to iterate.
    desc
        Step name, e.g. ``"reading"``.
    total
        Expected number of items, if known.
    unit
        Unit name for the bar.
    enabled
        Force the bar on or off; default: on when stderr is a terminal.

    Yields
    ------
    object
        The items of ``iterable``.
    """
    show = is_tty() if enabled is None else enabled
    if show:
        from tqdm import tqdm

        yield from tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, file=sys.stderr)
        return
    logger.info("%s: started", desc)
    n = 0
    for item in iterable:
        n += 1
        yield item
    logger.info("%s: done (%d %s)", desc, n, unit)
