"""Open output files, optionally gzip-compressed in a reproducible way (mtime 0)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

__all__ = ["open_out", "out_path"]


def out_path(path: Path, compress: str) -> Path:
    """The file name actually written (``.gz`` appended when compressing)."""
    return path.with_name(path.name + ".gz") if compress == "gz" else path


def open_out(path: Path, compress: str) -> IO[bytes]:
    """Open ``path`` for binary writing, through gzip when ``compress == "gz"``.

    Parameters
    ----------
    path
        Target without the ``.gz`` suffix.
    compress
        ``none`` or ``gz``.

    Returns
    -------
    IO[bytes]
        A writable binary file; closing it closes the underlying file.
    """
    target = out_path(path, compress)
    if compress != "gz":
        return target.open("wb")
    # the header keeps the file's base name and mtime 0: same bytes for the same scenario
    return gzip.GzipFile(filename=str(target), mode="wb", mtime=0, compresslevel=6)  # type: ignore[return-value]
