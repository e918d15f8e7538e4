"""The batch output folder of ``attrib analyze``, published as one set.

Every file is first written into a staging folder *beside* the output folder (same
filesystem). Only when all of them are complete does the staging folder replace the output
folder, in one step: an atomic exchange of the two folders (Linux ``renameat2`` with
``RENAME_EXCHANGE``), or, where the filesystem cannot exchange, two renames during which the
folder is briefly absent. A reader therefore sees the complete previous set, the complete
new set, or (only in that fallback, for an instant) no folder; never a mix.

With a sightings store, a complete staging folder is first renamed ``.<name>.attrib-ready-
<run_id>``; the store is committed, then the folder is published. A run killed between the
two is finished by the next run into the same folder (:func:`recover_outputs`): published
if the store holds the run, discarded if not, so the store and the folder agree.

The output folder belongs to attrib: an existing folder holding anything but attrib outputs
is refused rather than overwritten, and nothing is created before the outputs are ready.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from attrib._atomic import _explain
from attrib.errors import OutputError
from attrib.report.ecs import write_ecs
from attrib.report.html import write_html
from attrib.report.stix import write_stix
from attrib.report.values import members
from attrib.schema import ORIGIN_CORE_COLUMNS

__all__ = [
    "OUTPUT_FILES",
    "StagedOutputs",
    "check_output_dir",
    "origins_for_output",
    "recover_outputs",
    "stage_outputs",
]

logger = logging.getLogger(__name__)

#: Files of a complete output folder, in the order they are published (``run.json`` last).
OUTPUT_FILES = ("origins.parquet", "origins.csv", "clusters.csv", "origins.ndjson", "stix.json",
                "report.html", "run.json")  # fmt: skip


def origins_for_output(origins: pd.DataFrame) -> pd.DataFrame:
    """Core columns first (as in the batch contract), the features after them.

    Parameters
    ----------
    origins
        The scored origins table.

    Returns
    -------
    pandas.DataFrame
        Same rows, ranked, columns reordered.
    """
    core = [c for c in ORIGIN_CORE_COLUMNS if c in origins.columns]
    rest = [c for c in origins.columns if c not in core]
    out = origins[core + rest]
    return out.sort_values("rank", kind="stable") if "rank" in out.columns else out


def _clusters_csv(clusters: pd.DataFrame) -> pd.DataFrame:
    out = clusters.copy()
    if "members" in out.columns:
        out["members"] = [" ".join(members(v)) for v in out["members"]]
    return out


class StagedOutputs:
    """Outputs written to a staging folder beside the output folder, waiting to be published."""

    def __init__(self, out: Path, staging: Path) -> None:
        self.out = out
        self.staging = staging

    def ready(self, run_id: str) -> None:
        """Mark the staged set complete (before the store commit; see the module notes).

        Parameters
        ----------
        run_id
            The run the outputs belong to.
        """
        target = self.out.parent / f".{self.out.name}.attrib-ready-{run_id}"
        try:
            os.rename(self.staging, target)
        except OSError as exc:
            raise _explain(exc, self.out) from None
        self.staging = target

    def publish(self) -> list[Path]:
        """Replace the output folder with the staged one, in one step.

        Returns
        -------
        list of pathlib.Path
            The published files.
        """
        names = [n for n in OUTPUT_FILES if (self.staging / n).exists()]
        try:
            _publish(self.staging, self.out)
        except OSError as exc:
            raise _explain(exc, self.out) from None
        finally:
            self.discard()
        return [self.out / n for n in names]

    def rewrite_run_json(self, meta: dict[str, Any]) -> None:
        """Replace the staged ``run.json`` (e.g. with the timings of later stages).

        On a write error the earlier staged ``run.json`` is kept and a warning logged.

        Parameters
        ----------
        meta
            The run metadata.
        """
        from attrib._atomic import atomic_path

        meta["outputs"] = [str(self.out / n) for n in OUTPUT_FILES]
        try:
            with atomic_path(self.staging / "run.json") as tmp:
                tmp.write_text(_json(meta), encoding="utf-8")
        except OutputError as exc:
            logger.warning("run.json keeps the earlier timings: %s", exc)

    def discard(self) -> None:
        """Remove the staging folder and whatever is in it."""
        shutil.rmtree(self.staging, ignore_errors=True)


#: what may sit in an output folder beside the outputs without it being foreign
_OURS_PREFIX = (".attrib-", ".run.json.", ".origins.")


def check_output_dir(out: str | os.PathLike[str]) -> Path:
    """Check that ``out`` can receive attrib outputs, creating nothing.

    Parameters
    ----------
    out
        The output folder (need not exist).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    OutputError
        When ``out`` is a file, an existing folder holding other files than attrib outputs,
        or its parent folder is not writable.
    """
    dest = Path(out)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest}: is not a folder")
    if dest.is_dir():
        held = sorted(p.name for p in dest.iterdir() if not p.name.startswith(_OURS_PREFIX))
        foreign = [n for n in held if n not in OUTPUT_FILES]
        if held and not foreign and not _is_run_json(dest / "run.json"):
            foreign = held  # outputs' names, but not written by attrib
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise OutputError(
                f"{dest}: not an attrib output folder (holds {', '.join(foreign[:3])}{more}); "
                "choose a new or empty folder"
            )
    parent = _existing_parent(dest)  # the staging folder goes beside ``dest``
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".attrib-probe-"):
            pass
    except OSError as exc:
        raise _explain(exc, dest) from None
    return dest


def _is_run_json(p: Path) -> bool:
    """Whether ``p`` is the ``run.json`` of an attrib run."""
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "run_id" in meta and "outputs" in meta


def _existing_parent(dest: Path) -> Path:
    p = dest.absolute().parent
    while not p.exists():
        p = p.parent
    return p


def recover_outputs(
    out: str | os.PathLike[str], committed: Callable[[str], bool] | None = None
) -> None:
    """Finish or undo what a killed run left beside ``out``.

    Staging folders of dead processes are removed; a complete set waiting for its store
    commit (``.<name>.attrib-ready-<run_id>``) is published when ``committed(run_id)`` (or
    when no store is involved, ``committed`` is ``None``), removed otherwise; a previous set
    moved aside during a non-atomic swap is put back if the folder is missing.

    Parameters
    ----------
    out
        The output folder.
    committed
        Whether the sightings store holds a run.
    """
    dest = Path(out)
    parent = dest.absolute().parent
    if not parent.is_dir():
        return
    for p in sorted(parent.glob(f".{dest.name}.attrib-*")):
        kind = p.name[len(dest.name) + 1 :]
        if kind.startswith(".attrib-run-"):
            if not _alive(_pid(kind)):
                logger.info("removing %s left by an interrupted run", p)
                shutil.rmtree(p, ignore_errors=True)
        elif kind.startswith(".attrib-ready-"):
            run_id = kind.removeprefix(".attrib-ready-")
            if _complete_set(p, run_id) and (committed is None or committed(run_id)):
                logger.info("publishing the outputs of interrupted run %s", run_id)
                try:
                    _publish(p, dest)
                except OSError as exc:
                    raise _explain(exc, dest) from None
            else:
                shutil.rmtree(p, ignore_errors=True)
        elif kind.startswith(".attrib-old-") and not _alive(_pid(kind)):
            if not dest.exists():
                os.rename(p, dest)
            else:
                shutil.rmtree(p, ignore_errors=True)
    _remove_stale(dest)


def _complete_set(p: Path, run_id: str) -> bool:
    """Whether ``p`` holds every output of run ``run_id`` (not a set swapped out, half removed)."""
    if not all((p / n).is_file() for n in OUTPUT_FILES):
        return False
    try:
        return str(json.loads((p / "run.json").read_text(encoding="utf-8"))["run_id"]) == run_id
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _pid(kind: str) -> int:
    try:
        return int(kind.split("-")[2])
    except (IndexError, ValueError):
        return -1


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _publish(staging: Path, dest: Path) -> None:
    """Put the folder ``staging`` in the place of ``dest`` (exchanged, or renamed)."""
    mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; outputs are meant to be shared
    for f in staging.iterdir():
        if f.is_file():
            os.chmod(f, mode)
    os.chmod(staging, 0o777 & ~_umask())
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, dest)
    elif _exchange(staging, dest):  # staging now holds the previous set: rename, then remove
        old = dest.parent / f".{dest.name}.attrib-old-{os.getpid()}-{os.urandom(4).hex()}"
        os.rename(staging, old)
        shutil.rmtree(old, ignore_errors=True)
    else:
        old = dest.parent / f".{dest.name}.attrib-old-{os.getpid()}-{os.urandom(4).hex()}"
        os.rename(dest, old)
        os.rename(staging, dest)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(dest.parent)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stage_outputs(
    out: str | os.PathLike[str],
    origins: pd.DataFrame,
    clusters: pd.DataFrame,
    meta: dict[str, Any],
    *,
    threshold: float = 0.5,
) -> StagedOutputs:
    """Write all batch outputs into a staging folder inside ``out``.

    Parameters
    ----------
    out
        The output folder (created if needed).
    origins
        The scored origins table.
    clusters
        The clusters table.
    meta
        The run metadata, written as ``run.json`` (its ``outputs`` key is filled in here).
    threshold
        Score from which origins/clusters are flagged (STIX export, report).

    Returns
    -------
    StagedOutputs
        Call :meth:`StagedOutputs.publish` to move the files into place.
    """
    dest = check_output_dir(out)
    _remove_stale(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(
                prefix=f".{dest.name}.attrib-run-{os.getpid()}-", suffix=".part", dir=dest.parent
            )
        )
    except OSError as exc:
        raise _explain(exc, dest) from None
    staged = StagedOutputs(dest, staging)
    table = origins_for_output(origins)
    run_id = str(meta.get("run_id") or "")
    writers: list[tuple[str, Callable[[Path], object]]] = [
        ("origins.parquet", lambda p: table.to_parquet(p, index=False)),
        ("origins.csv", lambda p: table.to_csv(p, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")),
        ("clusters.csv", lambda p: _clusters_csv(clusters).to_csv(p, index=False)),
        ("origins.ndjson", lambda p: write_ecs(table, p, run_id=run_id or None)),
        ("stix.json", lambda p: write_stix(table, clusters, p, threshold=threshold)),
        ("report.html", lambda p: write_html(table, clusters, p, meta, threshold=threshold)),
    ]
    meta["outputs"] = [str(dest / n) for n in OUTPUT_FILES]
    writers.append(("run.json", lambda p: p.write_text(_json(meta), encoding="utf-8")))
    current = dest
    try:
        for name, write in writers:
            current = dest / name
            write(staging / name)
    except OSError as exc:
        staged.discard()
        raise _explain(exc, current) from None
    except OutputError as exc:
        staged.discard()
        raise OutputError(str(exc).replace(str(staging / name), str(current))) from None
    except BaseException:
        staged.discard()
        raise
    logger.info("outputs staged in %s", staging)
    return staged


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(dest: Path) -> None:
    """Remove staging folders left by killed runs beside ``dest`` (older versions: inside)."""
    parent = dest.absolute().parent
    stale = [*parent.glob(f".{dest.name}.attrib-run-*.part")]
    if dest.is_dir():
        stale += [p for p in dest.glob(".attrib-run-*.part")]
    for p in stale:
        pid = _pid(p.name.removeprefix(f".{dest.name}"))
        if pid < 0 or pid == os.getpid() or _alive(pid):
            continue
        logger.info("removing %s left by an interrupted run", p)
        shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid <= 0:  # never signal a process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, indent=2, default=str)
