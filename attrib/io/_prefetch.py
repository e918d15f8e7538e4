"""Run an iterator one or more steps ahead in a background thread (readers' I/O and parsing)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["prefetch"]

_T = TypeVar("_T")
_DONE = object()


def prefetch(items: Iterator[_T], depth: int, name: str) -> Iterator[_T]:
    """Run ``items`` in a background thread, at most ``depth`` items ahead; re-raise its errors.

    Parameters
    ----------
    items
        An iterator (its work should release the GIL to gain anything).
    depth
        How many produced items may wait.
    name
        Name of the worker thread.

    Yields
    ------
    object
        The items, in order.
    """
    q: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for it in items:
                if not put((True, it)):
                    return
            put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
            put((False, exc))

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while True:
            ok, it = q.get()
            if not ok:
                raise it
            if it is _DONE:
                return
            yield it
    finally:
        stop.set()
        worker.join()
