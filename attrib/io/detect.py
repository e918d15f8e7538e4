"""Sniff an input's format from its content (never from its file name)."""

from __future__ import annotations

import logging

from attrib.errors import UnknownFormatError
from attrib.io._registry import READER_MODULES, _load
from attrib.io._source import Source

__all__ = ["detect_format", "sniff_bytes"]

logger = logging.getLogger(__name__)


def sniff_bytes(head: bytes) -> str | None:
    """Return the format whose reader claims these leading bytes, or ``None``.

    Parameters
    ----------
    head
        The first bytes of the decompressed content.

    Returns
    -------
    str or None
        A format name.
    """
    for mod in READER_MODULES:
        fmt = _load(mod).sniff(head)
        if fmt:
            return str(fmt)
    return None


def detect_format(source: Source) -> str:
    """Detect the format of ``source`` from its content.

    Parameters
    ----------
    source
        The input file.

    Returns
    -------
    str
        A format name.

    Raises
    ------
    UnknownFormatError
        When no reader recognises the content.
    """
    head = source.head()
    if not head:
        raise UnknownFormatError(f"{source.path}: empty file")
    fmt = sniff_bytes(head)
    if fmt is None:
        raise UnknownFormatError(
            f"{source.path}: unrecognised content (not pcap/pcapng, Zeek, NetFlow CSV, "
            "Suricata EVE, Entra ID, Okta or Microsoft 365 logs); use --format to force one"
        )
    logger.debug("%s: detected %s", source.path, fmt)
    return fmt
