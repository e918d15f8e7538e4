"""Atomic output: write to a temporary name beside the target, rename when complete."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from attrib.errors import OutputError

__all__ = ["atomic_path", "ensure_writable_dir", "private_file", "write_table"]


def _explain(exc: OSError, target: Path) -> OutputError:
    if exc.errno == errno.ENOSPC:
        why = "no space left on device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    return OutputError(f"{target}: cannot write: {why}")


def private_file(path: str | os.PathLike[str]) -> None:
    """Make ``path`` readable by its owner only (0600), creating it empty if missing.

    For databases holding secrets' hashes or sighting history: created 0600 before SQLite
    first opens it, so it is never world-readable, even for an instant (SQLite gives its
    ``-wal``/``-shm`` files the database's mode). An existing file is tightened to 0600 when
    it is ours.

    Parameters
    ----------
    path
        The database file.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return  # not ours to create here: the caller's open reports it
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077 and st.st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def ensure_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and check that files can be created in it.

    Parameters
    ----------
    path
        The output folder.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".attrib-probe-"):
            pass
    except OSError as exc:
        raise _explain(exc, p) from None
    return p


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    On any error the temporary file is removed and ``target`` is left as it was.

    Parameters
    ----------
    target
        Final path.

    Yields
    ------
    pathlib.Path
        Where to write.
    """
    t = Path(target)
    parent = t.parent if str(t.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{t.name}.", suffix=".part")
        os.close(fd)
    except OSError as exc:
        raise _explain(exc, t) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, t)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise _explain(exc, t) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` atomically; the format follows the extension.

    ``.parquet``, ``.csv``, ``.json`` (records array) and ``.ndjson``/``.jsonl`` are supported.

    Parameters
    ----------
    df
        The table.
    target
        Output path.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    t = Path(target)
    ext = t.suffix.lower()
    if ext not in (".parquet", ".csv", ".json", ".ndjson", ".jsonl"):
        raise OutputError(
            f"{t}: unsupported output extension {ext!r} (.parquet, .csv, .json, .ndjson)"
        )
    with atomic_path(t) as tmp:
        if ext == ".parquet":
            df.to_parquet(tmp, index=False)
        elif ext == ".csv":
            df.to_csv(tmp, index=False)
        elif ext == ".json":
            df.to_json(tmp, orient="records", date_format="iso", date_unit="us")
        else:
            df.to_json(tmp, orient="records", lines=True, date_format="iso", date_unit="us")
    return t
