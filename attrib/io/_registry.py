"""Which reader module handles which format, and in which order formats are sniffed.

Each reader module exposes:

* ``FORMATS: tuple[str, ...]`` — the format names it reads;
* ``sniff(head: bytes) -> str | None`` — the format name if the first bytes (decompressed)
  are its own, else ``None``; it must be cheap and never raise;
* ``read_chunks(source: Source, ctx: ReadContext, fmt: str) -> Iterator[pandas.DataFrame]`` —
  canonical event chunks (see :func:`attrib.schema.conform_events`), at most
  ``ctx.chunksize`` rows each, counting skipped rows with ``ctx.bad``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["READER_MODULES", "format_names", "module_for"]

#: Reader modules in sniffing order: binary magics first, then JSON shapes, then text tables.
READER_MODULES: tuple[str, ...] = (
    "pcap", "events", "suricata", "signin",
    # text tables last; "netflow" also sniffs "flow" for any unclaimed table, so it stays last
    "zeek", "netflow",
)  # fmt: skip


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"attrib.io.{name}")


def format_names() -> list[str]:
    """All format names any reader accepts (for ``--format``).

    Returns
    -------
    list of str
        Sorted format names.
    """
    names: set[str] = set()
    for mod in READER_MODULES:
        names.update(_load(mod).FORMATS)
    return sorted(names)


def module_for(fmt: str) -> ModuleType:
    """Return the reader module that reads ``fmt``.

    Parameters
    ----------
    fmt
        A format name.

    Returns
    -------
    module
        The reader module.
    """
    for mod in READER_MODULES:
        m = _load(mod)
        if fmt in m.FORMATS:
            return m
    raise KeyError(fmt)
