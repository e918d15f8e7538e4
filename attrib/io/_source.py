"""Input sources: path expansion (files, folders, globs) and transparent decompression."""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from attrib.errors import UnreadableFileError

__all__ = ["Source", "expand_inputs", "expand_paths", "open_source"]

_GZIP = b"\x1f\x8b"
_BZ2 = b"BZh"
_ZSTD = b"\x28\xb5\x2f\xfd"
HEAD_BYTES = 64 * 1024


def _compression(magic: bytes) -> str | None:
    if magic.startswith(_GZIP):
        return "gzip"
    if magic.startswith(_BZ2):
        return "bz2"
    if magic.startswith(_ZSTD):
        return "zstd"
    return None


@dataclass(frozen=True)
class Source:
    """One input file: its path and compression (sniffed from magic bytes)."""

    path: Path
    compression: str | None

    def open(self) -> IO[bytes]:
        """Open the (decompressed) byte stream.

        Returns
        -------
        IO[bytes]
            A binary stream positioned at the start of the decompressed content.
        """
        try:
            if self.compression == "gzip":
                return gzip.open(self.path, "rb")  # type: ignore[return-value]
            if self.compression == "bz2":
                return bz2.open(self.path, "rb")
            raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - caller closes
        except OSError as exc:
            raise UnreadableFileError(f"{self.path}: cannot open: {exc.strerror}") from None
        if self.compression == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return raw

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """Return up to ``n`` decompressed bytes from the start of the file.

        Parameters
        ----------
        n
            How many bytes at most.

        Returns
        -------
        bytes
            The head of the content.
        """
        try:
            with self.open() as fh:
                return _read_upto(fh, n)
        except (OSError, EOFError, ValueError) as exc:
            raise UnreadableFileError(f"{self.path}: cannot decompress: {exc}") from None
        except Exception as exc:  # zstd raises its own ZstdError
            if type(exc).__name__ == "ZstdError":
                raise UnreadableFileError(f"{self.path}: cannot decompress: {exc}") from None
            raise


def _read_upto(fh: IO[bytes], n: int) -> bytes:
    buf = io.BytesIO()
    while buf.tell() < n:
        chunk = fh.read(n - buf.tell())
        if not chunk:
            break
        buf.write(chunk)
    return buf.getvalue()


def open_source(path: str | os.PathLike[str]) -> Source:
    """Return a :class:`Source` for a file, sniffing its compression from magic bytes.

    Parameters
    ----------
    path
        A file path.

    Returns
    -------
    Source
        The file with its compression.
    """
    p = Path(path)
    if not p.exists():
        raise UnreadableFileError(f"{p}: no such file")
    if not p.is_file():
        raise UnreadableFileError(f"{p}: not a regular file")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise UnreadableFileError(f"{p}: cannot open: {exc.strerror}") from None
    return Source(p, _compression(magic))


#: Files that sit beside logs without being logs: configuration, notes, ground truth.
_SIDE_SUFFIXES = frozenset({".toml", ".md", ".rst", ".yaml", ".yml", ".ini", ".cfg", ".ipynb",
                            ".py", ".sh", ".html", ".pdf"})  # fmt: skip
_SIDE_NAME = re.compile(
    r"^(readme|licen[cs]e|changelog|notes)(\.|$)|^truth([._-]|$)|^scenario\.json$", re.IGNORECASE
)


def is_side_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file found beside logs is a side file (``org.toml``, ``truth.parquet``, a README).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    bool
        True for configuration, documentation and ground-truth files, by name.
    """
    p = Path(path)
    return p.suffix.lower() in _SIDE_SUFFIXES or _SIDE_NAME.search(p.name) is not None


def expand_inputs(
    inputs: Iterable[str | os.PathLike[str]], side: list[Path] | None = None
) -> Iterator[tuple[Path, bool]]:
    """Like :func:`expand_paths`, also saying whether each file was named explicitly.

    Side files (:func:`is_side_file`) found in a folder or by a glob are not yielded; a file
    named explicitly always is.

    Parameters
    ----------
    inputs
        Paths, folders or glob patterns.
    side
        Receives the side files passed over.

    Yields
    ------
    (pathlib.Path, bool)
        Each file, and True when it was given by name (not found in a folder or by a glob).
    """
    seen: set[Path] = set()
    for item in inputs:
        s = os.fspath(item)
        p = Path(s)
        explicit = False
        if p.is_dir():
            matches = sorted(
                f for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )  # fmt: skip
        elif p.exists():
            matches, explicit = [p], True
        elif glob.has_magic(s):
            matches = sorted(Path(m) for m in glob.glob(s, recursive=True) if Path(m).is_file())
        else:
            matches = []
        if not matches:
            raise UnreadableFileError(
                f"{s}: no such file or folder (or the pattern matches nothing)"
            )
        for m in matches:
            if m in seen:
                continue
            seen.add(m)
            if not explicit and is_side_file(m):
                if side is not None:
                    side.append(m)
                continue
            yield m, explicit


def expand_paths(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Expand files, folders (recursively, sorted) and glob patterns into file paths.

    Hidden files (``.name``) and side files (:func:`is_side_file`) inside folders are skipped.
    A pattern or path that matches
    nothing raises :class:`~attrib.errors.UnreadableFileError`.

    Parameters
    ----------
    inputs
        Paths, folders or glob patterns.

    Yields
    ------
    pathlib.Path
        Each file, once, in a stable order.
    """
    for path, _ in expand_inputs(inputs):
        yield path
